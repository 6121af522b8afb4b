"""Data at rest: every file and folder the kiosk makes is owner-only (0600 files, 0700 folders),
even when the process's umask would let others read (issue 21, item 5). The ``kiosk`` and
``kiosk-tech`` commands also set ``umask 077`` (tests/integration/test_private_files_cli.py)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config.model import KioskConfig, load_config
from kiosk.main import compose, setup_logging
from kiosk.maintenance.gate import AuditLog
from kiosk.queue.delivery import open_outbox
from kiosk.queue.outbox import Attachment, Outbox
from kiosk.visit.session import Session, sweep_scratch

APPLICANT = {"id_number": "990000199001010009", "name": "张三丰", "identified_by": "card", "sex": "male"}
CERT = {"applicant": APPLICANT, "fields": {"purpose": "school", "copies": 2, "phone": "13800000000"}}
NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a careless shell or unit (022: files 0644, folders 0755), restored after."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def config(tmp_path: Path) -> KioskConfig:
    site = tmp_path / "site.toml"
    site.write_text(f'[kiosk]\ndata_dir = "data"\nlog_dir = "logs"\n{NO_DEVICES}', encoding="utf-8")
    return load_config(site, environ={})


@pytest.fixture
def kiosk_log(config: KioskConfig) -> Iterator[Path]:
    """The kiosk's log set up as the app does it; its handlers are taken off the root logger after."""
    root = logging.getLogger()
    before = list(root.handlers)
    path = setup_logging(config, console=False)
    try:
        yield path
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()


# a copy of a public font (kiosk/config/fonts.py), no personal data: private through the commands'
# umask 077 only (tests/integration/test_private_files_cli.py), not by an explicit mode
FONT_CACHE = "cache"


def readable_by_others(folder: Path) -> list[str]:
    """Every file or folder under (and including) ``folder`` with a group or other permission bit."""
    found = []
    for path in [folder, *folder.rglob("*")]:
        if FONT_CACHE in path.relative_to(folder).parts[:1]:
            continue
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{path.relative_to(folder.parent)} {stat.filemode(mode)}")
    return found


@pytest.mark.usefixtures("loose_umask")
def test_a_kiosk_run_leaves_nothing_readable_by_other_users(
    config: KioskConfig, kiosk_log: Path, tmp_path: Path
) -> None:
    runtime = compose(config)  # the data folder, the font cache, the audit log, the gate's state
    try:
        logging.getLogger("kiosk.test").warning("a line in the technicians' log")
        assert runtime.maintenance is not None
        runtime.maintenance.try_pin("000000")  # audited (no PIN configured)
        with open_outbox(config) as outbox:
            photo = Attachment("photo", "image/jpeg", b"\xff\xd8synthetic\xff\xd9")
            outbox.submit("photo.id_photo", 1, {"applicant": APPLICANT, "fields": {"spec": "passport",
                          "photo_code": "P1"}}, [photo])  # fmt: skip
            assert (config.data_dir / "outbox.db-wal").exists()  # checked while SQLite's side files exist
            sweep_scratch(config.data_dir / "sessions")
            session = Session(scratch_root=config.data_dir / "sessions")
            assert session.temp_dir.is_dir()  # a visit's scratch folder (photos, previews)
            assert readable_by_others(config.data_dir) == []
            session.wipe()
    finally:
        runtime.close()
    assert kiosk_log.is_file() and (config.data_dir / "audit.jsonl").is_file()
    assert readable_by_others(config.data_dir) == [] and readable_by_others(config.log_dir) == []


@pytest.mark.usefixtures("loose_umask")
def test_files_an_older_version_left_readable_are_made_owner_only(tmp_path: Path) -> None:
    from kiosk.main import PrivateRotatingFileHandler

    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    for name in ("outbox.db", "audit.jsonl", "kiosk.log"):
        (folder / name).touch(mode=0o644)
        (folder / name).chmod(0o644)
    folder.chmod(0o755)
    with Outbox(folder / "outbox.db", "K") as box:
        box.submit("household.household_certificate", 1, CERT)
    AuditLog(folder / "audit.jsonl").record("maintenance.enter", "refused")
    handler = PrivateRotatingFileHandler(folder / "kiosk.log", encoding="utf-8")
    handler.close()
    assert readable_by_others(folder) == ["data drwxr-xr-x"]  # a folder it did not make is left as it is
    config = load_config(
        None, environ={}, validate_devices=False, overrides={"kiosk": {"data_dir": str(folder)}}
    )
    compose(config).close()  # the kiosk's own data folder is tightened at start
    assert readable_by_others(folder) == []


@pytest.mark.usefixtures("loose_umask")
def test_every_log_file_a_rollover_starts_is_owner_only(tmp_path: Path) -> None:
    from kiosk.main import PrivateRotatingFileHandler

    handler = PrivateRotatingFileHandler(
        tmp_path / "kiosk.log", maxBytes=200, backupCount=2, encoding="utf-8"
    )
    log = logging.getLogger("tests.rollover")
    log.propagate = False
    log.addHandler(handler)
    try:
        for i in range(20):
            log.warning("line %d of a technician's log that rolls over", i)
    finally:
        log.removeHandler(handler)
        handler.close()
        log.propagate = True
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    assert readable_by_others(tmp_path) == []
