"""Self-service police kiosk: core (config, sessions, flow engine, outbox, documents)."""

__version__ = "0.1.0"
