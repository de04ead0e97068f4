"""Charges: create (with Idempotency-Key, prices and discounts), read, cancel, refund, expire, and apply what
a provider reports (webhook or reconciliation) exactly once under a row lock."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from contracts.payments import (
    PaymentCancelledV1,
    PaymentConfirmedV1,
    PaymentExpiredV1,
    PaymentFailedV1,
    PaymentLinkCreatedV1,
    PaymentRefundedV1,
)
from contracts.people import Person
from kit import context
from kit.auth import Principal
from payments.clock import Clock
from payments.domain import charges as rules
from payments.domain.charges import DEFAULT_EXPIRY, SETTLED, Charge, NewCharge
from payments.domain.discounts import apply_best
from payments.domain.documents import clean_cpf
from payments.domain.errors import Conflict, InvalidInput, NotFound, ProviderUnavailable
from payments.domain.money import check_currency, fmt, parse_amount
from payments.providers.base import CheckoutRequest, PaymentReport, ProviderError
from payments.services.accounts import ProviderBook
from payments.services.patient import pay_url
from payments.services.work import PaymentsWork, PaymentsWorkFactory

log = logging.getLogger(__name__)


def person_of(charge: Charge) -> Person:
    return Person(
        lead_id=charge.lead_id,
        patient_id=charge.patient_id,
        name=charge.person_name,
        phone=charge.person_phone,
        email=charge.person_email,
        locale=charge.person_locale,
    )


def receipt_url(public_url: str, charge: Charge) -> str:
    return f"{public_url.rstrip('/')}/api/v1/payments/payments/{charge.id}/receipt"


def request_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _load(uow: PaymentsWork, tenant_id: str, charge_id: str, *, lock: bool = False) -> Charge:
    charge = await uow.charges.get(tenant_id, charge_id, lock=lock)
    if charge is None:
        raise NotFound("No such payment in this clinic.", field="payment_id")
    return charge


async def create_charge(
    uow_factory: PaymentsWorkFactory,
    book: ProviderBook,
    clock: Clock,
    principal: Principal,
    data: NewCharge,
    *,
    idempotency_key: str | None,
    body_hash: str,
) -> tuple[Charge, bool]:
    """Returns the charge and whether it was made now (False: the Idempotency-Key's earlier charge)."""
    tenant = principal.tenant_id
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters.", field="Idempotency-Key")
    if idempotency_key:
        async with uow_factory() as uow:
            seen = await uow.idempotency.get(tenant, idempotency_key)
            if seen is not None:
                return await _replay(uow, tenant, idempotency_key, seen, body_hash), False
    now = clock.now()
    if data.lead_id is None and data.patient_id is None:
        raise InvalidInput("Name the lead or the patient the charge is for.", field="person.lead_id")
    data = replace(data, cpf=clean_cpf(data.cpf))
    methods = tuple(rules.check_methods(list(data.methods)))
    expires_at = rules.check_expiry(data.expires_at, now) if data.expires_at else now + DEFAULT_EXPIRY
    account = await book.account(uow_factory, tenant)
    procedure_id = data.procedure_id
    appointment_id = data.appointment_id
    async with uow_factory() as uow:
        price = await uow.prices.get(tenant, procedure_id) if procedure_id else None
        if procedure_id and price is None:
            raise InvalidInput("Unknown procedure: give it a price first (PUT /prices/{id}).", field="procedure_id")
        discounts = await uow.discounts.all(tenant)
        if appointment_id:
            # A rescheduled appointment keeps its payment: never ask the patient to pay for it twice.
            for other in await uow.charges.for_appointment(tenant, appointment_id):
                if other.status in SETTLED or other.status in rules.OPEN:
                    raise Conflict(
                        f"This appointment already has a {other.status} payment.",
                        field="appointment_id",
                        existing_id=other.id,
                    )
    if data.amount is not None:
        base = parse_amount(data.amount)
    elif price is not None:
        base = price.amount
    else:
        raise InvalidInput("Give an amount or a procedure with a price.", field="amount")
    currency = check_currency(data.currency or (price.currency if price else account.currency))
    priced = apply_best(base, discounts, procedure_id, now.date())
    if priced.after <= 0:
        raise InvalidInput("After the discount nothing is left to pay.", field="amount")
    if account.provider == "asaas" and "pix" not in methods:
        raise InvalidInput("This clinic's provider (Asaas) takes PIX only.", field="methods")
    if account.provider == "asaas" and not data.cpf:
        # Asaas refuses a charge whose customer has no CPF/CNPJ; say so before calling it.
        raise InvalidInput("This clinic's provider (Asaas) needs the payer's CPF.", field="person.cpf")
    charge_id = context.new_id()
    provider = book.adapter(account)
    public = book.settings.public_url.rstrip("/")
    try:
        checkout = await provider.create_checkout(
            CheckoutRequest(
                charge_id=charge_id,
                amount=priced.after,
                currency=currency,
                description=data.description,
                methods=methods,
                expires_at=expires_at,
                notification_url=f"{public}/webhooks/payments/{account.provider}?clinic={tenant}",
                back_url=f"{public}/public/payments/{charge_id}/done",
                payer_name=data.name,
                payer_email=data.email,
                payer_phone=data.phone,
                payer_cpf=data.cpf,
            ),
            # The provider dedupes a retried create; the same key makes the same checkout.
            idempotency_key=f"{tenant}:{idempotency_key}" if idempotency_key else charge_id,
        )
    except ProviderError as exc:
        log.warning("creating a checkout at %s failed: %s", account.provider, exc)
        raise ProviderUnavailable(
            f"The payment provider ({account.provider}) did not create the link; try again."
        ) from exc
    charge = Charge(
        id=charge_id,
        tenant_id=tenant,
        status=rules.PENDING,
        amount=priced.after,
        amount_before_discount=priced.before,
        currency=currency,
        description=data.description,
        methods=methods,
        provider=account.provider,
        expires_at=expires_at,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        lead_id=data.lead_id,
        patient_id=data.patient_id,
        person_name=data.name,
        person_phone=data.phone,
        person_email=data.email,
        person_locale=data.locale,
        procedure_id=procedure_id,
        appointment_id=appointment_id,
        discount_id=priced.discount.id if priced.discount else None,
        provider_ref=checkout.provider_ref,
        checkout_url=checkout.url,
        pix_code=checkout.pix_code,
    )
    async with uow_factory() as uow:
        if idempotency_key and not await uow.idempotency.claim(tenant, idempotency_key, body_hash, charge_id, now):
            # A concurrent request with the same key won; answer with its charge.
            seen = await uow.idempotency.get(tenant, idempotency_key)
            assert seen is not None
            return await _replay(uow, tenant, idempotency_key, seen, body_hash), False
        await uow.charges.add(charge)
        uow.publish(
            PaymentLinkCreatedV1(
                payment_id=charge.id,
                person=person_of(charge),
                procedure_id=charge.procedure_id,
                appointment_id=charge.appointment_id,
                amount=fmt(charge.amount),
                amount_before_discount=fmt(charge.amount_before_discount),
                currency=charge.currency,
                description=charge.description,
                methods=list(charge.methods),
                provider=charge.provider,
                url=checkout.url,
                expires_at=charge.expires_at,
                created_by=charge.created_by,
                created_at=charge.created_at,
                pay_url=pay_url(book.settings.link_secret, book.settings.public_url, charge, now),
            ),
            tenant_id=tenant,
        )
        await uow.commit()
    return charge, True


async def _replay(uow: PaymentsWork, tenant: str, key: str, seen: tuple[str, str], body_hash: str) -> Charge:
    stored_hash, charge_id = seen
    if stored_hash != body_hash:
        raise Conflict(
            "This Idempotency-Key was used for a different request.", field="Idempotency-Key", existing_id=charge_id
        )
    return await _load(uow, tenant, charge_id)


async def get_charge(uow_factory: PaymentsWorkFactory, principal: Principal, charge_id: str) -> Charge:
    async with uow_factory() as uow:
        return await _load(uow, principal.tenant_id, charge_id)


async def list_charges(
    uow_factory: PaymentsWorkFactory,
    principal: Principal,
    *,
    status: str | None,
    lead_id: str | None,
    patient_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Charge], int]:
    if status is not None and status not in rules.STATUSES:
        raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(rules.STATUSES)}.", field="status")
    async with uow_factory() as uow:
        return await uow.charges.page(
            principal.tenant_id, status=status, lead_id=lead_id, patient_id=patient_id, limit=limit, offset=offset
        )


