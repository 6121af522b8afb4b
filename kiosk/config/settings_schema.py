"""The settings a technician may edit on the kiosk's maintenance screen, generated from the config
schema (``kiosk/config/model.py`` and each configured driver's options model).

Each setting carries its kind (string, int, float, bool, choice, secret), its bounds and unit, its
zh/en title and a description taken from the schema's own documentation (a ``Field`` description,
else the comment beside the key in the packaged ``config/kiosk.toml``, else the comment beside the
field in the options model's source). Which keys are offered is a short include-list; everything
else about a setting comes from the schema, so a new bound or choice shows up without an edit here.
The backend URL, its CA file, the status URL of receipts' QR codes and the kiosk id are never
offered (``SHELL_ONLY``): a shoulder-surfed PIN must not redirect requests or receipts. A production
terminal's tab only shows the settings (:func:`read_only_reason`).

Typed text is coerced to the field's type here; validation is the start-up loader run on the whole
site file with the edit applied (:func:`kiosk.config.sitefile.update_site_file`), so cross-field rules
(the idle warning shorter than the timeout, a driver's "port or usb_vid_pid") apply, and an invalid
value never reaches the file. Secrets are never shown or edited: only "set" / "not set".
"""

from __future__ import annotations

import inspect
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kiosk.config.model import KioskConfig, load_config
from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

Kind = Literal["string", "int", "float", "bool", "choice", "secret"]

# Section -> the keys a technician edits on the screen, in the order shown. Devices are added per
# configured role from its driver's options model (every scalar option).
INCLUDE: dict[str, tuple[str, ...]] = {
    "backend": (
        "key_id",
        "connect_timeout_s",
        "timeout_s",
        "retry_base_s",
        "retry_cap_s",
        "stuck_after_s",
        "client_cert",
        "secret_file",
        "signing_key_file",
        "client_key",
    ),
    "kiosk": ("region_code",),
    "session": ("idle_timeout_s", "idle_warning_s", "attract_return_s"),
    "display": (
        "default_language",
        "large_text",
        "high_contrast",
        "orientation",
        "fullscreen",
        "show_cursor",
        "diagonal_in",
        "dpi",
        "voice",
        "voice_volume",
        "voice_attract_every_min",
    ),
    "heartbeat": ("interval_s",),
    "identity": ("challenge", "challenge_timeout_s", "match_timeout_s"),
    "outbox": ("min_free_mb", "keep_acknowledged_days"),
    "maintenance": ("lockout_after", "lockout_base_s", "pin_hash"),
}
# Keys that decide where requests go, whom the kiosk trusts and what receipts' QR codes point at:
# never offered on the screen (a shoulder-surfed PIN must not redirect them) and refused by
# save_setting; they change only in the site file, by a technician with a shell. identity.match
# is one: it decides which photo a resident's face is checked against ("both" to "card" lowers
# the assurance a site chose).
SHELL_ONLY = frozenset(
    {"backend.url", "backend.ca_file", "kiosk.status_base_url", "kiosk.id", "identity.match"}
)
# Keys whose value is (or leads to) a secret: shown as set / not set, never editable or logged.
SECRETS = frozenset(
    {"backend.secret_file", "backend.signing_key_file", "backend.client_key", "maintenance.pin_hash"}
)
UNITS = {"_s": "s", "_mb": "MB", "_min": "min", "_in": "in", "_ms": "ms", "_days": "days"}
TRUE_WORDS = {"true", "on", "yes", "1"}
FALSE_WORDS = {"false", "off", "no", "0"}


