"""Log masking without gaps: what reaches ``kiosk.log`` and the console through
``kiosk.main.setup_logging``, and the backend's log, holds no full ID number in any spelling nor a
registered name, whether it came in the message, a traceback or a stack.

Synthetic identities only: the simulated card's resident (``drivers/idcard/sim_cards.toml``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.cli import log_handler
from kiosk.config.model import load_config
from kiosk.main import setup_logging
from kiosk.visit.privacy import MASKING_FILTER

CARD_NAME, CARD_NAME_EN = "张三丰", "Zhang Sanfeng"
CARD_ID = "99010119800315031X"  # synthetic, valid check character
OTHER_ID = "990000199001010017"  # synthetic, valid check character
log = logging.getLogger("kiosk.test.masking")


@dataclass
class KioskLog:
    """The two places a technician reads the kiosk's log."""

    path: Path
    console: io.StringIO
    handlers: list[logging.Handler]

    def text(self) -> str:
        """The log file and the console output written so far."""
        for handler in self.handlers:
            handler.flush()
        return self.path.read_text(encoding="utf-8") + self.console.getvalue()


@pytest.fixture
def kiosk_log(tmp_path: Path) -> Iterator[KioskLog]:
    """``setup_logging`` as the kiosk runs it (file and console), removed afterwards. The console
    handler writes to a buffer here instead of the terminal."""
    config = load_config(
        None, environ={"KIOSK__KIOSK__LOG_DIR": str(tmp_path / "logs")}, validate_devices=False
    )
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = setup_logging(config, console=True)
    added = [h for h in root.handlers if h not in before]
    console = io.StringIO()
    consoles = [h for h in added if type(h) is logging.StreamHandler]
    assert len(consoles) == 1 and len(added) == 2  # the file and the console
    consoles[0].setStream(console)
    # pytest's own handlers sit first on the root and format (so fill in the traceback) before
    # ours: the test logger gets the kiosk's handlers alone, in their order, as in production
    for handler in added:
        log.addHandler(handler)
    log.propagate = False
    try:
        yield KioskLog(path, console, added)
    finally:
        log.propagate = True
        for handler in added:
            log.removeHandler(handler)
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


@pytest.fixture
def resident_names() -> Iterator[None]:
    """The card's names registered, as the read-card step does; forgotten as the wipe does."""
    MASKING_FILTER.remember(CARD_NAME, CARD_NAME_EN)
    try:
        yield
    finally:
        MASKING_FILTER.forget()


def _refuse(detail: str) -> None:
    raise ValueError(detail)


def test_log_exception_masks_the_id_number_in_the_exception_message(kiosk_log: KioskLog) -> None:
    try:
        _refuse(f"card {CARD_ID} refused by the register")
    except ValueError:
        log.exception("look-up failed")
    text = kiosk_log.text()
    assert "look-up failed" in text and "ValueError: card 9901**********031X refused" in text
    assert text.count("ValueError: card 9901**********031X refused") == 2  # file and console
    assert CARD_ID not in text


def test_a_chained_exception_and_a_lower_case_check_character_are_masked(kiosk_log: KioskLog) -> None:
    try:
        try:
            _refuse(f"bad number {CARD_ID.lower()}")
        except ValueError as exc:
            raise RuntimeError(f"retry for {OTHER_ID} failed") from exc
    except RuntimeError:
        log.exception("delivery")
    text = kiosk_log.text()
    assert CARD_ID.lower() not in text and OTHER_ID not in text
    assert "9901**********031x" in text and "9900**********0017" in text


def test_stack_info_is_masked(kiosk_log: KioskLog) -> None:
    # the stack shows this source line, with the number in it
    log.warning("where did this come from", stack_info=True)  # 99010119800315031X
    text = kiosk_log.text()
    assert "Stack (most recent call last)" in text
    assert CARD_ID not in text and "9901**********031X" in text


@pytest.mark.parametrize(
    "spelling",
    [
        "ID99010119800315031X",  # glued to letters before
        "99010119800315031Xok",  # and after
        "身份证号99010119800315031X已读",
        "id=99010119800315031X;",
    ],
)
def test_numbers_glued_to_letters_are_masked(kiosk_log: KioskLog, spelling: str) -> None:
    log.info("card read: %s", spelling)
    text = kiosk_log.text()
    assert CARD_ID not in text and "9901**********031X" in text


