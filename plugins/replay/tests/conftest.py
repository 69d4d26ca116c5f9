"""Make ``replay_helpers`` and the greenhouse test app importable from the test modules."""

import sys
from pathlib import Path

_HERE = Path(__file__).parent
for folder in (_HERE, _HERE / "fixtures" / "apps"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
