"""The receipt (comprovante) of a confirmed payment: JSON, printable HTML (Jinja2) and PDF (fpdf2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
from fpdf import FPDF

from payments.domain.charges import SETTLED, Charge
from payments.domain.errors import Conflict
from payments.domain.money import fmt


@dataclass(frozen=True)
class Receipt:
    number: str
    payment_id: str
    clinic: str
    patient: str | None
    description: str
    amount: str
    amount_before_discount: str
    currency: str
    method: str | None
    provider: str
    provider_payment_id: str
    paid_at: datetime
    refunded: str
    late: bool
    issued_at: datetime


def receipt_of(charge: Charge, clinic: str, now: datetime) -> Receipt:
    if charge.status not in SETTLED or charge.paid_at is None or charge.provider_payment_id is None:
        raise Conflict(f"A receipt exists once the payment is confirmed; this one is {charge.status}.", field="status")
    return Receipt(
        number=charge.id.replace("-", "")[-12:].upper(),
        payment_id=charge.id,
        clinic=clinic,
        patient=charge.person_name,
        description=charge.description,
        amount=fmt(charge.paid_amount if charge.paid_amount is not None else charge.amount),
        amount_before_discount=fmt(charge.amount_before_discount),
        currency=charge.currency,
        method=charge.method,
        provider=charge.provider,
        provider_payment_id=charge.provider_payment_id,
        paid_at=charge.paid_at,
        refunded=fmt(charge.refunded_amount),
        late=charge.late,
        issued_at=now,
    )


_METHODS = {"pix": "PIX", "credit": "Cartão de crédito", "debit": "Cartão de débito"}

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Comprovante {{ r.number }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;color:#222}
table{width:100%;border-collapse:collapse}td{padding:.4rem;border-bottom:1px solid #ddd}
td:first-child{color:#666;width:40%}.total{font-size:1.4rem;font-weight:bold}
@media print{button{display:none}}</style></head>
<body><h1>Comprovante de pagamento</h1><p>{{ r.clinic }}</p>
<table>
<tr><td>Número</td><td>{{ r.number }}</td></tr>
<tr><td>Paciente</td><td>{{ r.patient or "—" }}</td></tr>
<tr><td>Descrição</td><td>{{ r.description }}</td></tr>
{% if r.amount_before_discount != r.amount %}
<tr><td>Valor sem desconto</td><td>{{ r.currency }} {{ r.amount_before_discount }}</td></tr>{% endif %}
<tr><td>Valor pago</td><td class="total">{{ r.currency }} {{ r.amount }}</td></tr>
<tr><td>Forma de pagamento</td><td>{{ method }}</td></tr>
<tr><td>Pago em</td><td>{{ paid_at }}</td></tr>
<tr><td>Transação ({{ r.provider }})</td><td>{{ r.provider_payment_id }}</td></tr>
{% if r.refunded != "0.00" %}<tr><td>Estornado</td><td>{{ r.currency }} {{ r.refunded }}</td></tr>{% endif %}
</table>
<p><button onclick="window.print()">Imprimir</button></p></body></html>"""
)


def _local(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y %H:%M")


def html(receipt: Receipt, timezone: str) -> str:
    return _HTML.render(
        r=receipt,
        method=_METHODS.get(receipt.method or "", receipt.method or "—"),
        paid_at=_local(receipt.paid_at, timezone),
    )


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1; Portuguese and Spanish fit, other scripts degrade to '?'.
    return text.encode("latin-1", "replace").decode("latin-1")


def pdf(receipt: Receipt, timezone: str) -> bytes:
    doc = FPDF(format="A4")
    doc.set_title(f"Comprovante {receipt.number}")
    doc.add_page()
    doc.set_font("Helvetica", "B", 18)
    doc.cell(0, 12, _latin1("Comprovante de pagamento"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 12)
    doc.cell(0, 8, _latin1(receipt.clinic), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    rows = [
        ("Número", receipt.number),
        ("Paciente", receipt.patient or "-"),
        ("Descrição", receipt.description),
        ("Valor pago", f"{receipt.currency} {receipt.amount}"),
        ("Forma de pagamento", _METHODS.get(receipt.method or "", receipt.method or "-")),
        ("Pago em", _local(receipt.paid_at, timezone)),
        (f"Transação ({receipt.provider})", receipt.provider_payment_id),
    ]
    if receipt.amount_before_discount != receipt.amount:
        rows.insert(3, ("Valor sem desconto", f"{receipt.currency} {receipt.amount_before_discount}"))
    if receipt.refunded != "0.00":
        rows.append(("Estornado", f"{receipt.currency} {receipt.refunded}"))
    for label, value in rows:
        doc.set_font("Helvetica", "", 10)
        doc.cell(60, 8, _latin1(label))
        doc.set_font("Helvetica", "B", 11)
        doc.multi_cell(0, 8, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
