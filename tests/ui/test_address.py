"""The address step under Xvfb: the card's address, the region lists, the house-number keypad."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from contract.schemas import load_schema
from kiosk.services.flow import Flow
from kiosk.services.payloads import build_payload

pytestmark = pytest.mark.ui

CARD = SimpleNamespace(
    name="张三", name_en="", id_number="990000199001010017", sex="男", nation="汉",
    birth_date="1990-01-01", address="北京市东城区东华门大街1号", card_type="resident",
)  # fmt: skip


def to_address_step(kiosk: Any, *, card: Any = None) -> Any:
    """Start id-card-renewal and answer everything before the address as a resident would have."""
    app = kiosk.app
    app.begin()
    app.flow = Flow(app.catalogue["id-card-renewal"], app.session)
    flow = app.flow
    flow.complete()  # consent
    if card is not None:
        flow.complete({"kind": "renewal", "reason": "expired"})
        app.session.identity = card
        flow.complete()  # the card step
    else:
        flow.complete({"kind": "replacement", "reason": "lost"})
        flow.complete({"id_number": "990000199001010017"})
    flow.complete()  # the face check (tested in test_face_check.py)
    flow.complete(results={"applicant_minor": "no"})  # who may apply (tests/unit/test_household_rules.py)
    flow.complete()  # photo (the photo step is tested elsewhere)
    flow.complete(results={"fingerprints": {"status": "at_pickup", "reason": "no_collector"}})
    flow.complete({"delivery": "mail", "phone": "13800138000"})
    assert flow.step.kind == "address"
    app.show_route()
    kiosk.frames(2)
    return app.screen("step").widget


@pytest.fixture
def site_region(kiosk: Any) -> Iterator[Any]:
    """Set the terminal's own area (kiosk.region_code) for one test."""
    runtime = kiosk.app.runtime
    original = runtime.config

    def set_code(code: str) -> None:
        kiosk_section = original.kiosk.model_copy(update={"region_code": code})
        runtime.config = original.model_copy(update={"kiosk": kiosk_section})

    yield set_code
    runtime.config = original


def test_lists_then_house_number_then_masked_review(kiosk: Any) -> None:
    step = to_address_step(kiosk)
    texts = kiosk.visible_texts()
    assert step.mode == "pick" and "请选择省份" in texts and "北京市" in texts
    assert "寄到身份证上的地址" not in texts  # no card was read
    assert "新疆维吾\n尔自治区" not in texts  # the second page (a long name on two balanced lines)
    kiosk.tap("下一页")
    assert "新疆维吾\n尔自治区" in kiosk.visible_texts() and "北京市" not in kiosk.visible_texts()
    kiosk.tap("上一页")
    kiosk.tap("河北省", exact=True)
    assert "请选择城市" in kiosk.visible_texts()
    kiosk.tap("石家庄市", exact=True)
    assert "请选择区县" in kiosk.visible_texts()
    kiosk.tap("长安区", exact=True)
    assert "请选择街道或乡镇" in kiosk.visible_texts() and "建北街道" in kiosk.visible_texts()
    kiosk.tap("青园街道", exact=True)
    assert (
        "请选择社区或村" in kiosk.visible_texts() and "河北省石家庄市长安区青园街道" in kiosk.visible_texts()
    )
    kiosk.tap("东安社区", exact=True)  # 东安社区居民委员会, as written on an envelope
    assert step.mode == "detail" and "河北省石家庄市长安区青园街道东安社区" in kiosk.visible_texts()
    kiosk.tap("下一步")
    assert "请输入门牌号" in kiosk.visible_texts()  # nothing typed yet
    for key in ("5", "号楼", "3", "0", "1", "室"):
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    assert kiosk.screen == "review"
    values = kiosk.app.session.values
    assert values["mail_address"] == "河北省石家庄市长安区青园街道东安社区5号楼301室"
    assert values["mail_region"] == "130102"
    shown = " ".join(kiosk.visible_texts())
    assert (
        "河北省石家庄市长安区青园街道东安社区*****" in shown and "301" not in shown
    )  # the house number is masked
    service = kiosk.app.flow.service
    kiosk.app.session.artifacts["payment"] = {"payment_id": "P-test"}
    payload = build_payload(service, kiosk.app.session)
    import fastjsonschema

    fastjsonschema.compile(load_schema(service.request_type, service.request_version))(payload)


def test_card_address_with_one_touch(kiosk: Any) -> None:
    step = to_address_step(kiosk, card=CARD)
    assert step.mode == "choose"
    assert CARD.address in kiosk.visible_texts()  # in full, for the resident to confirm
    kiosk.tap("寄到身份证上的地址")
    assert kiosk.screen == "review"
    assert kiosk.app.session.values["mail_address"] == CARD.address


def test_back_climbs_the_lists_then_leaves_the_step(kiosk: Any) -> None:
    step = to_address_step(kiosk, card=CARD)
    kiosk.tap("寄到其他地址")
    kiosk.tap("下一页")  # 重庆 is on the second page of provinces
    kiosk.tap("重庆市", exact=True)
    assert step.regions.children(step.parent_code)[0].name == "重庆市"  # one city, not 市辖区 and 县
    kiosk.tap("重庆市", exact=True)
    assert "渝中区" in kiosk.visible_texts() and step.pages == 2  # 38 districts and counties
    kiosk.tap("下一页")
    assert "巫山县" in kiosk.visible_texts()
    kiosk.tap("返回", exact=True)
    assert "请选择城市" in kiosk.visible_texts()
    kiosk.tap("返回", exact=True)
    assert step.mode == "pick" and "请选择省份" in kiosk.visible_texts()
    kiosk.tap("返回", exact=True)
    assert step.mode == "choose"
    kiosk.tap("返回", exact=True)
    assert kiosk.app.flow.step.id == "delivery"


def test_site_region_opens_the_lists_at_the_terminal_city(kiosk: Any, site_region: Any) -> None:
    site_region("130102")
    step = to_address_step(kiosk)
    assert "长安区" in kiosk.visible_texts() and "请选择区县" in kiosk.visible_texts()
    kiosk.tap("重新选择地区")
    assert step.parent_code == "" and "北京市" in kiosk.visible_texts()
    kiosk.app.toggle_language()
    try:
        assert "Choose the province" in kiosk.visible_texts()
    finally:
        kiosk.app.toggle_language()


def test_a_county_without_village_list_goes_from_street_to_house_number(kiosk: Any) -> None:
    step = to_address_step(kiosk)
    for name in ("河北省", "石家庄市", "桥西区"):  # 桥西区: streets shipped, villages not
        kiosk.tap(name, exact=True)
    assert "请选择街道或乡镇" in kiosk.visible_texts()
    kiosk.tap(step.tile_text(step.choices()[0]), exact=True)
    assert step.mode == "detail" and step.trail and step.region_text.startswith("河北省石家庄市桥西区")
    kiosk.tap(kiosk.app.tr("app.back"), exact=True)
    assert step.local_level() and not step.trail  # back on the streets, not the counties
    kiosk.tap("列表里没有")
    assert step.mode == "detail" and step.region_text == "河北省石家庄市桥西区"
    for key in ("K", "座", "1", "2", "室"):  # the whole alphabet is on the keypad
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    assert kiosk.app.session.values["mail_address"] == "河北省石家庄市桥西区K座12室"