@dataclass(frozen=True)
class Setting:
    """One editable key: where it is, what it holds, what it may hold."""

    path: str  # dotted key in the site file, e.g. "devices.card_reader.baud"
    kind: Kind
    title_zh: str
    title_en: str
    description: str  # English help (config/messages/settings_help.toml, else the key's comment)
    value: Any  # current effective value (None for secrets)
    is_set: bool = True  # secrets: whether a value is configured
    options: tuple[Any, ...] = ()  # choice
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    unit: str = ""
    pattern: str = ""
    description_zh: str = ""  # Chinese help (config/messages/settings_help.toml)

    @property
    def help(self) -> str:
        """The help text as a technician reads it: Chinese first, English second (one a line)."""
        return "\n".join(x for x in (self.description_zh, self.description) if x)

    @property
    def shown(self) -> str:
        """The current value as text (secrets: set / not set)."""
        if self.kind == "secret":
            return "已设置 set" if self.is_set else "未设置 not set"
        if self.kind == "bool":
            return "开 on" if self.value else "关 off"
        if self.value == "" or self.value is None:
            return "—"
        text = _number_text(self.value) if self.kind in ("int", "float") else str(self.value)
        return f"{text} {self.unit}".strip()

    @property
    def bounds(self) -> str:
        """The allowed range, e.g. "> 0 … ≤ 120 s" (empty when unbounded)."""
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_min else '≥'} {_number_text(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.exclusive_max else '≤'} {_number_text(self.maximum)}")
        return (" … ".join(parts) + (f" {self.unit}" if self.unit and parts else "")).strip()


@dataclass(frozen=True)
class Section:
    key: str  # "backend", "devices.card_reader"
    title_zh: str
    title_en: str
    settings: tuple[Setting, ...] = field(default_factory=tuple)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _title_en(name: str) -> str:
    for suffix in UNITS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    words = name.replace("_", " ").strip()
    return (words[:1].upper() + words[1:]).replace("Url", "URL").replace(" id", " ID").replace("Id", "ID")


@cache
def _default_comments() -> dict[str, str]:
    """Dotted key -> the comment beside it in the packaged defaults (config/kiosk.toml)."""
    document = tomlkit.parse((config_dir() / "kiosk.toml").read_text(encoding="utf-8"))
    comments: dict[str, str] = {}

    def walk(table: Any, prefix: str) -> None:
        for key in table:
            item = table.item(key) if hasattr(table, "item") else None
            dotted = f"{prefix}{key}"
            if isinstance(item, tomlkit.items.Table):
                walk(item, f"{dotted}.")
            elif item is not None and item.trivia.comment:
                comments[dotted] = item.trivia.comment.lstrip("#").strip()

    walk(document, "")
    return comments


@cache
def _source_comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the comment beside its declaration in ``model``'s source (and its bases')."""
    comments: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        for match in re.finditer(r"^\s+(\w+): [^\n#]*#\s*([^\n]+)$", source, re.MULTILINE):
            comments[match.group(1)] = match.group(2).strip()
    return comments


def _kind_of(annotation: Any) -> tuple[Kind, tuple[Any, ...]] | None:
    """The editor kind of a field type, or None when it is not a scalar a technician edits."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice", typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if type(None) in args:
            return None  # optional values cannot be written back to TOML as "none"
        if set(args) <= {int, str}:
            return "string", ()  # e.g. a camera index or path; digits become an int
        return None
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation in (str, Path):
        return "string", ()
    return None


def _setting(
    path: str,
    info: FieldInfo,
    value: Any,
    titles: Mapping[str, tuple[str, str]],
    comment: str,
    helps: Mapping[str, tuple[str, str]],
) -> Setting | None:
    name = path.rsplit(".", 1)[-1]
    zh, en = titles.get(name, ("", ""))
    en = en or _title_en(name)
    zh = zh or en
    help_zh, help_en = helps.get(help_key(path), ("", ""))
    description = help_en or info.description or comment
    if path in SECRETS:
        return Setting(path, "secret", zh, en, description, None, is_set=bool(value), description_zh=help_zh)
    kind = _kind_of(info.annotation)
    if kind is None:
        return None
    extra: dict[str, Any] = {"options": kind[1]}
    for meta in info.metadata:
        for attr, key, exclusive in (("ge", "minimum", False), ("gt", "minimum", True)):
            if getattr(meta, attr, None) is not None:
                extra[key], extra["exclusive_min"] = getattr(meta, attr), exclusive
        for attr, key, exclusive in (("le", "maximum", False), ("lt", "maximum", True)):
            if getattr(meta, attr, None) is not None:
                extra[key], extra["exclusive_max"] = getattr(meta, attr), exclusive
        if getattr(meta, "pattern", None):
            extra["pattern"] = meta.pattern
    unit = next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")
    if name == "baud":
        unit = "baud"
    return Setting(path, kind[0], zh, en, description, value, unit=unit, description_zh=help_zh, **extra)


