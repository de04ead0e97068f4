"""Event subscriptions of leads: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from contracts.assistant import AssistantAnswerRecordedV1
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.notifications import MessageReceivedV1
from contracts.scheduling import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    ReturnBookedV1,
    VisitCompletedV1,
)
from contracts.telephony import CallMissedV1, CallStartedV1
from contracts.topics import FUNNEL, IDENTITY, NOTIFICATIONS, PRIVACY, SCHEDULING, TELEPHONY
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from leads.services import assistant, calls, privacy, staff, sync


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="leads.staff-directory",
            topic=IDENTITY.name,
            handlers={StaffCreatedV1: staff.record, StaffUpdatedV1: staff.record, StaffDeactivatedV1: staff.record},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # Calls from the clinics' telephony: unknown callers become leads, missed calls call-backs.
        IdempotentConsumer(
            service=ctx.service,
            name="leads.calls",
            topic=TELEPHONY.name,
            handlers={CallStartedV1: calls.on_call_started, CallMissedV1: calls.on_call_missed},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # The sales card follows the agenda (leads.services.sync); other scheduling events are skipped.
        IdempotentConsumer(
            service=ctx.service,
            name="leads.agenda",
            topic=SCHEDULING.name,
            handlers={
                AppointmentBookedV1: sync.booked,
                AppointmentRescheduledV1: sync.rescheduled,
                AppointmentCancelledV1: sync.cancelled,
                VisitCompletedV1: sync.completed,
                ReturnBookedV1: sync.return_booked,
                AppointmentNoShowV1: sync.no_show,
            },
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # Unknown senders on WhatsApp/SMS become leads.
        IdempotentConsumer(
            service=ctx.service,
            name="leads.inbound-messages",
            topic=NOTIFICATIONS.name,
            handlers={MessageReceivedV1: sync.message_received},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # What the patient told the funnel's assistant (name, CPF, the procedure and region wanted).
        IdempotentConsumer(
            service=ctx.service,
            name="leads.assistant-answers",
            topic=FUNNEL.name,
            handlers={AssistantAnswerRecordedV1: assistant.answer_recorded},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # Data subject requests (docs/privacy.md): leads' part of an export, its erasure; the retention rules.
        IdempotentConsumer(
            service=ctx.service,
            name="leads.privacy",
            topic=PRIVACY.name,
            handlers=privacy.handlers(lambda: ctx.resources["objects"]),
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
    ]
