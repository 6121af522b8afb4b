"""Configuration: packaged defaults, one site file, environment overrides, validated at start.

Order (later wins): ``config/kiosk.toml`` (complete defaults) < the site file (``--config FILE``,
else ``$KIOSK_CONFIG``, else ``/etc/kiosk/kiosk.toml`` when it exists) < environment variables
``KIOSK__SECTION__KEY=value`` (values parsed as TOML when they parse, else taken as text).

Validation collects every problem with the file and dotted key it concerns, so a technician fixes
a site file in one pass; an unknown key gets a "did you mean" suggestion. Nothing here raises a
bare third-party exception: everything becomes :class:`~kiosk.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contract.ids import default_kiosk_number
from kiosk.config.production import production_problems, simulated_problems
from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

SITE_CONFIG_DEFAULT = Path("/etc/kiosk/kiosk.toml")
ENV_CONFIG = "KIOSK_CONFIG"
ENV_PREFIX = "KIOSK__"

DESIGN_SIZES = {"landscape": (1920, 1080), "portrait": (1080, 1920)}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    mode: Literal["demo", "production"] = "demo"
    allow_simulated: bool = False
    station_zh: str = ""
    station_en: str = ""
    status_base_url: str = Field(pattern=r"^https://\S+$")
    data_dir: str = ""
    log_dir: str = ""
    region_code: str = Field(default="", pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})?$")  # address step start
    # the kiosk number in every acceptance number (受理号, contract/ids.py): 0-999, unique among the
    # kiosks of one backend; unset: derived from ``id`` (demo only: production must set it)
    number: int | None = Field(default=None, ge=0, le=999)

    @property
    def acceptance_kiosk_number(self) -> int:
        """The configured kiosk number, or the one derived from the id (simulation, demo)."""
        return self.number if self.number is not None else default_kiosk_number(self.id)


class DisplaySection(_Section):
    orientation: Literal["landscape", "portrait"] = "landscape"
    fullscreen: bool = False
    width: int = Field(default=0, ge=0, le=8192)
    height: int = Field(default=0, ge=0, le=8192)
    font: str = ""
    default_language: Literal["zh", "en"] = "zh"
    large_text: bool = False
    high_contrast: bool = False
    show_cursor: bool = True
    # physical size, for touch targets of at least 15 mm (tests/ui/test_accessibility.py):
    # dpi wins when set; else it follows from the panel's diagonal and the window size
    diagonal_in: float = Field(default=21.5, ge=7, le=100)
    dpi: float = Field(default=0, ge=0, le=600)
    # voice prompts (kiosk/visit/voice.py, screens/assist/voice.py)
    voice: bool = True
    voice_volume: float = Field(default=0.8, ge=0, le=1)
    voice_attract_every_min: float = Field(default=10, ge=0, le=1440)  # 0: never on the attract screen
    voice_recorded_dir: str = ""  # recorded <key>.<lang>.wav|ogg files; they win over synthesised ones

    @property
    def pixels_per_mm(self) -> float:
        """Pixels per millimetre of the panel at the configured window size."""
        if self.dpi:
            return self.dpi / 25.4
        width, height = self.size
        return (width**2 + height**2) ** 0.5 / (self.diagonal_in * 25.4)

    @property
    def size(self) -> tuple[int, int]:
        """The window size: explicit width/height, else the orientation's design size."""
        design = DESIGN_SIZES[self.orientation]
        return (self.width or design[0], self.height or design[1])


class SessionSection(_Section):
    idle_timeout_s: float = Field(default=90, gt=5, le=3600)
    idle_warning_s: float = Field(default=20, ge=3, le=600)
    attract_return_s: float = Field(default=15, ge=3, le=600)


