"""Colour themes. Every colour the screens use is an app property, so a theme switch repaints the
whole kiosk at once. The high-contrast theme keeps text at a contrast ratio above 7:1 (WCAG AAA)
against its background: white/yellow on black."""

from __future__ import annotations

Colour = list[float]

STANDARD: dict[str, Colour] = {
    "c_bg": [0.95, 0.96, 0.98, 1],
    "c_card": [1, 1, 1, 1],
    "c_text": [0.11, 0.13, 0.18, 1],
    "c_muted": [0.25, 0.28, 0.34, 1],  # secondary text: >= 7:1 on page, card and secondary (UX.md)
    "c_primary": [0.08, 0.25, 0.55, 1],
    "c_primary_down": [0.05, 0.17, 0.40, 1],
    "c_on_primary": [1, 1, 1, 1],
    "c_secondary": [0.87, 0.90, 0.95, 1],
    "c_accent": [0.93, 0.49, 0.10, 1],
    "c_danger": [0.63, 0.11, 0.11, 1],  # white on it 7.8:1: 呼叫帮助 meets 长辈模式's 7:1
    "c_ok": [0.03, 0.36, 0.17, 1],  # as text: 8.2:1 on a card, 7.5:1 on the page (核验通过, 已办结)
    "c_disabled": [0.80, 0.82, 0.86, 1],
}

HIGH_CONTRAST: dict[str, Colour] = {
    "c_bg": [0, 0, 0, 1],
    "c_card": [0.08, 0.08, 0.08, 1],
    "c_text": [1, 1, 1, 1],
    "c_muted": [0.85, 0.85, 0.85, 1],
    "c_primary": [1, 0.86, 0, 1],
    "c_primary_down": [0.80, 0.68, 0, 1],
    "c_on_primary": [0, 0, 0, 1],
    "c_secondary": [0.22, 0.22, 0.22, 1],
    "c_accent": [1, 0.60, 0.10, 1],
    "c_danger": [1, 0.5, 0.5, 1],  # 7.5:1 on a card, 8.6:1 under black text
    "c_ok": [0.35, 1, 0.55, 1],
    "c_disabled": [0.30, 0.30, 0.30, 1],
}


def relative_luminance(colour: Colour) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Colour, b: Colour) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