async def cancel_charge(
    uow_factory: PaymentsWorkFactory, clock: Clock, principal: Principal, charge_id: str, reason: str | None
) -> Charge:
    async with uow_factory() as uow:
        charge = await _load(uow, principal.tenant_id, charge_id, lock=True)
        cancelled = rules.cancel(charge, by=principal.user_id, now=clock.now())
        await uow.charges.save(cancelled)
        assert cancelled.closed_at
        uow.publish(
            PaymentCancelledV1(
                payment_id=cancelled.id,
                person=person_of(cancelled),
                procedure_id=cancelled.procedure_id,
                appointment_id=cancelled.appointment_id,
                cancelled_by=principal.user_id,
                cancelled_at=cancelled.closed_at,
                reason=reason,
            ),
            tenant_id=cancelled.tenant_id,
        )
        await uow.commit()
    return cancelled


async def refund_charge(
    uow_factory: PaymentsWorkFactory,
    book: ProviderBook,
    clock: Clock,
    principal: Principal,
    charge_id: str,
    amount: Decimal | None,
    reason: str | None,
) -> tuple[Charge, Decimal]:
    """The row stays locked across the provider call, so two refunds at once cannot both pass the limit."""
    value = parse_amount(amount) if amount is not None else None
    refund_id = context.new_id()
    async with uow_factory() as uow:
        charge = await _load(uow, principal.tenant_id, charge_id, lock=True)
        now = clock.now()
        refunded, value = rules.refund(charge, value, now)
        assert charge.provider_payment_id
        account = await book.account(uow_factory, principal.tenant_id)
        if account.provider != charge.provider:
            account = book.default_account(principal.tenant_id) if not account.own else account
        try:
            provider_refund_id = await book.adapter(account).refund(charge.provider_payment_id, value, refund_id)
        except ProviderError as exc:
            log.warning("refund at %s failed: %s", charge.provider, exc)
            raise ProviderUnavailable(
                f"The payment provider ({charge.provider}) refused the refund; nothing changed."
            ) from exc
        await uow.charges.save(refunded)
        await uow.refunds.add(
            id=refund_id,
            tenant_id=charge.tenant_id,
            charge_id=charge.id,
            amount=value,
            reason=reason,
            provider_refund_id=provider_refund_id,
            created_by=principal.user_id,
            created_at=now,
        )
        uow.publish(
            PaymentRefundedV1(
                payment_id=charge.id,
                person=person_of(charge),
                procedure_id=charge.procedure_id,
                appointment_id=charge.appointment_id,
                amount=fmt(value),
                total_refunded=fmt(refunded.refunded_amount),
                currency=charge.currency,
                partial=refunded.status == rules.PARTIALLY_REFUNDED,
                reason=reason,
                refunded_by=principal.user_id,
                refunded_at=now,
            ),
            tenant_id=charge.tenant_id,
        )
        await uow.commit()
    return refunded, value