def help_key(path: str) -> str:
    """Where a setting's help lives under ``settings.help.``: the dotted path itself (a device's
    option is ``devices.ROLE.OPTION``, the same for every driver of the role)."""
    return path


def build_sections(
    config: KioskConfig,
    titles: Mapping[str, tuple[str, str]] | None = None,
    helps: Mapping[str, tuple[str, str]] | None = None,
) -> list[Section]:
    """The editable settings of ``config`` grouped in sections, in screen order.

    ``titles`` maps a field or section name to its (zh, en) title (``config/messages/settings.toml``);
    a name without one gets an English title made from the key. ``helps`` maps a setting's path to
    its (zh, en) help (``config/messages/settings_help.toml``, :func:`helps_from`); a setting
    without one is explained by its comment, in English."""
    titles = titles or {}
    helps = helps or {}
    defaults = _default_comments()
    sections: list[Section] = []
    for section_key, names in INCLUDE.items():
        model = KioskConfig.model_fields[section_key].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        current = getattr(config, section_key)
        code_comments = _source_comments(model)
        rows = []
        for name in names:
            path = f"{section_key}.{name}"
            row = _setting(
                path,
                model.model_fields[name],
                getattr(current, name),
                titles,
                defaults.get(path) or code_comments.get(name, ""),
                helps,
            )
            if row is not None:
                rows.append(row)
        zh, en = titles.get(section_key, (section_key, section_key))
        sections.append(Section(section_key, zh, en, tuple(rows)))
    sections.extend(_device_sections(config, titles, helps))
    return sections


def _device_sections(
    config: KioskConfig, titles: Mapping[str, tuple[str, str]], helps: Mapping[str, tuple[str, str]]
) -> list[Section]:
    from kiosk.devices import NOT_INSTALLED, role_drivers

    sections = []
    for role, device in config.devices.items():
        entry = role_drivers(role).get(device.driver)
        if entry is None or device.driver == NOT_INSTALLED:
            continue
        options = entry.options.model_validate(device.options)
        comments = _source_comments(entry.options)
        rows = []
        for name, info in entry.options.model_fields.items():
            path = f"devices.{role}.{name}"
            row = _setting(path, info, getattr(options, name), titles, comments.get(name, ""), helps)
            if row is not None:
                rows.append(row)
        zh, en = titles.get(role, (role, role))
        sections.append(
            Section(f"devices.{role}", f"{zh} ({device.driver})", f"{en} ({device.driver})", tuple(rows))
        )
    return sections


def find_setting(sections: list[Section], path: str) -> Setting:
    for section in sections:
        for setting in section.settings:
            if setting.path == path:
                return setting
    raise KeyError(path)


def coerce(setting: Setting, text: str, file: str = "") -> Any:
    """Typed text -> the value to write, of the field's type. Raises ConfigError (a plain-words
    problem naming the key) when the text is not of that type; bounds are left to validation."""
    raw = text.strip()

    def refuse(expected: str) -> ConfigError:
        return ConfigError([ConfigProblem(file, setting.path, f"{expected} (got {raw!r})")])

    if setting.kind == "secret":
        raise ConfigError([ConfigProblem(file, setting.path, "a secret is not edited on the kiosk screen")])
    if setting.path in SHELL_ONLY:
        raise ConfigError(
            [ConfigProblem(file, setting.path, "changed only in the site file, never on the kiosk screen")]
        )
    if setting.kind == "bool":
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise refuse("expected on or off")
    if setting.kind == "int":
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise refuse("expected a whole number")
        return int(raw)
    if setting.kind == "float":
        try:
            number = float(raw)
        except ValueError:
            raise refuse("expected a number") from None
        if not math.isfinite(number):
            raise refuse("expected a finite number")
        return int(number) if number.is_integer() else number  # keeps "timeout = 120" style
    if setting.kind == "choice":
        for option in setting.options:
            if str(option) == raw:
                return option
        # not one of the options: pass it on typed, so the loader names the allowed values
        return (
            int(raw)
            if re.fullmatch(r"\d+", raw) and all(isinstance(o, int) for o in setting.options)
            else raw
        )
    if re.fullmatch(r"\d+", raw) and isinstance(setting.value, int) and not isinstance(setting.value, bool):
        return int(raw)  # int | str fields (a camera index) keep their index form
    return raw


