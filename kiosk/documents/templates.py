"""Templates: plain dataclasses in, :class:`Document` out. Names arrive already masked where the
document is a receipt; only the A4 certificate carries the holder's full data, and its QR is the
text the backend signed (:mod:`contract.certificates`): the kiosk holds no key that could make one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PIL import Image as PILImage

from contract.ids import group_number
from kiosk.documents.model import Document, Image, QrCode, Rule, Space, Text


@dataclass(frozen=True)
class ReceiptData:
    request_id: str
    service_zh: str
    service_en: str
    masked_name: str
    kiosk_id: str
    station: str
    created_at: datetime
    next_steps_zh: str
    next_steps_en: str
    status_url: str  # opens this request's status page (https)
    number: str = ""  # the acceptance number (受理号), 12 digits: the one number the resident keeps


@dataclass(frozen=True)
class PaymentData:
    request_id: str
    service_zh: str
    service_en: str
    masked_name: str
    kiosk_id: str
    station: str
    paid_at: datetime
    fee_cents: int
    method: str  # e.g. 微信支付 / WeChat Pay
    transaction_id: str
    number: str = ""  # the acceptance number (受理号)
    fiscal_receipt_no: str = ""  # 财政电子票据号 from the payment provider
    decision_nos: tuple[str, ...] = ()  # 决定书编号 of the fines paid
    late_fee_cents: int = 0  # 加处罚款 (included in fee_cents), printed on its own line


@dataclass(frozen=True)
class CertificateData:
    request_id: str
    kiosk_id: str
    station: str
    issued_at: datetime
    valid_from: str  # YYYY-MM-DD
    valid_to: str
    name: str
    sex: str
    nation: str
    birth_date: str
    address: str
    id_number: str
    photo: PILImage.Image | None = None
    number: str = ""  # the acceptance number (受理号)

    def holder(self) -> dict[str, str]:
        """The holder's fields as printed."""
        return {
            "name": self.name,
            "sex": self.sex,
            "nation": self.nation,
            "birth_date": self.birth_date,
            "address": self.address,
            "id_number": self.id_number,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _number(number: str, size: int = 2) -> list[Text]:
    """The acceptance number as the resident keeps it: named 受理号, large, grouped in fours. The
    request id (a UUID) is never printed: it is only inside the status QR code."""
    if not number:
        return []
    return [Text("受理号 Acceptance number:"), Text(group_number(number), size=size, bold=True)]


def _yuan(cents: int) -> str:
    return f"￥{cents // 100}.{cents % 100:02d}"  # full-width yuan sign: the printers' GB18030 has it


def request_receipt(data: ReceiptData) -> Document:
    return Document("receipt", "request receipt").add(
        Text("业务受理回执", size=2, bold=True, align="center"),
        Text("Request receipt", align="center"),
        Rule(),
        Text(f"业务 {data.service_zh}"),
        Text(f"     {data.service_en}"),
        Text(f"姓名 Name: {data.masked_name}"),
        # what the kiosk's status look-up takes on its digit pad (kiosk/steps/status.py)
        *_number(data.number),
        Text(f"时间 Time: {_when(data.created_at)}"),
        Text(f"终端 Kiosk: {data.kiosk_id}  {data.station}"),
        Rule(),
        Text("后续 What happens next:", bold=True),
        Text(data.next_steps_zh),
        Text(data.next_steps_en),
        Space(),
        QrCode(data.status_url, caption="扫码查询办理进度 Scan for status"),
    )


def payment_receipt(data: PaymentData) -> Document:
    return Document("receipt", "payment receipt").add(
        Text("缴费凭证", size=2, bold=True, align="center"),
        Text("Payment receipt", align="center"),
        Rule(),
        Text(f"业务 {data.service_zh} / {data.service_en}"),
        Text(f"姓名 Name: {data.masked_name}"),
        *_number(data.number),
        *[Text(f"决定书编号 Decision: {n}") for n in data.decision_nos],
        Text(f"金额 Amount: {_yuan(data.fee_cents)}", size=2, bold=True),
        *([Text(f"其中滞纳金 Late fee: {_yuan(data.late_fee_cents)}")] if data.late_fee_cents else []),
        Text(f"方式 Method: {data.method}"),
        Text(f"交易号 Transaction: {data.transaction_id}"),
        *(
            [Text("财政电子票据号 Fiscal e-receipt no.:"), Text(data.fiscal_receipt_no, bold=True)]
            if data.fiscal_receipt_no  # on its own line: 18 digits are never cut at the paper's edge
            else []
        ),
        Text(f"时间 Time: {_when(data.paid_at)}"),
        Text(f"终端 Kiosk: {data.kiosk_id}  {data.station}"),
        Rule(),
    )


def temp_id_certificate(data: CertificateData, qr_text: str) -> Document:
    """The A4 temporary identity certificate; ``qr_text`` is the backend's signed certificate
    (name, ID number, validity and request number in ``data`` come from its claims)."""
    doc = Document("a4", "temporary identity certificate").add(
        Text("临时身份证明", size=3, bold=True, align="center"),
        Text("Temporary Identity Certificate", size=1, align="center"),
        Space(),
    )
    if data.photo is not None:
        doc.add(Image(data.photo, width_mm=26))
    doc.add(
        Text(f"姓名 Name: {data.name}", size=2),
        Text(f"性别 Sex: {data.sex}    民族 Nation: {data.nation}", size=2),
        Text(f"出生 Born: {data.birth_date}", size=2),
        Text(f"住址 Address: {data.address}", size=2),
        Text(f"公民身份号码 ID number: {data.id_number}", size=2),
        Rule(),
        Text(f"有效期 Valid: {data.valid_from} 至 {data.valid_to}", size=2),
        Text(f"签发单位 Issued by: {data.station}", size=2),
        *_number(data.number, size=1),
        Space(),
        QrCode(qr_text, module=5, ec="M"),
        Text("扫码核验 kiosk-tech verify-qr", align="right"),
    )
    return doc


def test_page(kiosk_id: str, status_text: str, status_base_url: str) -> Document:
    return Document("receipt", "test page").add(
        Text("打印测试", size=2, bold=True, align="center"),
        Text("Printer test", align="center"),
        Rule(),
        Text(f"终端 Kiosk: {kiosk_id}"),
        Text(f"状态 Status: {status_text}"),
        Text("中文 GB18030: 测试 ，。！？《》￥"),
        QrCode(status_base_url, caption=status_base_url),
    )
