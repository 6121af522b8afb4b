"""Which documents a print step produces, built from the session (no Kivy, no device).

``request_receipt``: every submitted request (number, masked name, status QR). ``payment_receipt``:
after a payment. ``photo_receipt``: the ID photo's receipt code. ``temp_id_certificate``: the A4
certificate with photo and signed QR, stating the identity the backend verified.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from kiosk.config.model import KioskConfig
from kiosk.documents.model import Document
from kiosk.documents.templates import (
    CertificateData,
    PaymentData,
    ReceiptData,
    payment_receipt,
    request_receipt,
    temp_id_certificate,
)
from kiosk.services.catalogue import Service, Step
from kiosk.visit.privacy import mask_name
from kiosk.visit.session import Session

CERTIFICATE_DAYS = 30
NEXT_STEPS = {
    "household": (
        "民警将在3个工作日内审核，请扫码查询进度。",
        "An officer reviews it within 3 working days; scan to track it.",
    ),
    "vehicle": (
        "请扫码查询办理进度，领取时请携带身份证。",
        "Scan to track the request; bring your ID card to collect.",
    ),
    "photo": (
        "办理证件时出示本回执编号即可引用此照片。",
        "Quote this receipt code when you apply for a document.",
    ),
}


@dataclass(frozen=True)
class PrintJob:
    name: str
    target: str  # "printer" (receipt) | "a4_printer"
    document: Document


def _holder(session: Session) -> dict[str, str]:
    card = session.identity
    if card is not None:
        return {
            "name": card.name or getattr(card, "name_en", ""),
            "sex": getattr(card, "sex", ""),
            "nation": getattr(card, "nation", ""),
            "birth_date": str(getattr(card, "birth_date", "")),
            "address": getattr(card, "address", ""),
            "id_number": card.id_number,
        }
    number = str(session.values.get("id_number", ""))
    verified = (session.artifacts.get("verification") or {}).get("holder", {})
    birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}" if len(number) == 18 else ""
    sex = ("男" if int(number[16]) % 2 else "女") if len(number) == 18 and number[16].isdigit() else ""
    return {
        "name": verified.get("name", ""),
        "sex": sex,
        "nation": verified.get("nation", ""),
        "birth_date": birth,
        "address": verified.get("address", ""),
        "id_number": number,
    }


def build_jobs(
    step: Step, service: Service, session: Session, config: KioskConfig, now: dt.datetime
) -> list[PrintJob]:
    submitted = session.artifacts.get("submitted")
    request_id = getattr(submitted, "request_id", "") or ""
    number = getattr(submitted, "number", "") or ""  # the acceptance number (受理号)
    status_url = config.kiosk.status_base_url + request_id
    station = config.kiosk.station_zh or config.kiosk.station_en
    holder = _holder(session)
    masked = mask_name(holder["name"]) if holder["name"] else ""
    jobs = []
    for name in step.documents:
        if name in ("request_receipt", "photo_receipt"):
            zh, en = NEXT_STEPS[service.category]
            photo = session.artifacts.get("photo") or {}
            if name == "photo_receipt" and photo.get("photo_code"):
                zh = f"数码照片回执编号：{photo['photo_code']}。{zh}"
                en = f"Photo receipt code: {photo['photo_code']}. {en}"
            data = ReceiptData(
                request_id,
                service.title.zh,
                service.title.en,
                masked,
                config.kiosk.id,
                station,
                now,
                zh,
                en,
                status_url,
                number=number,
            )
            jobs.append(PrintJob(name, "printer", request_receipt(data)))
        elif name == "payment_receipt":
            payment = session.artifacts.get("payment")
            if payment is None:
                continue  # nothing was paid (a free service, or fines of 0)
            paid = PaymentData(
                request_id, service.title.zh, service.title.en, masked, config.kiosk.id, station, now,
                int(payment["amount_fen"]), "扫码支付 QR payment", str(payment["payment_id"]), number=number,
            )  # fmt: skip
            jobs.append(PrintJob(name, "printer", payment_receipt(paid)))
        elif name == "temp_id_certificate":
            jobs.append(
                PrintJob(
                    name,
                    "a4_printer",
                    _certificate(session, config, holder, (request_id, number), station, now),
                )
            )
        else:
            raise ValueError(f"unknown document {name!r}")
    return jobs


def _certificate(
    session: Session,
    config: KioskConfig,
    holder: dict[str, str],
    ids: tuple[str, str],
    station: str,
    now: dt.datetime,
) -> Document:
    from PIL import Image

    from kiosk.documents import signed_qr

    key = signed_qr.kiosk_private_key(config)  # the enrolled key (backend.signing_key_file), or a demo key
    photo: Any = Image.open(io.BytesIO(session.photo_jpeg)) if session.photo_jpeg else None
    until = (now + dt.timedelta(days=CERTIFICATE_DAYS)).date().isoformat()
    request_id, number = ids  # the signed QR carries the id; the paper shows the 受理号
    data = CertificateData(
        request_id, config.kiosk.id, station, now, now.date().isoformat(), until,
        holder["name"], holder["sex"], holder["nation"], holder["birth_date"], holder["address"],
        holder["id_number"], photo, number,
    )  # fmt: skip
    return temp_id_certificate(data, key)
