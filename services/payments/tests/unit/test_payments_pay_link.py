"""The Pay page's link: signed for one charge and for paying only, alive a week past the charge's expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from kit import links
from payments.domain.charges import Charge
from payments.domain.errors import LinkInvalid
from payments.services.patient import AFTER_EXPIRY, PAY, pay_url, verify_link

SECRET = "s" * 40
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def charge() -> Charge:
    return Charge(
        id="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        tenant_id="t1",
        status="pending",
        amount=Decimal("1080.00"),
        amount_before_discount=Decimal("1200.00"),
        currency="BRL",
        description="Botox",
        methods=("pix", "credit"),
        provider="mercadopago",
        expires_at=NOW + timedelta(hours=24),
        created_by="u1",
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_pay_url_names_the_charge_and_only_opens_the_pay_page() -> None:
    url = pay_url(SECRET, "https://clinic.example/", charge(), NOW)
    assert url is not None
    assert url.startswith("https://clinic.example/public/payments/pay?token=")
    token = parse_qs(urlparse(url).query)["token"][0]
    link = links.verify(SECRET, token, purpose=PAY)
    assert (link.subject, link.tenant_id) == (charge().id, "t1")
    assert link.expires_at >= int((charge().expires_at + AFTER_EXPIRY).timestamp()) - 5
    with pytest.raises(links.LinkError):
        links.verify(SECRET, token, purpose="book")  # a pay link can never open a booking


def test_a_booking_link_or_a_forged_one_does_not_open_the_pay_page() -> None:
    book = links.mint(SECRET, purpose="book", subject="x", tenant_id="t1", ttl_seconds=60)
    with pytest.raises(LinkInvalid) as refused:
        verify_link(SECRET, book)
    assert refused.value.field == "token"
    with pytest.raises(LinkInvalid):
        verify_link(SECRET, "not-a-token")
    with pytest.raises(LinkInvalid):
        verify_link(SECRET, links.mint("o" * 40, purpose=PAY, subject="x", tenant_id="t1", ttl_seconds=60))


def test_no_link_without_a_secret() -> None:
    assert pay_url("", "https://clinic.example", charge(), NOW) is None