class DeviceSection(BaseModel):
    """One device role. Driver-specific options are validated by the device table
    (``kiosk/devices``), which knows each driver's options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    driver: str = Field(min_length=1)
    required: bool = True

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class BackendSection(_Section):
    """Where and how requests are delivered (kiosk/queue/delivery.py) and look-ups made."""

    url: str = Field(default="", pattern=r"^(https://\S+|http://(127\.0\.0\.1|localhost)(:\d+)?/?\S*)?$")
    # empty url: start the reference receiver locally (demo)
    key_id: str = Field(default="", pattern=r"^[A-Za-z0-9._-]{0,64}$")  # empty: the kiosk id
    secret_file: str = ""  # HMAC-SHA256 key, hex, made by `kiosk-tech config init`
    signing_key_file: str = ""  # Ed25519 seed (hex) for signed receipt QR codes
    ca_file: str = ""  # CA bundle to verify the backend with; empty: the system store
    client_cert: str = ""  # client certificate (PEM) for mutual TLS, optional
    client_key: str = ""
    connect_timeout_s: float = Field(default=5, gt=0, le=60)
    timeout_s: float = Field(default=10, gt=0, le=120)  # read timeout
    retry_base_s: float = Field(default=0.5, gt=0, le=60)
    retry_cap_s: float = Field(default=300, ge=1, le=3600)
    stuck_after_s: float = Field(default=600, ge=10, le=86400)  # technicians' banner after this


class OutboxSection(_Section):
    """The durable outbox (kiosk/queue/outbox.py)."""

    path: str = ""  # empty: <data_dir>/outbox.db
    min_free_mb: int = Field(default=50, ge=0, le=100_000)  # refuse submissions below this free space
    keep_acknowledged_days: int = Field(default=90, ge=0, le=36_500)  # then delete the row; 0: keep forever
    # dead letters' bodies (personal data, photos) are purged after this; the row and refusal stay
    keep_dead_days: int = Field(default=30, ge=1, le=3650)


class MaintenanceSection(_Section):
    pin_hash: str = Field(default="", pattern=r"^(scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+)?$")
    lockout_after: int = Field(default=5, ge=1, le=20)
    lockout_base_s: float = Field(default=30, ge=1, le=3600)
    lockout_max_s: float = Field(default=3600, ge=1, le=86400)  # the wait stops doubling here


class HeartbeatSection(_Section):
    interval_s: float = Field(default=60, ge=0, le=3600)  # 0: no heartbeat


class IdentitySection(_Section):
    """人证核验 before anything is filed in a person's name (kiosk/steps/face_check.py, docs/identity.md)."""

    # card: the live face against the card photo, on the kiosk (needs the site's WLT decoder);
    # register: the live JPEG to the backend, matched with the register photo; both: both must match;
    # auto: card when the card reader has a WLT decoder, else register
    match: Literal["auto", "card", "register", "both"] = "auto"
    challenge: Literal["blink", "turn"] = "blink"  # the liveness challenge on the live video
    challenge_timeout_s: float = Field(default=20, ge=5, le=120)  # then 呼叫帮助 is offered
    match_timeout_s: float = Field(default=15, ge=1, le=120)  # the match (on the kiosk or the backend)


