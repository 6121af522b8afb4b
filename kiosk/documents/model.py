"""The document model: a flat list of blocks that any printer or preview can render.

Receipts and the A4 certificate are built from the same few blocks, so one template feeds the
thermal printer (ESC/POS), the on-screen/technician preview (PNG) and the A4 queue (PDF).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from PIL import Image as PILImage

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Text:
    """One paragraph. ``size`` is a multiple of the base character size (1..4)."""

    text: str
    size: int = 1
    bold: bool = False
    align: Align = "left"


@dataclass(frozen=True)
class Rule:
    """A horizontal separator line."""

    char: str = "-"


@dataclass(frozen=True)
class QrCode:
    data: str
    module: int = 6
    ec: Literal["L", "M", "Q", "H"] = "M"
    caption: str = ""


@dataclass(frozen=True)
class Image:
    image: PILImage.Image
    width_mm: float = 0.0  # 0: natural size


@dataclass(frozen=True)
class Space:
    lines: int = 1


Block = Text | Rule | QrCode | Image | Space


@dataclass
class Document:
    """``kind`` selects the medium: ``receipt`` (thermal roll) or ``a4`` (CUPS)."""

    kind: Literal["receipt", "a4"]
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self
