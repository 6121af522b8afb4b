"""The composition root: configuration -> devices, catalogue, messages, workers -> the Kivy app.

Everything the kiosk is made of is built here and nowhere else, from the explicit device table in
``kiosk/devices``. :func:`compose` builds the :class:`Runtime` without touching Kivy (tests and the
technician CLI use it); :func:`run_app` adds the window. A device that fails to open does not stop
the kiosk: it is recorded as down, the services needing it are disabled with a reason, and
``kiosk --smoke`` reports it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import logging.handlers
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceError
from kiosk.config.fonts import find_cjk_font
from kiosk.config.messages import Messages
from kiosk.config.model import KioskConfig
from kiosk.devices import NOT_INSTALLED, open_device
from kiosk.errors import KioskError
from kiosk.runtime import BackendLink, Runtime
from kiosk.services.catalogue import Catalogue
from kiosk.services.site_overrides import find_overrides
from kiosk.visit.privacy import MASKING_FILTER, MaskingFormatter

log = logging.getLogger(__name__)

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700  # what the kiosk creates: owner-only


def simulate_everything(config: KioskConfig) -> KioskConfig:
    """The same configuration with every device role on its simulated driver (``--simulate``)."""
    from kiosk.config.model import DeviceSection

    devices = {
        role: DeviceSection(driver="simulated", required=section.required)
        for role, section in config.devices.items()
    }
    return config.model_copy(update={"devices": devices})


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (``kiosk.log`` and each one a rollover starts) are owner-only
    (0600) whatever the process's umask: the log names services, devices and (masked) residents."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        if os.fstat(fd).st_mode & 0o077:  # left readable by an older version
            with contextlib.suppress(OSError):
                os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def private_dir(path: Path) -> None:
    """Create ``path`` owner-only (0700), or take the group/other bits off one this user owns."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_mode & 0o077 and status.st_uid == os.getuid():
        path.chmod(PRIVATE_DIR)


def setup_logging(config: KioskConfig, *, console: bool = True) -> Path:
    """Log to a rotating file for technicians (and the console). Every handler formats through
    the masking formatter, which masks the whole formatted line (traceback and stack included),
    and keeps the masking filter, so no full ID number or registered name reaches a log."""
    log_dir = config.log_dir
    private_dir(log_dir)
    path = log_dir / "kiosk.log"
    handlers: list[logging.Handler] = [
        PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    ]
    if console:
        handlers.append(logging.StreamHandler())
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MASKING_FILTER)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def open_devices(runtime: Runtime, on_opened: Callable[[str], None] | None = None) -> None:
    """Open every configured device; failures are recorded, never raised. ``on_opened(role)`` is
    called (on this thread) after each role is settled, opened or failed."""
    for role, section in runtime.config.devices.items():
        if section.driver == NOT_INSTALLED:
            continue
        _open_one(runtime, role, section.driver)
        if on_opened is not None:
            on_opened(role)


def open_devices_in_background(
    runtime: Runtime, on_opened: Callable[[str], None] | None = None
) -> threading.Thread:
    """Open the devices on a worker thread: a serial port, a camera or a printer may take seconds
    to answer, and the first frame must not wait for them. Until a role is settled its health is
    ``unknown/starting`` and the services needing it show as starting."""
    thread = threading.Thread(target=open_devices, args=(runtime, on_opened), name="device-open", daemon=True)
    thread.start()
    return thread


def start_queue_in_background(
    runtime: Runtime,
    post: Callable[[Callable[[], None]], None],
    on_change: Callable[[], None],
    on_status: Callable[[Any], None] | None = None,
) -> threading.Thread:
    """Open the outbox, start the local backend when none is configured, start delivery; on a
    worker thread (the local backend takes a second to answer). ``runtime.queue`` is set when
    ready; a damaged outbox or a backend that cannot start sets ``runtime.queue_error``."""

    def work() -> None:
        from kiosk.queue.runtime import start_queue

        try:
            queue = start_queue(
                runtime.config, post=post, on_status=on_status, on_exchange=runtime.backend.report
            )
        except (KioskError, OSError) as exc:
            runtime.queue_error = f"{type(exc).__name__}: {exc}"
            log.error("request queue not available: %s", exc)
        else:
            runtime.queue = queue
            runtime.closers.append(queue.close)
            log.info("request queue ready, delivering to %s", queue.url)
            start_heartbeat(runtime)
        post(on_change)

    thread = threading.Thread(target=work, name="queue-start", daemon=True)
    thread.start()
    return thread


def start_heartbeat(runtime: Runtime) -> None:
    """Heartbeats to the backend (health + step analytics), once the queue's client is ready."""
    interval = runtime.config.heartbeat.interval_s
    queue = runtime.queue
    if not interval or queue is None or runtime.heartbeat is not None:
        return
    from kiosk.queue.heartbeat import HeartbeatWorker, health_document

    worker = HeartbeatWorker(
        runtime.config.kiosk.id,
        queue.new_client,
        lambda: health_document(runtime, runtime.started_at),
        runtime.analytics,
        interval,
    )
    worker.start()
    runtime.heartbeat = worker
    runtime.closers.append(worker.stop)


def _open_one(runtime: Runtime, role: str, driver: str) -> None:
    try:
        runtime.devices[role] = open_device(role, runtime.config)
        log.info("device %s: %s opened", role, driver)
    except (DeviceError, KioskError, OSError) as exc:
        runtime.failures[role] = DeviceHealth(Health.DOWN, "open_failed", str(exc))
        log.error("device %s (%s) failed to open: %s", role, driver, exc)
    except ImportError as exc:
        missing = exc.name or str(exc)
        runtime.failures[role] = DeviceHealth(
            Health.DOWN, "missing_dependency", f"driver {driver!r} needs the package {missing}"
        )
        log.error("device %s: driver %s needs the package %s", role, driver, missing)
    except Exception as exc:  # a driver bug must not take the kiosk down with it
        runtime.failures[role] = DeviceHealth(Health.DOWN, "driver_error", f"{type(exc).__name__}: {exc}")
        log.exception("device %s: driver %s failed unexpectedly", role, driver)