class KioskConfig(_Section):
    kiosk: KioskSection
    display: DisplaySection = DisplaySection()
    session: SessionSection = SessionSection()
    devices: dict[str, DeviceSection] = Field(default_factory=dict)
    backend: BackendSection = BackendSection()
    outbox: OutboxSection = OutboxSection()
    maintenance: MaintenanceSection = MaintenanceSection()
    heartbeat: HeartbeatSection = HeartbeatSection()
    identity: IdentitySection = IdentitySection()

    # where the site file was (relative paths resolve against its folder); not a TOML key
    source: str = Field(default="", exclude=True)

    @field_validator("session")
    @classmethod
    def _warning_before_timeout(cls, value: SessionSection) -> SessionSection:
        if value.idle_warning_s >= value.idle_timeout_s:
            raise ValueError("idle_warning_s must be shorter than idle_timeout_s")
        return value

    @property
    def simulated_roles(self) -> list[str]:
        return [role for role, dev in self.devices.items() if dev.driver == "simulated"]

    @property
    def identity_match(self) -> Literal["card", "register", "both"]:
        """``identity.match`` with ``auto`` resolved: the card photo when the card reader decodes
        it (a licensed WLT decoder, or the simulated one), else the register photo at the backend."""
        if self.identity.match != "auto":
            return self.identity.match
        reader = self.devices.get("card_reader")
        decoder = reader.options.get("wlt_decoder", "") if reader is not None else ""
        if reader is not None and reader.driver == "simulated" and "wlt_decoder" not in reader.options:
            decoder = "simulated"  # the simulated reader decodes its synthetic cards' photos
        return "card" if decoder else "register"

    def resolve(self, path: str) -> Path:
        """A path from the config, made absolute against the site file's folder."""
        p = Path(os.path.expanduser(path))
        if p.is_absolute() or not self.source:
            return p
        return Path(self.source).parent / p

    @property
    def data_dir(self) -> Path:
        if self.kiosk.data_dir:
            return self.resolve(self.kiosk.data_dir)
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
        return Path(base) / "police-kiosk"

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.kiosk.log_dir) if self.kiosk.log_dir else self.data_dir / "logs"


def find_site_file(
    explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The site file to use: the explicit one, else $KIOSK_CONFIG, else /etc/kiosk when present."""
    if explicit:
        return Path(explicit)
    env = (os.environ if environ is None else environ).get(ENV_CONFIG)
    if env:
        return Path(env)
    return SITE_CONFIG_DEFAULT if SITE_CONFIG_DEFAULT.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; a missing file or a syntax error becomes a ConfigError naming it."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError([ConfigProblem(str(path), "", "file not found")]) from exc
    except PermissionError as exc:
        raise ConfigError([ConfigProblem(str(path), "", "permission denied")]) from exc
    except IsADirectoryError as exc:
        raise ConfigError([ConfigProblem(str(path), "", "is a folder, expected a TOML file")]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"TOML syntax error: {exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), "", "not UTF-8 text")]) from exc


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: tables merge key by key, everything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``KIOSK__DISPLAY__FULLSCREEN=true`` -> {"display": {"fullscreen": True}}."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
        if not keys:
            continue
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return tree


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The valid keys at ``loc`` in the schema, for "did you mean" suggestions."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = field.annotation
        if getattr(current, "__origin__", None) is dict:
            current = current.__args__[1]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _problems_from(exc: ValidationError, file: str) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            known = _known_keys(KioskConfig, loc)
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            message = f"unknown key{hint}"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            given = err.get("input")
            shown = f" (got {given!r})" if isinstance(given, str | int | float | bool) else ""
            message = f"{err['msg']}{shown}"
        problems.append(ConfigProblem(file, key, message))
    return problems


def load_config(
    site: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    validate_devices: bool = True,
    production: bool = False,
) -> KioskConfig:
    """Build the effective configuration or raise ConfigError listing every problem.
    ``production=True`` adds every production-mode refusal (:mod:`kiosk.config.production`),
    as the kiosk does at start; without it only simulated devices are refused there."""
    environ = os.environ if environ is None else environ
    defaults_path = config_dir() / "kiosk.toml"
    data = read_toml(defaults_path)
    site_path = find_site_file(site, environ)
    label = str(site_path) if site_path else str(defaults_path)
    if site_path is not None:
        data = deep_merge(data, read_toml(site_path))
    data = deep_merge(data, env_overrides(environ))
    if overrides:
        data = deep_merge(data, overrides)
    if site_path is not None:
        data["source"] = str(site_path.resolve())
    try:
        config = KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, label)) from exc
    problems: list[ConfigProblem] = []
    if validate_devices:
        from kiosk.devices import validate_device_sections

        problems.extend(validate_device_sections(config, label))
    # simulated devices are always refused in production; the rules that look at URLs and key
    # files only when asked (the kiosk's start, config check, doctor): kiosk/config/production.py
    problems.extend(production_problems(config, label) if production else simulated_problems(config, label))
    if problems:
        raise ConfigError(problems)
    return config
