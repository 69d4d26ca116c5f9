"""Importing this module leaves a marker file: the tests prove nothing named in data is imported."""

import os
from pathlib import Path

Path(os.environ.get("EVIL_MARKER", "/tmp/bussdcc-evil-module-imported")).write_text("imported")
