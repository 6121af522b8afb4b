"""A site overrides fees, windows and lists of the packaged catalogue (kiosk/services/site_overrides.py)
without copying it: tables merge by service, step and field id; unknown ids are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import CatalogueError
from kiosk.services.catalogue import Catalogue
from kiosk.services.site_overrides import find_overrides
from kiosk.steps.licence import LicenceRules

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "config" / "services.toml"


def _site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_site_changes_a_fee_a_window_and_a_list(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        """
["plate-reissue"]
fee_fen = 12000
["plate-reissue".steps.owner.rules]
temporary_plate_fen = 0
["plate-reissue".steps.fitting.fields.fitting_point]
options = [{ value = "north", zh = "北区安装点", en = "North fitting point" },
           { value = "south", zh = "南区安装点", en = "South fitting point" }]
["driving-licence-renewal".steps.licence.rules]
window_days = 60
""",
    )
    catalogue = Catalogue.load(PACKAGED, site=site)
    plate = catalogue["plate-reissue"]
    assert plate.fee_fen == 12000
    owner = next(s for s in plate.steps if s.id == "owner")
    assert owner.rules["temporary_plate_fen"] == 0
    assert owner.rules["plate_fees_fen"]["trailer"] == 5000  # the rest of the table is kept
    fitting = next(s for s in plate.steps if s.id == "fitting")
    assert [o.value for o in fitting.fields[0].options] == ["north", "south"]
    licence = next(s for s in catalogue["driving-licence-renewal"].steps if s.id == "licence")
    rules = LicenceRules.of(licence.rules)
    assert (rules.window_days, rules.elderly_age) == (60, 70)
    assert Catalogue.load(PACKAGED)["plate-reissue"].fee_fen == 10000  # the packaged file is untouched


def test_unknown_ids_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="'no-such-service'"):
        Catalogue.load(PACKAGED, site=_site(tmp_path, '["no-such-service"]\nfee_fen = 1\n'))
    with pytest.raises(CatalogueError, match="'nosuchstep'"):
        Catalogue.load(PACKAGED, site=_site(tmp_path, '["plate-reissue".steps.nosuchstep]\nkind = "form"\n'))


def test_an_override_that_breaks_the_catalogue_is_refused(tmp_path: Path) -> None:
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError):
        Catalogue.load(PACKAGED, site=_site(tmp_path, '["plate-reissue"]\nfee_fen = -5\n'))


def test_the_override_file_sits_beside_the_site_config_or_is_named(tmp_path: Path) -> None:
    site_config = tmp_path / "kiosk.toml"
    assert find_overrides(str(site_config), environ={}) is None
    _site(tmp_path, "")
    assert find_overrides(str(site_config), environ={}) == tmp_path / "services.toml"
    assert find_overrides("", environ={"KIOSK_SERVICES": "/x/s.toml"}) == Path("/x/s.toml")
