"""Event subscriptions of payments: the leads' source (and patient link) for the finance view."""

from __future__ import annotations

from functools import partial
from typing import cast

from contracts.assistant import AssistantPaymentLinkRequestedV1
from contracts.leads import LeadConvertedV1, LeadCreatedV1
from contracts.topics import FUNNEL, LEADS, PRIVACY
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from payments.clock import Clock
from payments.services import assistant, finance, privacy
from payments.services.accounts import ProviderBook
from payments.services.work import PaymentsWorkFactory


def build(ctx: WorkerContext, book: ProviderBook, clock: Clock) -> list[IdempotentConsumer]:
    return [
        # Payment links the funnel's assistant asks for (payments.services.assistant).
        IdempotentConsumer(
            service=ctx.service,
            name="payments.assistant-links",
            topic=FUNNEL.name,
            handlers={
                AssistantPaymentLinkRequestedV1: partial(
                    assistant.link_requested, uow_factory=cast(PaymentsWorkFactory, ctx.uow), book=book, clock=clock
                )
            },
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        IdempotentConsumer(
            service=ctx.service,
            name="payments.lead-sources",
            topic=LEADS.name,
            handlers={LeadCreatedV1: finance.remember_source, LeadConvertedV1: finance.remember_patient},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # Data subject requests (docs/privacy.md): payments' part of an export, its erasure.
        IdempotentConsumer(
            service=ctx.service,
            name="payments.privacy",
            topic=PRIVACY.name,
            handlers=privacy.handlers(lambda: ctx.resources["objects"]),
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
    ]
