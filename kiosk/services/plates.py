"""Chinese motor-vehicle licence plates (GA 36-2018): input alphabet and format checks.

A plate is a province character, the issuing-office letter, then the registration part:
- ordinary: 5 letters or digits (``京A12345``, ``粤B8K2D9``), letters I and O never used;
- trailer / coach: 4 letters or digits and 挂 or 学 (``鲁B1234挂``);
- small new-energy: D/A/B/C/E (pure electric) or F/G/H/J/K (other), a letter or digit, 4 digits
  (``京AD12345``);
- large new-energy: 5 digits then D or F (``沪A12345D``).
"""

from __future__ import annotations

import re

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O
DIGITS = "0123456789"
SUFFIXES = "挂学"
NEV_SMALL_FIRST = "DABCEFGHJK"

_P = f"[{PROVINCES}]"
_L = f"[{LETTERS}]"
_LD = f"[{LETTERS}{DIGITS}]"
PATTERNS: dict[str, re.Pattern[str]] = {
    "new_energy_small": re.compile(f"^{_P}{_L}[{NEV_SMALL_FIRST}]{_LD}\\d{{4}}$"),
    "new_energy_large": re.compile(f"^{_P}{_L}\\d{{5}}[DF]$"),
    "ordinary": re.compile(f"^{_P}{_L}{_LD}{{5}}$"),
    "special": re.compile(f"^{_P}{_L}{_LD}{{4}}[{SUFFIXES}]$"),
}


def normalise_plate(text: str) -> str:
    """Upper-case, without spaces, dots or dashes (``京a·12345`` -> ``京A12345``)."""
    return re.sub(r"[\s·.\-]", "", text).upper()


def plate_kind(plate: str) -> str | None:
    """``ordinary``, ``new_energy_small``, ``new_energy_large``, ``special`` or None if invalid."""
    plate = normalise_plate(plate)
    for kind, pattern in PATTERNS.items():
        if pattern.match(plate):
            return kind
    return None


def plate_problem(plate: str) -> str | None:
    """None for a valid plate, else the message key saying what is wrong."""
    plate = normalise_plate(plate)
    if not plate:
        return "plate.error.empty"
    if plate[0] not in PROVINCES:
        return "plate.error.province"
    if len(plate) < 2 or plate[1] not in LETTERS:
        return "plate.error.office"
    if "I" in plate or "O" in plate:
        return "plate.error.i_o"
    if len(plate) < 7:
        return "plate.error.short"
    if len(plate) > 8:
        return "plate.error.long"
    return None if plate_kind(plate) else "plate.error.format"


def next_keys(partial: str) -> str:
    """The characters that may come next, so the on-screen keyboard offers only those."""
    if not partial:
        return PROVINCES
    if len(partial) == 1:
        return LETTERS
    if len(partial) >= 8:
        return ""
    return LETTERS + DIGITS + (SUFFIXES if len(partial) == 6 else "")
