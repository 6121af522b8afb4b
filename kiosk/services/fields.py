"""Validation and display of form-field values, as pure functions.

Every check returns a message key (``field.error.*`` in config/messages/core.toml) rather than
text, so the screen shows it in the resident's language. Personal values are masked for display.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from kiosk.services.catalogue import FormField
from kiosk.visit.privacy import mask_id_number

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


@dataclass(frozen=True)
class FieldError:
    field: str
    key: str  # message key, e.g. "field.error.phone"


def validate_field(field: FormField, raw: Any, *, today: dt.date | None = None) -> tuple[Any, str | None]:
    """(normalised value, None) when valid, else (None, message key)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return (None, "field.error.required") if field.required else (None, None)
    text = str(raw).strip()
    if field.type == "choice":
        option = next((o for o in field.options if o.value == text), None)
        if option is None:
            return None, "field.error.choice"
        if option.stops:  # an answer that rules the service out: explained, never submitted
            return None, option.stops
        return text, None
    if field.type == "number":
        if not text.isdigit():
            return None, "field.error.number"
        number = int(text)
        if (field.min is not None and number < field.min) or (field.max is not None and number > field.max):
            return None, "field.error.range"
        return number, None
    if field.type == "phone":
        digits = text.replace(" ", "")
        if MOBILE_RE.match(digits) or LANDLINE_RE.match(digits):
            return digits, None
        return None, "field.error.phone"
    if field.type == "date":
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            return None, "field.error.date"
        today = today or dt.date.today()
        if date.year < 1900 or date > today.replace(year=today.year + 20):
            return None, "field.error.date"
        return date.isoformat(), None
    if field.type == "digits":  # a reference number (决定书编号): digits kept as text, min/max its length
        digits = text.replace(" ", "")
        if not digits.isdigit():
            return None, "field.error.number"
        if (field.min is not None and len(digits) < field.min) or (
            field.max is not None and len(digits) > field.max
        ):
            return None, "field.error.length"
        return digits, None
    if field.type == "id_number":
        from kiosk.services.idnumber import id_number_problem

        id_number = text.upper()
        problem = id_number_problem(id_number, today=today)
        return (None, problem) if problem else (id_number, None)
    raise ValueError(f"unknown field type {field.type!r}")  # the catalogue schema prevents this


def display_value(field: FormField, value: Any, lang: str) -> str:
    """The value as a resident sees it on the review screen; personal values masked."""
    if value is None:
        return ""
    if field.type == "choice":
        for option in field.options:
            if option.value == value:
                return option.label(lang)
        return str(value)
    text = str(value)
    if field.type == "id_number":
        return mask_id_number(text)
    if field.type == "phone" and field.personal and len(text) >= 7:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    return text
