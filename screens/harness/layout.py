"""Layout checks over what the window shows: the rules of shared/UX.md that a machine can check.

:class:`LayoutAudit` walks the Kivy widget tree of the window (and reads the screenshot just taken
for colours) at each picture of the screenshot tour, and records a :class:`Finding` per defect:

``clipped``     a label whose text does not all appear (lines dropped by a fixed text box, or the
                text larger than its box), or a label cut by the window's edge
``ellipsised``  a label shortened with "…" (``shorten``)
``overlap``     two touch targets (``ButtonBehavior``) that overlap on screen
``action_bar``  an action-bar slot (back / exit / main) not where the same slot is on the other
                screens of the same mode (language, text size, orientation)
``contrast``    a text whose colour against the background drawn behind it is below 4.5:1
                (7:1 in 长辈模式)
``lone_char``   a wrapped Chinese line that holds a single character (punctuation aside)
``glyph``       a character the label's font does not have (it would draw as nothing or a box)

Action-bar slots are the widgets with an ``action_slot`` attribute (``"back"``, ``"exit"``,
``"main"``); a screen without such widgets is matched by the text of its buttons (``slot_texts``).
Only what is visible counts: opacity above zero, on the window, inside a scroll view's viewport.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kivy.core.text import LabelBase
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from screens.theme import contrast_ratio

CHECKS = ("clipped", "ellipsised", "overlap", "action_bar", "contrast", "lone_char", "glyph")
NORMAL_CONTRAST = 4.5
LARGE_TEXT_CONTRAST = 7.0
SLOT_TOLERANCE_PX = 2.0
_MARKUP = re.compile(
    r"\[/?(?:b|i|u|s|sub|sup|color|font|font_family|font_context|size|ref|anchor|text_language|font_features)(?:=[^\]]*)?\]"
)
_FONT_SPAN = re.compile(r"\[font=([^\]]+)\](.*?)\[/font\]", re.S)

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in window pixels


@dataclass(frozen=True)
class Mode:
    """What the layout depends on besides the screen: language, text size, contrast, orientation."""

    lang: str
    large_text: bool
    high_contrast: bool
    landscape: bool

    @property
    def name(self) -> str:
        return "-".join(
            (
                self.lang,
                "large" if self.large_text else "normal",
                "contrast" if self.high_contrast else "standard",
                "landscape" if self.landscape else "portrait",
            )
        )

    @classmethod
    def of(cls, app: Any) -> Mode:
        return cls(str(app.lang), bool(app.large_text), bool(app.high_contrast), bool(app.landscape))


@dataclass(frozen=True)
class Finding:
    check: str
    shot: str
    mode: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.shot} [{self.mode}] {self.where}: {self.detail}"


@dataclass
class _Seen:
    widget: Widget
    rect: Rect
    clip: Rect
    opacity: float


def _intersect(a: Rect, b: Rect) -> Rect:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def _area(r: Rect) -> float:
    return max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])


def window_rect(widget: Widget) -> Rect:
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def visible_widgets(roots: list[Widget] | None = None) -> Iterator[_Seen]:
    """Every widget drawn on the window: opacity above zero, inside its scroll view's viewport."""
    from kivy.core.window import Window  # here, not at import: importing it opens the window
    from kivy.uix.modalview import ModalView

    window: Rect = (0.0, 0.0, float(Window.width), float(Window.height))
    if roots is None:
        roots = list(Window.children)
        modal = [w for w in roots if isinstance(w, ModalView)]
        roots = modal or roots  # an open dialog: the dimmed screen behind it is not read or touched
    for root in roots:
        yield from _visit(root, 1.0, window)


def _visit(widget: Widget, opacity: float, clip: Rect) -> Iterator[_Seen]:
    opacity *= float(widget.opacity)
    if opacity < 0.05:
        return
    rect = window_rect(widget)
    if _area(_intersect(rect, clip)) > 0:
        yield _Seen(widget, rect, clip, opacity)
    inner = _intersect(rect, clip) if isinstance(widget, (ScrollView, StencilView)) else clip
    if isinstance(widget, ScrollView) and _area(inner) <= 0:
        return
    for child in list(widget.children):
        yield from _visit(child, opacity, inner)


def _plain(text: str, markup: bool) -> str:
    return _MARKUP.sub("", text) if markup else text


def _describe(widget: Widget) -> str:
    text = getattr(widget, "text", "")
    text = _plain(text, bool(getattr(widget, "markup", False))) if isinstance(text, str) else ""
    short = text.replace("\n", " ")[:30]
    return f"{type(widget).__name__}({short!r})"


def _rendered_lines(label: Label) -> list[Any]:
    core = getattr(label, "_label", None)
    return list(getattr(core, "_cached_lines", None) or [])


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _counts(ch: str) -> bool:
    """A character that counts on a line (not space, not punctuation)."""
    return not ch.isspace() and not unicodedata.category(ch).startswith("P")


