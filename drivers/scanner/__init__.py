"""QR / barcode scanners: USB HID keyboard-wedge (evdev) and USB-serial models, and a simulator."""