def read_only_reason(config: KioskConfig) -> str:
    """Why this terminal's settings tab only shows the settings (empty: they may be saved): no site
    file; ``production`` (its site file is under change control, mounted read-only for the app by
    deploy/systemd/police-kiosk.service); or ``not_writable`` (this process cannot replace it)."""
    if not config.source:
        return "no_site_file"
    if config.kiosk.mode == "production":
        return "production"
    site = Path(config.source)
    if not (os.access(site, os.W_OK) and os.access(site.parent, os.W_OK)):
        return "not_writable"  # save_setting replaces the file through a candidate beside it
    return ""


def validate_change(site: Path, path: str, value: Any) -> KioskConfig:
    """The configuration the site file would give with ``path = value`` (nothing written)."""
    tree: dict[str, Any] = {}
    node = tree
    *tables, key = path.split(".")
    for table in tables:
        node = node.setdefault(table, {})
    node[key] = value
    try:
        return load_config(site, environ={}, overrides=tree)
    except ConfigError as exc:
        raise ConfigError([ConfigProblem(str(site), p.key, p.message) for p in exc.problems]) from exc


def save_setting(site: Path, setting: Setting, text: str, audit: Any | None = None) -> KioskConfig:
    """Coerce ``text``, validate the whole site file with it and write it (comments kept), or raise
    ConfigError with the loader's problems (file untouched). Blocking: call from a worker thread.
    Audited when ``audit`` (an :class:`~kiosk.maintenance.gate.AuditLog`) is given: path, old -> new,
    or the problem; secrets and ``SHELL_ONLY`` keys are refused before anything is written."""
    from kiosk.config.sitefile import update_site_file

    try:
        value = coerce(setting, text, str(site))
        config = update_site_file(site, {setting.path: value})
    except ConfigError as exc:
        if audit is not None and setting.kind != "secret":
            audit.record("maintenance.setting", "refused", path=setting.path, problem=str(exc))
        raise
    if audit is not None:
        audit.record("maintenance.setting", "ok", path=setting.path, old=setting.value, new=value)
    return config


def pending_restart(running: KioskConfig, saved: KioskConfig) -> list[str]:
    """Settings saved to the file that the running app does not use yet (it reads its config once,
    at start-up): they take effect after "restart the app"."""
    ran = {s.path: s for sec in build_sections(running) for s in sec.settings}
    changed = []
    for section in build_sections(saved):
        for setting in section.settings:
            before = ran.get(setting.path)
            if before is None or (before.value, before.is_set) != (setting.value, setting.is_set):
                changed.append(setting.path)
    return changed


def titles_from(messages: Any) -> dict[str, tuple[str, str]]:
    """(zh, en) titles from the ``settings.title.NAME`` keys of a :class:`~kiosk.config.messages.Messages`."""
    prefix = "settings.title."
    return {
        key[len(prefix) :]: (messages.get(key, "zh"), messages.get(key, "en"))
        for key in sorted(messages.keys())
        if key.startswith(prefix)
    }


def helps_from(messages: Any) -> dict[str, tuple[str, str]]:
    """(zh, en) help texts by setting path from the ``settings.help.PATH`` keys of a
    :class:`~kiosk.config.messages.Messages` (``config/messages/settings_help.toml``)."""
    prefix = "settings.help."
    return {
        key[len(prefix) :]: (messages.get(key, "zh"), messages.get(key, "en"))
        for key in sorted(messages.keys())
        if key.startswith(prefix)
    }