class GlyphTable:
    """Which characters each font file has (fontTools' cmap), read once per file."""

    def __init__(self) -> None:
        self._cmaps: dict[str, set[int]] = {}

    def font_file(self, font_name: str, bold: bool) -> str:
        registered = LabelBase._fonts.get(font_name)
        if registered:
            return str(registered[2] if bold and registered[2] else registered[0])
        return font_name if Path(font_name).is_file() else ""

    def has(self, path: str, ch: str) -> bool:
        if not path:
            return True  # a font Kivy resolves itself (its bundled Roboto): not ours to judge
        cmap = self._cmaps.get(path)
        if cmap is None:
            from fontTools.ttLib import TTFont

            with TTFont(path, lazy=True, fontNumber=0) as font:
                cmap = set(font.getBestCmap() or {})
            self._cmaps[path] = cmap
        return ord(ch) in cmap


@dataclass
class LayoutAudit:
    """Collects findings over many pictures; ``slot_texts`` names the action bar's buttons by text."""

    slot_texts: dict[str, set[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    glyphs: GlyphTable = field(default_factory=GlyphTable)
    _slots: dict[tuple[str, str], tuple[Rect, str]] = field(default_factory=dict)
    shots: int = 0

    def write_report(self, path: Path) -> None:
        """Every finding, one a line, grouped by check (for a reviewer or the integrator)."""
        lines = [f"{self.shots} pictures checked"]
        for check, found in self.by_check().items():
            lines.append(f"## {check}: {len(found)}")
            lines.extend(str(f) for f in found)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def by_check(self) -> dict[str, list[Finding]]:
        found: dict[str, list[Finding]] = {check: [] for check in CHECKS}
        for finding in self.findings:
            found[finding.check].append(finding)
        return found

    def check(
        self, shot: str, mode: Mode, image: Any = None, roots: list[Widget] | None = None
    ) -> list[Finding]:
        """Check what the window shows now (``image``: the PIL image of it, for colours)."""
        self.shots += 1
        seen = list(visible_widgets(roots))
        found: list[Finding] = []

        def add(check: str, widget: Widget, detail: str) -> None:
            found.append(Finding(check, shot, mode.name, _describe(widget), detail))

        labels = [s for s in seen if isinstance(s.widget, Label) and str(s.widget.text).strip()]
        for item in labels:
            self._label_checks(item, mode, image, add)
        self._overlaps(seen, add)
        self._action_bar(shot, mode, seen, add)
        self.findings.extend(found)
        return found

    # -- text ------------------------------------------------------------------------------------
    def _label_checks(self, item: _Seen, mode: Mode, image: Any, add: Any) -> None:
        label = item.widget
        markup = bool(label.markup)
        text = _plain(str(label.text), markup)
        lines = _rendered_lines(label)
        rendered = "".join(word.text for line in lines for word in line.words)
        if markup:
            rendered = _plain(rendered, True)
        full = re.sub(r"\s", "", text)
        shown = re.sub(r"\s", "", rendered)
        if lines and shown != full:
            if label.shorten:
                add("ellipsised", label, f"shows {rendered!r}")
            else:
                add("clipped", label, f"{len(full) - len(shown.replace('...', ''))} characters not shown")
        tw, th = label.texture_size
        line_height = th / max(1, len(lines))  # a line's box is taller than its glyphs
        if tw > label.width + 2 or th > label.height + max(2.0, 0.25 * line_height):
            add("clipped", label, f"text {tw:.0f}x{th:.0f} px in a {label.width:.0f}x{label.height:.0f} box")
        x0, y0, x1, y1 = item.rect
        from kivy.core.window import Window  # (see visible_widgets)

        if x0 < -1 or y0 < -1 or x1 > Window.width + 1 or y1 > Window.height + 1:
            add("clipped", label, "cut by the window's edge")
        self._lone_characters(label, lines, add)
        self._missing_glyphs(label, add)
        if image is not None:
            self._contrast(item, mode, image, add)

    def _lone_characters(self, label: Label, lines: list[Any], add: Any) -> None:
        previous_wrapped = False
        for line in lines:
            text = _plain("".join(word.text for word in line.words), bool(label.markup))
            counted = [ch for ch in text if _counts(ch)]
            if previous_wrapped and len(counted) == 1 and _is_cjk(counted[0]):
                add("lone_char", label, f"{counted[0]!r} alone on a wrapped line")
            previous_wrapped = not line.is_last_line
            if line.is_last_line:
                previous_wrapped = False

    def _missing_glyphs(self, label: Label, add: Any) -> None:
        text = str(label.text)
        spans: list[tuple[str, str]] = []
        if label.markup:
            for match in _FONT_SPAN.finditer(text):
                spans.append((match.group(1), _plain(match.group(2), True)))
            text = _plain(_FONT_SPAN.sub("", text), True)
        spans.append((str(label.font_name), text))
        for font_name, part in spans:
            path = self.glyphs.font_file(font_name, bool(label.bold))
            missing = sorted({ch for ch in part if not ch.isspace() and not self.glyphs.has(path, ch)})
            if missing:
                names = ", ".join(f"U+{ord(ch):04X} {ch}" for ch in missing[:5])
                add("glyph", label, f"{Path(path).name} has no {names}")

    def _contrast(self, item: _Seen, mode: Mode, image: Any, add: Any) -> None:
        label = item.widget
        if label.disabled:
            return  # an inactive control (WCAG 1.4.3 exempts it): shown greyed on purpose
        box = _intersect(item.rect, item.clip)
        colour = list(label.color)
        alpha = colour[3] * item.opacity if len(colour) > 3 else item.opacity
        # the glyphs' own pixels are not the background: a large icon or bold digits can cover
        # most of their box, and the most common colour there was the text itself (1:1)
        background = _background(image, box, avoid=tuple(colour[:3]) if alpha > 0.9 else None)
        if background is None:
            return  # not one background (a photo, a gradient): not judged
        shown = [alpha * c + (1 - alpha) * b for c, b in zip(colour[:3], background, strict=True)]
        ratio = contrast_ratio(shown, list(background))
        need = LARGE_TEXT_CONTRAST if mode.large_text else NORMAL_CONTRAST
        if ratio < need:
            add("contrast", label, f"{ratio:.2f}:1 < {need}:1 on #{_hex(background)}")

    # -- touch targets ---------------------------------------------------------------------------
    def _overlaps(self, seen: list[_Seen], add: Any) -> None:
        targets = [s for s in seen if isinstance(s.widget, ButtonBehavior) and not s.widget.disabled]
        for i, a in enumerate(targets):
            ra = _intersect(a.rect, a.clip)
            for b in targets[i + 1 :]:
                if _related(a.widget, b.widget):
                    continue
                rb = _intersect(b.rect, b.clip)
                both = _area(_intersect(ra, rb))
                if both > 4 and both > 0.01 * min(_area(ra), _area(rb)):
                    add("overlap", a.widget, f"overlaps {_describe(b.widget)} by {both:.0f} px²")

    def _action_bar(self, shot: str, mode: Mode, seen: list[_Seen], add: Any) -> None:
        for item in seen:
            widget = item.widget
            slot = getattr(widget, "action_slot", "") or self._slot_by_text(widget)
            if not slot:
                continue
            key = (mode.name, slot)
            first = self._slots.setdefault(key, (item.rect, shot))
            if max(abs(p - q) for p, q in zip(item.rect, first[0], strict=True)) > SLOT_TOLERANCE_PX:
                where = ", ".join(f"{v:.0f}" for v in item.rect)
                was = ", ".join(f"{v:.0f}" for v in first[0])
                add("action_bar", widget, f"{slot} slot at ({where}), on {first[1]} at ({was})")

    def _slot_by_text(self, widget: Widget) -> str:
        if not self.slot_texts or not isinstance(widget, ButtonBehavior):
            return ""
        text = getattr(widget, "text", "")
        for slot, texts in self.slot_texts.items():
            if text in texts:
                return slot
        return ""


def _related(a: Widget, b: Widget) -> bool:
    for one, other in ((a, b), (b, a)):
        parent = one.parent
        while parent is not None and parent is not parent.parent:
            if parent is other:
                return True
            parent = parent.parent
    return False


def _hex(colour: tuple[float, ...]) -> str:
    return "".join(f"{round(c * 255):02x}" for c in colour[:3])


def _background(
    image: Any, box: Rect, avoid: tuple[float, ...] | None = None
) -> tuple[float, float, float] | None:
    """The colour most of ``box`` is drawn in (the text's background), or None if there is none;
    ``avoid``: the text's colour, whose pixels are the glyphs, not what is behind them."""
    from PIL import Image

    width, height = image.size
    x0, y0, x1, y1 = (
        int(max(0, box[0])),
        int(max(0, box[1])),
        int(min(width, box[2])),
        int(min(height, box[3])),
    )
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = image.crop((x0, height - y1, x1, height - y0)).convert("RGB")
    if crop.width * crop.height > 40_000:
        crop = crop.resize((max(2, crop.width // 4), max(2, crop.height // 4)), Image.Resampling.NEAREST)
    colours = crop.getcolors(crop.width * crop.height) or []
    if avoid is not None:
        text = tuple(round(c * 255) for c in avoid[:3])
        total = sum(n for n, _rgb in colours)
        colours = [(n, rgb) for n, rgb in colours if max(abs(a - b) for a, b in zip(rgb, text)) > 12]  # noqa: B905
        if sum(n for n, _rgb in colours) < 0.03 * total:
            return (avoid[0], avoid[1], avoid[2])  # text drawn on its own colour: invisible, 1:1
    if not colours:
        return None
    count, rgb = max(colours)
    if count < 0.3 * sum(n for n, _rgb in colours):
        return None
    return (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)
