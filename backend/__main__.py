"""``python -m backend ...`` is ``kiosk-backend ...``."""

import sys

from backend.cli import main

sys.exit(main())
