"""``python -m bussdcc_framework``: the ``bussdcc`` command without the console script."""

import sys

from .cli import main

sys.exit(main())
