"""``python -m hardware.agent run --config FILE``: ``guahao kiosk run`` without the engine's
command line around it."""

import sys

from .cli import main

sys.exit(main())
