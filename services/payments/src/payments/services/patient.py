"""The patient's Pay page behind a signed `pay` link: what the charge is, how it may be paid, and the outcome.

The link names one charge (its subject); it can open nothing else (kit.links: the purpose is the audience).
A paid, refunded, expired or cancelled charge says so and hands out no checkout, so a link never charges twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kit import links
from payments import pix
from payments.clock import Clock
from payments.domain import charges as rules
from payments.domain.charges import Charge
from payments.domain.errors import LinkInvalid, NotFound
from payments.domain.money import fmt
from payments.services.accounts import Account, ProviderBook
from payments.services.work import PaymentsWorkFactory

PAY = "pay"
#: A link keeps opening this long after the charge's expiry, so a patient who paid sees "paid", not an error.
AFTER_EXPIRY = timedelta(days=7)


def pay_url(secret: str, public_url: str, charge: Charge, now: datetime) -> str | None:
    """The patient's Pay page for this charge, or None where the deployment has no link secret."""
    if len(secret) < 32:
        return None
    ttl = max(int((charge.expires_at - now).total_seconds()), 0) + int(AFTER_EXPIRY.total_seconds())
    token = links.mint(secret, purpose=PAY, subject=charge.id, tenant_id=charge.tenant_id, ttl_seconds=ttl)
    return f"{public_url.rstrip('/')}/public/payments/pay?token={token}"


def verify_link(secret: str, token: str) -> links.PatientLink:
    try:
        return links.verify(secret, token, purpose=PAY)
    except (links.LinkError, ValueError) as exc:
        raise LinkInvalid(str(exc).capitalize() + ".", field="token") from exc


def pix_code(charge: Charge, account: Account) -> str | None:
    """The provider's code, else a BR Code from the clinic's PIX key; None when PIX is not offered here."""
    if "pix" not in charge.methods:
        return None
    code = charge.pix_code
    if code is None and account.pix_key and charge.currency == "BRL":
        code = pix.build(
            key=account.pix_key,
            merchant_name=account.merchant_name,
            merchant_city=account.merchant_city,
            amount=charge.amount,
            txid=pix.txid_for(charge.id),
        )
    if code is not None:
        pix.parse(code)  # never hand out a code whose CRC or layout is broken
    return code


async def pay_page(
    uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, secret: str, token: str
) -> dict[str, Any]:
    link = verify_link(secret, token)
    async with uow() as unit:
        charge = await unit.charges.get(link.tenant_id, link.subject)
    if charge is None:
        raise NotFound("This payment no longer exists.", field="token")
    now = clock.now()
    payable = charge.status in rules.OPEN and charge.expires_at > now
    account = await book.account(uow, link.tenant_id)
    code = pix_code(charge, account) if payable else None
    return {
        "payment_id": charge.id,
        "status": charge.status if payable or charge.status not in rules.OPEN else rules.EXPIRED,
        "payable": payable,
        "description": charge.description,
        "amount": fmt(charge.amount),
        "amount_before_discount": fmt(charge.amount_before_discount),
        "currency": charge.currency,
        "methods": list(charge.methods),
        "expires_at": charge.expires_at.isoformat(),
        "paid_at": charge.paid_at.isoformat() if charge.paid_at else None,
        "method": charge.method,
        "failure_reason": charge.failure_reason,
        "merchant_name": account.merchant_name,
        "locale": charge.person_locale,
        "name": charge.person_name,
        # Only an open link hands over to the checkout: a paid one can never be charged again from here.
        "checkout_url": charge.checkout_url if payable else None,
        "pix": {"code": code, "svg": pix.qr_svg(code)} if code else None,
    }