@pytest.mark.parametrize(
    ("spelling", "masked"),
    [
        ("990101 19800315 031X", "9901** ******** 031X"),  # region, birth date, sequence + check
        ("9901 0119 8003 1503 1X", "9901 **** **** **03 1X"),  # in fours, like a bank card
        ("990101-19800315-031X", "9901**-********-031X"),
        ("9901-0119-8003-1503-1X", "9901-****-****-**03-1X"),
        ("990101.19800315.031X", "9901**.********.031X"),
        ("990101 1980 03 15 031 X", "9901** **** ** ** 031 X"),
        ("990101 - 19800315 - 031X", "9901** - ******** - 031X"),
        ("990101\u300019800315\u3000031X", "9901**\u3000********\u3000031X"),  # ideographic space
        ("９９０１０１１９８００３１５０３１Ｘ", "９９０１**********０３１Ｘ"),  # full-width
        ("９９０１０１ １９８００３１５ ０３１Ｘ", "９９０１** ******** ０３１Ｘ"),
        ("990101 19800315 031x", "9901** ******** 031x"),
        ("ID990101 19800315 031X.", "ID9901** ******** 031X."),
        ("990101, 19800315, 031X", "9901**, ********, 031X"),  # commas, as in a CSV line
        ("990101，19800315，031X", "9901**，********，031X"),  # full-width commas
        ("990101_19800315_031X", "9901**_********_031X"),
        ("990101    19800315        031X", "9901**    ********        031X"),  # 4 and 8 spaces
        ("990101 800315 031", "9901** *****5 031"),  # the 15-digit legacy form in its groups
    ],
)
def test_grouped_and_full_width_numbers_are_masked(kiosk_log: KioskLog, spelling: str, masked: str) -> None:
    log.info("resident said %s at the counter", spelling)
    try:
        _refuse(f"not found: {spelling}")
    except ValueError:
        log.exception("look-up")
    text = kiosk_log.text()
    assert spelling not in text
    assert text.count(masked) == 4  # message and traceback, file and console


def test_ordinary_numbers_survive(kiosk_log: KioskLog) -> None:
    line = (
        "seq 4711 port 8443 at 2026-12-01 21:29:58,123 受理号 202612010042 "
        "order 20261128123456789012 epoch 1764624598123 bytes 00 00 00 00 00 00 00 00 00 00 "
        "counters 1 2 3 4 5 6 7 8 9 10 11 12 13 14"
    )
    log.info(line)
    assert kiosk_log.text().count(line) == 2


def test_registered_names_are_masked_in_tracebacks_too(kiosk_log: KioskLog, resident_names: None) -> None:
    try:
        _refuse(f"{CARD_NAME} / {CARD_NAME_EN.upper()} has no record")
    except ValueError:
        log.exception("look-up for %s", CARD_NAME)
    text = kiosk_log.text()
    assert CARD_NAME not in text and CARD_NAME_EN.upper() not in text
    assert "look-up for 张**" in text and "ValueError: 张** / Z**** S****** has no record" in text
    MASKING_FILTER.forget()  # at session wipe: the names are no longer known
    log.info("next visit: %s", CARD_NAME)
    assert "next visit: 张三丰" in kiosk_log.text()


def test_a_handler_with_only_the_filter_gets_the_traceback_masked(tmp_path: Path) -> None:
    """A handler added with the filter but a plain formatter (a test capture, a library's)."""
    path = tmp_path / "plain.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MASKING_FILTER)
    log.addHandler(handler)
    try:
        try:
            _refuse(f"card {CARD_ID}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text(encoding="utf-8")
    assert CARD_ID not in text and "ValueError: card 9901**********031X" in text


def test_the_backend_log_masks_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    backend_log = logging.getLogger("backend.test.masking")
    handler = log_handler()  # on sys.stderr, which capsys holds now
    backend_log.addHandler(handler)
    try:
        try:
            _refuse(f"verify {{'id_number': '{CARD_ID}', 'spelled': '990101 19800315 031X'}}")
        except ValueError:
            backend_log.exception("unexpected error serving %s", "127.0.0.1")
    finally:
        backend_log.removeHandler(handler)
    err = capsys.readouterr().err
    assert "unexpected error serving 127.0.0.1" in err
    assert CARD_ID not in err and "990101 19800315 031X" not in err
    assert "9901**********031X" in err and "9901** ******** 031X" in err
