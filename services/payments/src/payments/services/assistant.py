"""Payment links the funnel's pre-qualification assistant asks for (contracts.assistant).

`assistant.payment_link_requested` → the same use case as staff's `POST /payments` (prices, discounts, the
clinic's provider), with the request id as the Idempotency-Key: a redelivered or retried request answers with
the charge already made and the provider dedupes the checkout by the same key, so the provider call may run
in the consumer (twice, at worst, with one effect). `payment.link_created` then goes out as for any charge.
A request that cannot become a charge (no price for the procedure, say) is logged and dropped: the assistant's
timer hands the conversation to a sales agent.
"""

from __future__ import annotations

import logging

import msgspec

from contracts import EventMeta
from contracts.assistant import AssistantPaymentLinkRequestedV1
from kit.auth import Principal
from payments.clock import Clock
from payments.domain.charges import NewCharge
from payments.domain.errors import Conflict, InvalidInput
from payments.domain.money import parse_amount
from payments.services.accounts import ProviderBook
from payments.services.charges import create_charge, request_hash
from payments.services.work import PaymentsWork, PaymentsWorkFactory

log = logging.getLogger(__name__)
#: `created_by` of the charges the assistant asked for (no staff member made them).
ASSISTANT_USER = "00000000-0000-4000-8000-00000000a551"
METHODS = ("pix", "credit", "debit")


async def link_requested(
    _uow: PaymentsWork, event: AssistantPaymentLinkRequestedV1, meta: EventMeta, *, uow_factory: PaymentsWorkFactory,
    book: ProviderBook, clock: Clock,
) -> None:  # fmt: skip
    principal = Principal(
        user_id=ASSISTANT_USER, tenant_id=meta.tenant_id, email="assistant@clinicflow.local",
        permissions=frozenset({"payments:write"}),
    )  # fmt: skip
    p = event.person
    try:
        data = NewCharge(
            description=event.description, methods=METHODS, lead_id=p.lead_id, patient_id=p.patient_id, name=p.name,
            phone=p.phone, email=p.email, locale=p.locale, cpf=event.cpf,
            amount=parse_amount(event.amount) if event.amount is not None else None, currency=event.currency,
            procedure_id=event.procedure_id,
        )  # fmt: skip
        await create_charge(
            uow_factory, book, clock, principal, data, idempotency_key=event.request_id,
            body_hash=request_hash(msgspec.json.encode(event)),
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        log.warning("assistant request %s makes no payment link: %s", event.request_id, exc)
