"""What scheduling takes from other contexts: confirmed payments and patients' button replies."""

from __future__ import annotations

import logging
from dataclasses import replace

from contracts import EventMeta
from contracts.notifications import MessageReceivedV1
from contracts.payments import PaymentConfirmedV1
from scheduling.domain import appointments as life
from scheduling.domain.errors import SchedulingError
from scheduling.domain.reminders import parse_action_id
from scheduling.services.booking import book_in, confirm_in
from scheduling.services.env import Env
from scheduling.services.work import SchedulingWork

log = logging.getLogger(__name__)


async def payment_confirmed(env: Env, uow: SchedulingWork, event: PaymentConfirmedV1, meta: EventMeta) -> None:
    """Record the prepayment; when it paid for a held slot, that hold becomes the booking."""
    added = await uow.entitlements.add(
        {
            "payment_id": event.payment_id,
            "tenant_id": meta.tenant_id,
            "lead_id": event.person.lead_id,
            "patient_id": event.person.patient_id,
            "procedure_id": event.procedure_id,
            "appointment_id": event.appointment_id,
            "amount": event.amount,
            "currency": event.currency,
            "paid_at": event.paid_at,
            "used_by": None,
            "refunded": False,
            "created_at": env.clock.now(),
        }
    )
    if not added or event.appointment_id is None:
        return
    held = await uow.appointments.get(meta.tenant_id, event.appointment_id, lock=True)
    if held is None or held.status != life.HELD:
        return  # the entitlement stays; staff or the patient book with it
    now = env.clock.now()
    lapsed = held.hold_expires_at is not None and held.hold_expires_at <= now
    try:
        async with uow.session.begin_nested():
            if lapsed:
                # The hold lapsed while the money travelled: book the same time if it is still free.
                await uow.appointments.save(replace(held, status=life.CANCELLED, updated_at=now))
            await book_in(
                env,
                uow,
                meta.tenant_id,
                branch_id=held.branch_id,
                procedure_id=held.procedure_id,
                professional_id=held.professional_id,
                starts_at=held.starts_at,
                person=held.person,
                source=held.source,
                booked_by=held.booked_by,
                payment_id=event.payment_id,
                hold_id=None if lapsed else held.id,
            )
    except SchedulingError as exc:
        # The payment stays recorded (and usable); staff see the hold could not become a booking.
        log.warning("paid hold %s could not be booked: %s", held.id, exc)


async def message_received(env: Env, uow: SchedulingWork, event: MessageReceivedV1, meta: EventMeta) -> None:
    """A tapped `appt:<id>:confirm` button confirms the appointment (other replies are not ours)."""
    parsed = parse_action_id(event.button_id or "")
    if parsed is None:
        return
    appointment_id, kind = parsed
    if kind != "confirm":
        return  # the reschedule button opens the patient's reschedule link; nothing to record here
    a = await uow.appointments.get(meta.tenant_id, appointment_id)
    if a is None or a.status not in (life.BOOKED, life.CONFIRMED):
        log.info("button %s for appointment %s ignored (missing or %s)", kind, appointment_id, a and a.status)
        return
    await confirm_in(env, uow, meta.tenant_id, appointment_id, via=event.channel, by=None)