#: Who "made" a refund recorded from the provider's own report (one made in its dashboard): nobody of ours.
PROVIDER_ACTOR = "00000000-0000-0000-0000-000000000000"


async def _refunded_at_provider(uow: PaymentsWork, charge: Charge, report: PaymentReport, now: datetime) -> str | None:
    assert report.refunded is not None
    found = rules.refunded_at_provider(charge, report.refunded, now)
    if found is None:
        return None
    refunded, value = found
    reason = f"Refunded at {charge.provider} (not through ClinicFlow); recorded from its notification."
    await uow.charges.save(refunded, previous=charge)
    await uow.refunds.add(
        id=context.new_id(),
        tenant_id=charge.tenant_id,
        charge_id=charge.id,
        amount=value,
        reason=reason,
        provider_refund_id=f"{charge.provider}:{report.provider_payment_id}:{fmt(refunded.refunded_amount)}",
        created_by=PROVIDER_ACTOR,
        created_at=now,
    )
    log.warning("charge %s: %s refunded at %s outside ClinicFlow, recorded", charge.id, fmt(value), charge.provider)
    uow.publish(
        PaymentRefundedV1(
            payment_id=charge.id,
            person=person_of(charge),
            procedure_id=charge.procedure_id,
            appointment_id=charge.appointment_id,
            amount=fmt(value),
            total_refunded=fmt(refunded.refunded_amount),
            currency=charge.currency,
            partial=refunded.status == rules.PARTIALLY_REFUNDED,
            reason=reason,
            refunded_by=PROVIDER_ACTOR,
            refunded_at=now,
        ),
        tenant_id=charge.tenant_id,
    )
    return "refunded"


