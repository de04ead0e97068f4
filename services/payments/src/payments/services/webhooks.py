"""A provider's webhook: verify the raw body (nothing stored on failure), confirm with the provider's API where
it expects it, then in one transaction store the delivery by its event id and apply the transition.

Exactly once: a redelivered event id hits the receipt's primary key and does nothing; two different deliveries
about one payment queue on the charge's row lock, and the second finds it already paid.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from kit import webhooks
from kit.db import retrying
from payments.clock import Clock
from payments.domain.errors import ProviderUnavailable
from payments.providers.base import PaymentReport, ProviderError, SignatureInvalid, WebhookEvent
from payments.services.accounts import ProviderBook, check_provider
from payments.services.charges import apply_report
from payments.services.work import PaymentsWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handled:
    outcome: str  # confirmed, failed, no-change, duplicate, ignored, unknown-payment
    event_id: str


def _clinic(query: Mapping[str, str]) -> str:
    clinic = query.get("clinic", "")
    try:
        return str(UUID(clinic))
    except ValueError as exc:
        # Without the clinic we cannot know whose secret signs it: refuse like a bad signature, store nothing.
        raise SignatureInvalid("The webhook URL lacks its ?clinic=<id>.", field="clinic") from exc


def _uuid(value: str | None) -> str | None:
    try:
        return str(UUID(value)) if value else None
    except ValueError:
        return None


async def _seen(uow_factory: PaymentsWorkFactory, tenant: str, provider: str, event_id: str) -> bool:
    async with uow_factory() as uow:
        return await uow.webhooks.seen(provider, tenant, event_id)


async def receive(
    uow_factory: PaymentsWorkFactory,
    book: ProviderBook,
    clock: Clock,
    *,
    provider_name: str,
    delivery: webhooks.Delivery,
    query: Mapping[str, str],
) -> Handled:
    check_provider(provider_name)
    tenant = _clinic(query)
    account = await book.account(uow_factory, tenant)
    if account.provider != provider_name:
        raise SignatureInvalid(f"This clinic does not take payments through {provider_name}.", field="provider")
    adapter = book.adapter(account)
    event = adapter.verify_webhook(delivery.body, delivery.headers, query)
    report: PaymentReport | None = event.report
    if report is None and event.provider_payment_id:
        # A provider's retry carries the event id it had: answered without asking the provider again. A new
        # notification about a paid charge is asked about, since it may say the money went back (a refund or
        # chargeback made in the provider's dashboard).
        if await _seen(uow_factory, tenant, provider_name, event.event_id):
            return Handled("duplicate", event.event_id)
        try:
            report = await adapter.fetch_payment(event.provider_payment_id)
        except ProviderError as exc:
            # Not stored: the provider retries the delivery and we ask again then.
            log.warning("confirming %s payment %s failed: %s", provider_name, event.provider_payment_id, exc)
            raise ProviderUnavailable("The provider did not confirm the payment; deliver again later.") from exc
    # PostgreSQL may roll the transaction back as a deadlock's victim (two deliveries about one charge at once):
    # it is run again (kit.db.retrying), so the provider never sees a 500 for it.
    return await retrying(
        lambda: _apply_delivery(uow_factory, book, clock, provider_name, tenant, delivery, event, report)
    )


async def _apply_delivery(
    uow_factory: PaymentsWorkFactory,
    book: ProviderBook,
    clock: Clock,
    provider_name: str,
    tenant: str,
    delivery: webhooks.Delivery,
    event: WebhookEvent,
    report: PaymentReport | None,
) -> Handled:
    async with uow_factory() as uow:
        # The receipt and the effect commit together: a retry after a failure is processed again.
        repo = uow.charges
        charge = None
        charge_id = _uuid(report.charge_id or event.charge_id) if report is not None else None
        if charge_id:
            # The usual case, in one round trip: the receipt stored and the charge locked together.
            receipt = webhooks.receipt_values(delivery, provider=provider_name, scope=tenant, event_id=event.event_id)
            charge, fresh = await repo.lock_with_receipt(tenant, charge_id, receipt)
        else:
            fresh = await uow.webhooks.record(delivery, provider=provider_name, scope=tenant, event_id=event.event_id)
        if not fresh:
            return Handled("duplicate", event.event_id)
        if report is None:
            await uow.commit()
            return Handled("ignored", event.event_id)
        if charge is None:
            found = await repo.by_provider_payment(tenant, provider_name, report.provider_payment_id)
            charge = await repo.get(tenant, found.id, lock=True) if found else None
        if charge is None:
            log.warning("%s webhook %s names no charge of clinic %s", provider_name, event.event_id, tenant)
            await uow.commit()
            return Handled("unknown-payment", event.event_id)
        outcome = await apply_report(uow, charge, report, clock.now(), book.settings.public_url)
        await uow.commit()
    return Handled(outcome, event.event_id)
