"""Receipts: JSON fields, printable HTML, and a real PDF document."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from payments import receipts
from payments.domain import charges as rules
from payments.domain.charges import Charge
from payments.domain.errors import Conflict

NOW = datetime(2026, 12, 1, 15, 4, tzinfo=UTC)
PAID = Charge(
    id="0193a0d0-2222-7b00-8c00-0000000000b2",
    tenant_id="t1",
    status=rules.PAID,
    amount=Decimal("315.00"),
    amount_before_discount=Decimal("350.00"),
    currency="BRL",
    description="Limpeza de pele <profunda>",
    methods=("pix",),
    provider="mercadopago",
    expires_at=NOW + timedelta(hours=1),
    created_by="u1",
    created_at=NOW,
    updated_at=NOW,
    person_name="Maria Souza",
    provider_payment_id="1234567890",
    method="pix",
    paid_amount=Decimal("315.00"),
    paid_at=NOW,
)


def test_receipt_fields() -> None:
    receipt = receipts.receipt_of(PAID, "Clínica Bela", NOW)
    assert (receipt.amount, receipt.amount_before_discount, receipt.method) == ("315.00", "350.00", "pix")
    assert receipt.number == "0000000000B2"


def test_no_receipt_before_the_money() -> None:
    with pytest.raises(Conflict):
        receipts.receipt_of(replace(PAID, status=rules.PENDING, paid_at=None), "Clínica", NOW)


def test_html_is_escaped_and_local_time() -> None:
    page = receipts.html(receipts.receipt_of(PAID, "Clínica Bela", NOW), "America/Sao_Paulo")
    assert "BRL 315.00" in page
    assert "&lt;profunda&gt;" in page
    assert "01/12/2026 12:04" in page  # 15:04 UTC in São Paulo


def test_pdf_is_a_pdf() -> None:
    document = receipts.pdf(receipts.receipt_of(PAID, "Clínica Bela", NOW), "America/Sao_Paulo")
    assert document.startswith(b"%PDF")
    assert document.rstrip().endswith(b"%%EOF")
    # A name outside Latin-1 degrades instead of failing.
    foreign = receipts.receipt_of(replace(PAID, person_name="Мария"), "Клиника", NOW)
    assert receipts.pdf(foreign, "UTC").startswith(b"%PDF")