async def apply_report(uow: PaymentsWork, charge: Charge, report: PaymentReport, now: datetime, public_url: str) -> str:
    """Apply the provider's view to a charge locked by the caller; publish at most one event. Returns what happened."""
    if report.refunded and charge.status in SETTLED and report.status in ("paid", "refunded"):
        # Money the provider gave back that we have not recorded: a refund made in its dashboard.
        return await _refunded_at_provider(uow, charge, report, now) or "no-change"
    if report.status == "paid":
        outcome = rules.confirm(
            charge,
            provider_payment_id=report.provider_payment_id,
            method=report.method or (charge.methods[0] if len(charge.methods) == 1 else ""),
            amount=report.amount if report.amount is not None else charge.amount,
            paid_at=report.paid_at or now,
            now=now,
        )
    elif report.status == "failed":
        outcome = rules.fail(charge, reason=report.reason or "refused by the provider", method=report.method, now=now)
    else:
        return "no-change"
    if outcome.event is None:
        return "no-change"
    updated = outcome.charge
    await uow.charges.save(updated, previous=charge)
    if outcome.event == "confirmed":
        assert updated.paid_at
        assert updated.provider_payment_id
        assert updated.paid_amount is not None
        if updated.late:
            log.warning(
                "late payment %s on %s charge %s: flagged for staff",
                report.provider_payment_id,
                charge.status,
                charge.id,
            )
        uow.publish(
            PaymentConfirmedV1(
                payment_id=updated.id,
                person=person_of(updated),
                procedure_id=updated.procedure_id,
                appointment_id=updated.appointment_id,
                amount=fmt(updated.paid_amount),
                currency=updated.currency,
                method=updated.method or "unknown",
                provider=updated.provider,
                provider_payment_id=updated.provider_payment_id,
                paid_at=updated.paid_at,
                receipt_url=receipt_url(public_url, updated),
                late=updated.late,
            ),
            tenant_id=updated.tenant_id,
        )
    else:
        uow.publish(
            PaymentFailedV1(
                payment_id=updated.id,
                person=person_of(updated),
                procedure_id=updated.procedure_id,
                appointment_id=updated.appointment_id,
                reason=updated.failure_reason or "refused",
                method=updated.method,
                provider=updated.provider,
                failed_at=now,
            ),
            tenant_id=updated.tenant_id,
        )
    return outcome.event


async def expire_due(uow_factory: PaymentsWorkFactory, clock: Clock, *, limit: int = 100) -> int:
    """Close links past their expiry; SKIP LOCKED lets two workers share the work."""
    now = clock.now()
    async with uow_factory() as uow:
        repo = uow.charges
        expired = 0
        for charge in await repo.claim_expired(now, limit):
            outcome = rules.expire(charge, now)
            if outcome.event is None:
                continue
            await repo.save(outcome.charge)
            uow.publish(
                PaymentExpiredV1(
                    payment_id=charge.id,
                    person=person_of(charge),
                    procedure_id=charge.procedure_id,
                    appointment_id=charge.appointment_id,
                    expired_at=now,
                ),
                tenant_id=charge.tenant_id,
            )
            expired += 1
        await uow.commit()
    return expired


async def reconcile(
    uow_factory: PaymentsWorkFactory, book: ProviderBook, clock: Clock, *, after: timedelta, limit: int = 50
) -> int:
    """Ask the provider about links still unpaid after `after`, so a lost webhook never locks a patient out.
    Returns how many charges changed."""
    now = clock.now()
    async with uow_factory() as uow:
        repo = uow.charges
        due = await repo.due_for_reconciliation(now - after, limit)
        await repo.mark_reconciled([c.id for c in due], now)
        await uow.commit()
    changed = 0
    for charge in due:
        account = await book.account(uow_factory, charge.tenant_id)
        if account.provider != charge.provider:
            continue  # the clinic switched providers; the old account's links are settled by hand
        try:
            report = await book.adapter(account).find_payment(charge.id, charge.provider_ref)
        except ProviderError as exc:
            log.warning("reconciling charge %s failed: %s", charge.id, exc)
            continue
        if report is None or (report.charge_id and report.charge_id != charge.id):
            continue
        async with uow_factory() as uow:
            locked = await _load(uow, charge.tenant_id, charge.id, lock=True)
            if await apply_report(uow, locked, report, clock.now(), book.settings.public_url) != "no-change":
                changed += 1
                log.info("reconciliation: charge %s is now %s", charge.id, report.status)
            await uow.commit()
    return changed


def with_pix(charge: Charge, code: str | None) -> Charge:
    return replace(charge, pix_code=code)
