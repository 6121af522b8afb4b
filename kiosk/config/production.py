"""Production mode's refusals: the set-ups an unattended terminal in a public lobby must not run with.

Demo mode is made to run anywhere with nothing configured: it starts the reference backend
locally, makes signing keys nobody enrolled, points receipts at the example domain and simulates
every device. In ``kiosk.mode = "production"`` each of those conveniences would quietly keep
residents' envelopes (photos included) on the kiosk, sign with an unknown key, print QR codes to
nowhere or accept a fake card. So production refuses to start, one line per problem, when:

- ``backend.url`` is empty (the local reference backend is demo only) or plain ``http://``;
- ``backend.ca_file`` is empty or not a file (the backend's CA is pinned, not the system store);
- ``backend.secret_file`` (the HMAC key enrolled at the backend) is empty or not a usable key;
- ``backend.signing_key_file`` (the Ed25519 seed of the certificates' QR codes) is empty or not one;
- ``kiosk.status_base_url`` is still at the example domain of ``config/kiosk.toml`` (or another
  reserved example/test domain);
- a device is simulated without ``kiosk.allow_simulated = true`` (the simulated WLT decoder of the
  card photos, ``devices.card_reader.wlt_decoder = "simulated"``, counts as one).

:func:`production_problems` is the one list of these rules: :func:`~kiosk.config.model.load_config`
applies it when asked (``kiosk``, ``kiosk-tech config check``, ``kiosk-tech doctor``, so all three
report the same lines), and :func:`refuse_unsafe_production` guards the composition root. Kivy-free;
it reads the key files (a few bytes each) and nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

if TYPE_CHECKING:
    from kiosk.config.model import KioskConfig

# RFC 2606 / RFC 6761: names that can never be a site's real status page
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example", "invalid", "test", "localhost")
ED25519_SEED_BYTES = 32


def production_problems(config: KioskConfig, file: str | None = None) -> list[ConfigProblem]:
    """Every reason this configuration must not run in production mode; empty in demo mode.
    ``file`` names the site file in the problems (default: the config's own source)."""
    if config.kiosk.mode != "production":
        return []
    where = file or config.source or str(config_dir() / "kiosk.toml")
    return [
        *_backend_problems(config, where),
        *_key_problems(config, where),
        *_status_url_problems(config, where),
        *_kiosk_number_problems(config, where),
        *simulated_problems(config, where),
    ]


def refuse_unsafe_production(config: KioskConfig, file: str | None = None) -> None:
    """Raise ConfigError listing :func:`production_problems`, if there are any."""
    problems = production_problems(config, file)
    if problems:
        raise ConfigError(problems)


def simulated_problems(config: KioskConfig, file: str) -> list[ConfigProblem]:
    """Simulated devices in production mode without ``kiosk.allow_simulated`` (checked by every
    :func:`~kiosk.config.model.load_config`, as before the other production rules existed)."""
    if config.kiosk.mode != "production" or config.kiosk.allow_simulated:
        return []
    problems = [
        ConfigProblem(
            file,
            f"devices.{role}.driver",
            "simulated devices are refused in production mode "
            "(configure the real driver, or set kiosk.allow_simulated = true)",
        )
        for role in config.simulated_roles
    ]
    reader = config.devices.get("card_reader")
    if (
        reader is not None
        and reader.driver != "simulated"
        and reader.options.get("wlt_decoder") == "simulated"
    ):
        problems.append(
            ConfigProblem(
                file,
                "devices.card_reader.wlt_decoder",
                "the simulated WLT decoder is refused in production mode (it decodes only the "
                "synthetic cards' photos): give the path of the site's licensed decoder library",
            )
        )
    return problems


def _kiosk_number_problems(config: KioskConfig, file: str) -> list[ConfigProblem]:
    """The kiosk number makes every acceptance number (受理号) unique among one backend's kiosks: a
    number derived from the id could repeat another kiosk's, so production sets it."""
    if config.kiosk.number is not None:
        return []
    return [
        ConfigProblem(
            file,
            "kiosk.number",
            "unset: production mode needs this kiosk's number (0-999, unique among the kiosks of one "
            "backend; it is part of every acceptance number printed on a receipt)",
        )
    ]


def _backend_problems(config: KioskConfig, file: str) -> list[ConfigProblem]:
    backend = config.backend
    if not backend.url:
        return [
            ConfigProblem(
                file,
                "backend.url",
                "empty: production mode needs the backend's https:// URL "
                "(the local reference backend is for demo mode only)",
            )
        ]
    if not backend.url.startswith("https://"):
        return [
            ConfigProblem(
                file, "backend.url", f"plain http is refused in production mode (got {backend.url!r})"
            )
        ]
    if not backend.ca_file:
        return [
            ConfigProblem(
                file,
                "backend.ca_file",
                "empty: production mode pins the CA that signs the backend's certificate "
                "(a PEM bundle; the system store is not enough)",
            )
        ]
    path = config.resolve(backend.ca_file)
    if not path.is_file():
        return [ConfigProblem(file, "backend.ca_file", f"{path}: CA bundle not found")]
    if not os.access(path, os.R_OK):
        return [ConfigProblem(file, "backend.ca_file", f"{path}: CA bundle not readable")]
    return []


def _key_problems(config: KioskConfig, file: str) -> list[ConfigProblem]:
    from kiosk.config.keyfile import load_secret

    problems = []
    keys = (
        ("secret_file", "the HMAC key enrolled at the backend, that signs requests", 0),
        ("signing_key_file", "the Ed25519 seed that signs certificates' QR codes", ED25519_SEED_BYTES),
    )
    for name, what, size in keys:
        configured = getattr(config.backend, name)
        key = f"backend.{name}"
        if not configured:
            problems.append(
                ConfigProblem(
                    file,
                    key,
                    f"empty: production mode needs {what} "
                    "(`kiosk-tech config init` makes one; the kiosk never makes one itself)",
                )
            )
            continue
        path = config.resolve(configured)
        try:
            secret = load_secret(path)
        except ConfigError as exc:
            problems.extend(ConfigProblem(file, key, str(p)) for p in exc.problems)
            continue
        if size and len(secret) != size:
            problems.append(
                ConfigProblem(file, key, f"{path}: Ed25519 seed must be {size} bytes, not {len(secret)}")
            )
    return problems


def _status_url_problems(config: KioskConfig, file: str) -> list[ConfigProblem]:
    url = config.kiosk.status_base_url
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    shipped = _shipped_status_host()
    reserved = any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)
    if host != shipped and not reserved:
        return []
    return [
        ConfigProblem(
            file,
            "kiosk.status_base_url",
            f"still at the example domain (got {url!r}): set the site's public status page, "
            "or receipts' QR codes point nowhere",
        )
    ]


def _shipped_status_host() -> str:
    """The host of the packaged example ``status_base_url`` (config/kiosk.toml)."""
    from kiosk.config.model import read_toml

    shipped = str(read_toml(config_dir() / "kiosk.toml").get("kiosk", {}).get("status_base_url", ""))
    return (urlsplit(shipped).hostname or "").rstrip(".").lower()
