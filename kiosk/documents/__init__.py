"""Device-independent documents: a small model, templates, and renderers (ESC/POS, PNG, PDF)."""

from kiosk.documents.model import Document, Image, QrCode, Rule, Space, Text

__all__ = ["Document", "Image", "QrCode", "Rule", "Space", "Text"]
