"""Synthetic documents for previews, docs and tests (fake people, fake region code 990000)."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from contract.certificates import CertificateClaims, key_id_of, sign_certificate
from kiosk.config.model import KioskConfig
from kiosk.documents import templates
from kiosk.documents.model import Document
from kiosk.visit.privacy import mask_name

SAMPLE_REQUEST_ID = "0190f2c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e"
SAMPLE_TIME = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
SAMPLE_NAME = "张三丰"
SAMPLE_ID_NUMBER = "990000199001010017"  # region 990000 does not exist; check digit valid


def sample_key() -> Ed25519PrivateKey:
    """A fixed demo backend certificate key (seed 0x00..0x1f), so sample certificates are
    reproducible. Public knowledge: never a real backend's key."""
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def sample_certificate_text(data: templates.CertificateData, key: Ed25519PrivateKey | None = None) -> str:
    """What a backend would sign for ``data`` (the sample photo's digest stands in for a live one)."""
    key = key or sample_key()
    claims = CertificateClaims(
        key_id=key_id_of(key.public_key()), request_id=data.request_id, kiosk_id=data.kiosk_id,
        issued_at=int(data.issued_at.timestamp()), valid_until=data.valid_to, id_number=data.id_number,
        name=data.name, photo_sha256="0" * 64,
    )  # fmt: skip
    return sign_certificate(claims, key)


def sample_photo() -> Image.Image:
    """A 358x441 stand-in portrait (grey head and shoulders on white): no real face."""
    photo = Image.new("RGB", (358, 441), "white")
    draw = ImageDraw.Draw(photo)
    draw.ellipse((104, 60, 254, 250), fill=(150, 150, 150))
    draw.ellipse((30, 260, 328, 560), fill=(120, 120, 120))
    return photo


def sample_certificate_data(
    kiosk_id: str = "KIOSK-DEV-0001", station: str = "示例派出所"
) -> templates.CertificateData:
    return templates.CertificateData(
        request_id=SAMPLE_REQUEST_ID,
        kiosk_id=kiosk_id,
        station=station,
        issued_at=SAMPLE_TIME,
        valid_from="2026-11-28",
        valid_to="2026-12-28",
        name=SAMPLE_NAME,
        sex="男",
        nation="汉",
        birth_date="1990-01-01",
        address="示例省示例市示例区测试路1号",
        id_number=SAMPLE_ID_NUMBER,
        photo=sample_photo(),
    )


def sample_document(name: str, config: KioskConfig) -> Document:
    """``receipt``, ``payment-receipt``, ``certificate`` (signed with the demo key) or ``test-page``."""
    kiosk = config.kiosk
    if name == "receipt":
        return templates.request_receipt(
            templates.ReceiptData(
                request_id=SAMPLE_REQUEST_ID,
                service_zh="户籍证明",
                service_en="Household registration certificate",
                masked_name=mask_name(SAMPLE_NAME),
                kiosk_id=kiosk.id,
                station=kiosk.station_zh,
                created_at=SAMPLE_TIME,
                next_steps_zh="三个工作日内短信通知领取。",
                next_steps_en="You will get a text message within 3 working days.",
                status_url=kiosk.status_base_url + SAMPLE_REQUEST_ID,
            )
        )
    if name == "payment-receipt":
        return templates.payment_receipt(
            templates.PaymentData(
                request_id=SAMPLE_REQUEST_ID,
                service_zh="补领驾驶证",
                service_en="Driving licence replacement",
                masked_name=mask_name(SAMPLE_NAME),
                kiosk_id=kiosk.id,
                station=kiosk.station_zh,
                paid_at=SAMPLE_TIME,
                fee_cents=1000,
                method="微信支付 WeChat Pay",
                transaction_id="TEST-0000000001",
            )
        )
    if name == "certificate":
        data = sample_certificate_data(kiosk.id, kiosk.station_zh)
        return templates.temp_id_certificate(data, sample_certificate_text(data))
    if name == "test-page":
        return templates.test_page(kiosk.id, "正常 ready", kiosk.status_base_url)
    raise ValueError(f"unknown document {name!r}")
