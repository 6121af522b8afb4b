"""Which documents a print step produces, built from the session (no Kivy, no device).

``request_receipt``: every submitted request (number, masked name, status QR). ``payment_receipt``:
after a payment. ``photo_receipt``: the ID photo's receipt code. ``temp_id_certificate``: the A4
certificate with photo and the QR the backend signed, stating the identity the backend verified:
its name, ID number, validity and request number are the signed claims
(``artifacts["verification"]["certificate"]``, :mod:`contract.certificates`); without them no
certificate is printed (the kiosk cannot make one).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from typing import Any

from contract.certificates import CertificateClaims, read_claims
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

log = logging.getLogger(__name__)
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
            fines = session.artifacts.get("violations") or {}
            method = "付款码 Payment code" if payment.get("method") == "code" else "扫码支付 QR payment"
            paid = PaymentData(
                request_id, service.title.zh, service.title.en, masked, config.kiosk.id, station, now,
                int(payment["amount_fen"]), method, str(payment["payment_id"]), number=number,
                fiscal_receipt_no=str(payment.get("fiscal_receipt_no") or ""),
                decision_nos=tuple(n for n in fines.get("decision_nos", ()) if n),
                late_fee_cents=int(fines.get("late_fee_fen", 0) or 0),
            )  # fmt: skip
            jobs.append(PrintJob(name, "printer", payment_receipt(paid)))
        elif name == "temp_id_certificate":
            document = _certificate(session, holder, (request_id, number), station)
            if document is not None:
                jobs.append(PrintJob(name, "a4_printer", document))
        else:
            raise ValueError(f"unknown document {name!r}")
    return jobs


def backend_certificate(session: Session) -> tuple[str, CertificateClaims] | None:
    """The certificate the backend signed for this visit (QR text and its claims), or None."""
    verification = session.artifacts.get("verification") or {}
    certificate = verification.get("certificate") if isinstance(verification, dict) else None
    text = certificate.get("qr_text") if isinstance(certificate, dict) else None
    if not isinstance(text, str):
        return None
    try:
        return text, read_claims(text)
    except ValueError:
        return None


def _certificate(
    session: Session, holder: dict[str, str], ids: tuple[str, str], station: str
) -> Document | None:
    """``ids``: the visit's request id and its acceptance number (受理号, printed on the paper)."""
    request_id, acceptance = ids
    from PIL import Image

    signed = backend_certificate(session)
    if signed is None:  # never a certificate the backend did not sign
        log.error("no backend-signed certificate for this visit: the certificate is not printed")
        return None
    text, claims = signed
    if request_id and claims.request_id != request_id:
        log.warning(
            "the signed certificate names request %s, the visit submitted %s", claims.request_id, request_id
        )
    photo: Any = Image.open(io.BytesIO(session.photo_jpeg)) if session.photo_jpeg else None
    issued = claims.issued_datetime()
    number = claims.id_number
    birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}" if len(number) == 18 else holder["birth_date"]
    sex = (
        ("男" if int(number[16]) % 2 else "女")
        if len(number) == 18 and number[16].isdigit()
        else holder["sex"]
    )
    data = CertificateData(
        claims.request_id, claims.kiosk_id, station, issued, issued.astimezone().date().isoformat(),
        claims.valid_until, claims.name, sex, holder["nation"], birth, holder["address"], number, photo,
        acceptance,
    )  # fmt: skip
    return temp_id_certificate(data, text)
