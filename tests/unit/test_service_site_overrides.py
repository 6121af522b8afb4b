"""A site's fees, rules and choice lists (kiosk/services/site_overrides.py): issue #19 keeps them as
data with a site override, read beside the site's kiosk.toml."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.idcard.simulator import load_cards
from kiosk.errors import CatalogueError, ConfigError
from kiosk.services.catalogue import Catalogue
from kiosk.services.site_overrides import find_overrides
from kiosk.steps.household_rules import STOP_WINDOW, applicant_outcome
from kiosk.visit.session import Session

SITE = """
["id-card-renewal"]
fee_fen = 2500
rules = { renewal_window_days = 30 }

["household-certificate".steps.details.fields.purpose]
options = [
  { value = "kinship", zh = "亲属关系证明", en = "Kinship" },
  { value = "registration_cancelled", zh = "注销户口证明", en = "Cancelled registration" },
]
"""


def site_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "kiosk.toml").write_text("", encoding="utf-8")
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_site_changes_fee_rules_and_a_purpose_list(tmp_path: Path) -> None:
    site = find_overrides(str(site_file(tmp_path, SITE).with_name("kiosk.toml")), environ={})
    assert site is not None
    catalogue = Catalogue.load(site=site)
    renewal = catalogue["id-card-renewal"]
    assert renewal.fee_fen == 2500
    assert renewal.rules["renewal_window_days"] == 30 and renewal.rules["guardian_under_age"] == 16  # merged
    purpose = catalogue["household-certificate"].field("purpose")
    assert purpose is not None and [o.value for o in purpose.options] == ["kinship", "registration_cancelled"]
    # the engine reads the site's window: 60 days before expiry is inside 90 but outside 30
    card = replace(load_cards()["resident"], valid_to=dt.date(2027, 2, 1))
    session = Session()
    session.identity = card
    session.values.update(kind="renewal", reason="expired")
    today = dt.date(2026, 12, 3)
    assert applicant_outcome(dict(renewal.rules), session, today).stop == STOP_WINDOW
    assert applicant_outcome(dict(Catalogue.load()["id-card-renewal"].rules), session, today).ok


def test_no_site_file_keeps_the_packaged_catalogue(tmp_path: Path) -> None:
    assert find_overrides("", environ={}) is None
    assert find_overrides(str(tmp_path / "kiosk.toml"), environ={}) is None
    assert Catalogue.load()["id-card-renewal"].fee_fen == 2000


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('["no-such-service"]\nfee_fen = 1\n', "no-such-service"),
        ('["id-card-renewal"]\nfees = 1\n', r"site's .*services\.id-card-renewal\.fees"),
        ('["household-certificate".steps.details.fields.colour]\noptions = []\n', "colour"),
    ],
)
def test_mistakes_in_the_site_file_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises((CatalogueError, ConfigError), match=named):
        Catalogue.load(site=site_file(tmp_path, text))


def test_a_replaced_list_is_still_checked(tmp_path: Path) -> None:
    one = site_file(
        tmp_path,
        '["household-certificate".steps.details.fields.purpose]\noptions = [{ value = "kinship", zh = "亲属", en = "Kin" }]\n',
    )
    with pytest.raises(CatalogueError, match="at least two options"):
        Catalogue.load(site=one)
