"""``python -m hardware.agent run --config FILE``: the same as ``guahao-kiosk run``."""

import sys

from .cli import main

sys.exit(main())
