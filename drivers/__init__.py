"""Device drivers: ID-card readers, cameras, printers.

This package knows nothing of Kivy or of ``kiosk``: every driver is usable from a plain script,
the technician CLI or a test. Each device class lives in its own sub-package with a small
interface (``base.py``), the real implementation(s) and a simulator.
"""
