"""Reference backend receiver (install extra "backend"); the kiosk never imports it."""
