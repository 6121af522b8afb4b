"""The kiosk's error tree.

    KioskError                   root of every error the kiosk core raises on purpose
    ├── ConfigError              a configuration file or value is wrong; ``problems`` lists each
    ├── CatalogueError           config/services.toml describes a service the engine cannot run
    ├── FlowError                a step was asked to do something its state does not allow
    ├── BackendError             the backend could not be reached or refused a request
    │   ├── BackendUnavailable   timeouts, connection errors, 5xx: retry later
    │   └── BackendRejected      4xx: retrying the same bytes will not help
    ├── StorageError             the outbox or a data directory cannot be used (disk full, corrupt)
    └── DocumentError            a receipt or certificate cannot be rendered

Device errors come from ``drivers.errors.DeviceError`` (drivers must not import the kiosk core);
``EXPECTED_ERRORS`` below is what the app catches to show a calm message instead of a crash.
Third-party exceptions are converted at the edge with ``raise ... from exc``.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.errors import DeviceError


class KioskError(Exception):
    """Root of the kiosk core's own errors."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one configuration file: where it is and what was expected."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class ConfigError(KioskError):
    """The configuration cannot be used. ``problems`` holds one entry per problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class CatalogueError(KioskError):
    """The service catalogue describes something the flow engine cannot run."""


class FlowError(KioskError):
    """A flow was driven out of order (e.g. confirm before review)."""


class BackendError(KioskError):
    """The backend could not be used."""


class BackendUnavailable(BackendError):
    """Timeout, connection failure or 5xx: the same request may succeed later."""


class BackendRejected(BackendError):
    """The backend refused the request (4xx): retrying the same bytes will not help."""


class StorageError(KioskError):
    """Local storage (outbox, data directory) cannot be used."""


class DocumentError(KioskError):
    """A receipt, certificate or preview could not be produced."""


EXPECTED_ERRORS: tuple[type[Exception], ...] = (KioskError, DeviceError)
