"""Find the CJK font the kiosk draws with.

Order: the configured ``display.font``; else fontconfig's best Simplified-Chinese match. Kivy's
SDL2 text provider can only open the first face of a font collection (.ttc), and the first face of
Noto Sans CJK is the Japanese one, whose glyph shapes differ from the Chinese standard for some
characters. So when fontconfig's match is a later face of a collection, that face is extracted once
(fontTools) into the kiosk's cache folder and used from there.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import ConfigError, ConfigProblem

log = logging.getLogger(__name__)

FONT_PACKAGE_HINT = "install a CJK font, e.g. `apt-get install fonts-noto-cjk` (or fonts-wqy-zenhei)"


@dataclass(frozen=True)
class FontChoice:
    path: Path
    family: str
    source: str  # "config" | "fontconfig" | "fontconfig (extracted face N)"
    bold: Path | None = None


def _fc_match(pattern: str) -> tuple[Path, int, str] | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\t%{index}\t%{family[0]}\t%{lang}", pattern],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    file, index, family, langs = ([*out.split("\t"), "", "", "", ""])[:4]
    if not file or "zh-cn" not in langs.split("|"):
        return None  # fontconfig fell back to a font without Chinese glyphs
    return Path(file), int(index or 0), family


def _extract_face(collection: Path, index: int, cache_dir: Path) -> Path:
    target = cache_dir / f"{collection.stem}-{index}.otf"
    if target.exists() and target.stat().st_mtime >= collection.stat().st_mtime:
        return target
    from fontTools.ttLib import TTCollection

    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with TTCollection(str(collection), lazy=True) as ttc:
        ttc.fonts[index].save(str(tmp))
    tmp.replace(target)
    return target


def find_cjk_font(configured: str, cache_dir: Path, *, config_file: str = "") -> FontChoice:
    """The font to register as Kivy's default, or ConfigError naming what to install."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ConfigError([ConfigProblem(config_file or "config", "display.font", f"{path} not found")])
        return FontChoice(path, path.stem, "config")
    regular = _fc_choice(":lang=zh-cn", cache_dir, config_file)
    bold = _fc_choice(":lang=zh-cn:weight=bold", cache_dir, config_file)
    return FontChoice(
        regular.path, regular.family, regular.source, bold.path if bold.path != regular.path else None
    )


def find_mono_font() -> Path | None:
    """A monospace font for technicians' tables (device dashboard, logs); None if there is none."""
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}", "monospace"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out) if out and Path(out).is_file() and out.endswith((".ttf", ".otf")) else None


def _fc_choice(pattern: str, cache_dir: Path, config_file: str) -> FontChoice:
    match = _fc_match(pattern)
    if match is None:
        raise ConfigError(
            [
                ConfigProblem(
                    config_file or "config", "display.font", f"no CJK font found: {FONT_PACKAGE_HINT}"
                )
            ]
        )
    path, index, family = match
    if index == 0:
        return FontChoice(path, family, "fontconfig")
    try:
        return FontChoice(
            _extract_face(path, index, cache_dir), family, f"fontconfig (extracted face {index})"
        )
    except (OSError, ImportError, IndexError) as exc:
        log.warning("cannot extract face %d of %s (%s); using its first face", index, path, exc)
        return FontChoice(path, family, "fontconfig")