def compose(
    config: KioskConfig, *, clock: Callable[[], float] = time.monotonic, devices: bool = False
) -> Runtime:
    """Build the runtime from a validated configuration. ``devices=True`` opens them now, on this
    thread (technician commands); the app opens them in the background after its first frame.
    A production configuration with anything production mode refuses is a ConfigError here, even
    when it was built in code or made simulated after loading (``--simulate``)."""
    from kiosk.config.production import refuse_unsafe_production

    refuse_unsafe_production(config)
    data_dir = config.data_dir
    try:
        private_dir(data_dir)  # residents' data lives here: owner-only
    except OSError as exc:
        raise KioskError(f"cannot create data folder {data_dir}: {exc}") from exc
    font = find_cjk_font(config.display.font, data_dir / "cache" / "fonts", config_file=config.source)
    from kiosk.maintenance.gate import AUDIT_FILE, AuditLog, Lockout, gate_for

    audit = AuditLog(data_dir / AUDIT_FILE)
    runtime = Runtime(
        config=config,
        catalogue=Catalogue.load(site=find_overrides(config.source)),  # a site's fees, windows, lists
        messages=Messages.load(),
        font=font,
        clock=clock,
        maintenance=gate_for(config, audit),
        backend=BackendLink(clock),
    )
    runtime.closers.append(audit.close)  # entries the UI queued are on disk before the process ends

    def lockout_alert(_lockout: Lockout) -> None:  # on the PIN check's worker thread
        if runtime.queue is None:
            log.error("maintenance PIN pad locked; no alert sent: the request queue is not up")
        else:
            runtime.queue.raise_alert("maintenance_lockout", screen="maintenance_pin")

    runtime.gate.on_lockout = lockout_alert
    if devices:
        open_devices(runtime)
    return runtime


LOCK_FILE = "kiosk.lock"


def claim_data_dir(data_dir: Path) -> IO[str]:
    """One kiosk app per data folder: two would fight over the serial ports and the camera, and the
    second would sweep the first's session folders. An exclusive ``flock`` on ``DATA_DIR/kiosk.lock``,
    held by the returned file until the process ends; the kernel drops it on any death, SIGKILL
    included, so a crash never leaves a stale lock. KioskError names the holder if already taken."""
    data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - kept open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise KioskError(
            f"another kiosk app (pid {holder}) is running on the data folder {data_dir}; stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class StartedApp(Protocol):
    """What the started app offers the workers the composition root starts (screens/app.py KioskApp)."""

    def post(self, fn: Callable[[], None]) -> None: ...  # run on the UI thread, soon

    def devices_changed(self) -> None: ...  # a device or the queue came up (or failed)

    def queue_status(self, status: Any) -> None: ...  # delivery progress, for the technicians' strip


def after_first_frame(runtime: Runtime) -> Callable[[StartedApp], None]:
    """What the app starts once its first frame is drawn: the devices and the request queue, on
    worker threads that report back through the app. Handed to the app, so that the dependency
    points one way (this composition root -> screens -> the core)."""

    def start(app: StartedApp) -> None:
        devices = open_devices_in_background(runtime, on_opened=lambda _role: app.post(app.devices_changed))
        queue = start_queue_in_background(runtime, app.post, app.devices_changed, app.queue_status)
        warm_face_models_in_background(after=(devices, queue))

    return start


FACE_MODELS = ("detector", "shape5", "shape68", "resnet")
FACE_MODEL_PAUSE_S = 0.1  # between two models: the UI thread draws a few frames in between


def warm_face_models_in_background(
    after: Sequence[threading.Thread] = (), pause_s: float = FACE_MODEL_PAUSE_S
) -> threading.Thread:
    """Load the face model's files on a worker thread once the threads in ``after`` (opening the
    devices, starting the queue) are done, one model at a time with a pause between. dlib holds the
    GIL while it reads a model (the 68-point one: ~0.6 s, 70 MB), so loading during a resident's
    first face check would freeze the live preview, and loading while the devices open and the
    queue starts would make all of them (and the UI's frames) wait for each other. A face check
    that comes first loads what it needs itself (``contract.faces.MODELS`` loads on first use)."""

    def load() -> None:
        for thread in after:
            thread.join()
        try:
            from contract.faces import MODELS

            for model in FACE_MODELS:
                time.sleep(pause_s)
                MODELS.get(model)
        except Exception as exc:  # the face check reports a missing model itself, calmly
            log.warning("face model not loaded at start-up: %s", exc)
        else:
            log.info("face model loaded")

    thread = threading.Thread(target=load, name="face-models", daemon=True)
    thread.start()
    return thread


def run_app(runtime: Runtime, **app_options: Any) -> int:
    """Open the window and run until the app stops. Imports Kivy (only here). Takes the data
    folder's lock first and sweeps session folders a killed predecessor left behind."""
    from kiosk.visit.session import sweep_scratch

    lock = claim_data_dir(runtime.config.data_dir)
    runtime.closers.append(lock.close)
    sweep_scratch(runtime.config.data_dir / "sessions")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from screens.app import KioskApp

    app_options.setdefault("after_first_frame", after_first_frame(runtime))
    app = KioskApp(runtime, **app_options)
    try:
        app.run()
    finally:
        runtime.close()
    return 0
