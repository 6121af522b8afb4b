"""python -m kiosk.tech: the same as the kiosk-tech command."""

import sys

from kiosk.tech import main

sys.exit(main())
