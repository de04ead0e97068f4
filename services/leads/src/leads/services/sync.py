"""Use cases that keep the sales card in step with the other services (scheduling's agenda, inbound messages).

Each handler runs in kit's unit of work, possibly beside other records of the same batch (it never commits,
and reads the clinic's lists from the database rather than the process cache, so a batch rolled back and
handled again record by record sees the same thing). What leads publishes as a result (lead.created,
lead.status_changed) goes through the outbox in that same transaction.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from contracts import EventMeta
from contracts.leads import LeadStatusChangedV1
from contracts.notifications import MessageReceivedV1
from contracts.scheduling import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    ReturnBookedV1,
    VisitCompletedV1,
)
from kit.context import new_id
from leads.domain import activities as activity_rules
from leads.domain import sync as rules
from leads.domain.errors import DuplicateLead, InvalidLead
from leads.domain.leads import LOCALES, Lead, StatusChange, audit_diff
from leads.domain.lists import ListItem
from leads.services.activities import add_from_event
from leads.services.common import audit, forget_clinic, now
from leads.services.leads import NewLead, intake
from leads.services.work import LeadsWork

#: Events carry E.164 phones, so the region only matters for a number written without its country code.
DEFAULT_REGION = "BR"

#: Call-backs for no-shows get ids derived from the appointment's, so one appointment makes one call-back.
_NO_SHOW_IDS = uuid.UUID("6f1d9a52-3c1e-4f0e-9a7e-2b8c5d4e1a30")

log = logging.getLogger(__name__)


async def ensure_source(uow: LeadsWork, tenant_id: str, slug: str, label: str) -> str:
    """The clinic's source `slug`, added to its list when missing; a clinic that deactivated it gets its
    first active source instead (its choice is kept)."""
    repo = uow.lists
    known = await repo.labels(tenant_id, "source")
    if slug in known:
        return slug
    if not await repo.slug_taken(tenant_id, "source", slug):
        position = await repo.next_position(tenant_id, "source")
        await repo.add(ListItem(new_id(), tenant_id, "source", slug, label, None, position, True))
        forget_clinic(tenant_id)
        return slug
    if not known:
        raise InvalidLead(f"The clinic has no active lead source for {slug}.", field="source")
    return next(iter(known))


async def _lead(uow: LeadsWork, tenant_id: str, lead_id: str) -> Lead | None:
    """The lead, or the one it was merged into; None when it is gone (deleted)."""
    repo = uow.leads
    lead = await repo.get(tenant_id, lead_id, for_update=True)
    if lead is not None and lead.merged_into is not None:
        lead = await repo.get(tenant_id, lead.merged_into, for_update=True)
    return lead


async def _save(
    uow: LeadsWork,
    tenant_id: str,
    before: Lead,
    after: Lead,
    change: StatusChange | None,
    *,
    action: str,
    actor: str | None = None,
    noted: dict[str, Any] | None = None,
) -> None:
    """Store what the event changed, its status change and `lead.status_changed`, and one audit entry (the
    diff, plus `noted`: what the event said that the lead does not keep). Nothing when nothing changed and
    nothing is noted."""
    if after == before and not noted:
        return
    fields = ("status", "next_appointment_id", "next_appointment_at", "next_appointment_procedure")
    diff = {f: (getattr(before, f), getattr(after, f)) for f in fields if getattr(before, f) != getattr(after, f)}
    if after != before:
        await uow.leads.save(before, after)
    if change is not None:
        await uow.leads.add_status_change(tenant_id, change)
        uow.publish(
            LeadStatusChangedV1(
                lead_id=after.id,
                from_status=before.status,
                to_status=change.to_status,
                comment=change.comment,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
            ),
            tenant_id=tenant_id,
        )
    await audit(
        uow,
        tenant_id,
        entity="lead",
        entity_id=after.id,
        lead_id=after.id,
        action=action,
        actor_id=actor or after.updated_by,
        changes={**audit_diff(diff), **(noted or {})},
        at=now() if after == before else after.updated_at,
    )


def _appointment(event: AppointmentBookedV1) -> rules.Appointment:
    return rules.Appointment(
        event.appointment_id, event.starts_at, event.procedure_name, event.branch_name, return_of=event.return_of
    )


async def booked(uow: LeadsWork, event: AppointmentBookedV1, meta: EventMeta) -> None:
    """appointment.booked: the lead is scheduled and shows the appointment; an unknown person (online booking)
    becomes a lead with the clinic's online-booking source, or a request on their open lead (same phone)."""
    actor = rules.actor(event.booked_by)
    at = now()
    lead_id = event.person.lead_id
    if lead_id is None:
        if not event.person.phone:
            return  # a lead is called back: without a phone there is nobody to create
        source = await ensure_source(uow, meta.tenant_id, *rules.ONLINE_BOOKING_SOURCE)
        try:
            created = await intake(
                uow,
                tenant_id=meta.tenant_id,
                actor=actor,
                country=DEFAULT_REGION,
                timezone=event.timezone,
                data=NewLead(
                    name=rules.sender_name(event.person.name, event.person.phone),
                    phones=[event.person.phone],
                    email=event.person.email,
                    locale=event.person.locale if event.person.locale in LOCALES else None,
                    source=source,
                    reason=f"Booked {event.procedure_name} online",
                ),
                channel=rules.ONLINE_BOOKING_CHANNEL,
                on_duplicate="add_request",  # the person's open lead (same phone) gets the booking
            )
        except InvalidLead as exc:  # checked before anything is written: the batch's transaction is intact
            log.warning("booking %s makes no lead: %s", event.appointment_id, exc)
            return
        lead_id = created.lead.id
    before = await _lead(uow, meta.tenant_id, lead_id)
    if before is None:
        return
    after, change = rules.booked(before, _appointment(event), actor=actor, now=at)
    await _save(uow, meta.tenant_id, before, after, change, action="appointment_booked")


async def rescheduled(uow: LeadsWork, event: AppointmentRescheduledV1, meta: EventMeta) -> None:
    if event.person.lead_id is None:
        return
    before = await _lead(uow, meta.tenant_id, event.person.lead_id)
    if before is None:
        return
    actor = rules.actor(event.rescheduled_by)
    after = rules.rescheduled(before, event.appointment_id, event.starts_at, actor=actor, now=now())
    await _save(uow, meta.tenant_id, before, after, None, action="appointment_rescheduled")


async def cancelled(uow: LeadsWork, event: AppointmentCancelledV1, meta: EventMeta) -> None:
    if event.person.lead_id is None:
        return
    before = await _lead(uow, meta.tenant_id, event.person.lead_id)
    if before is None:
        return
    after, change = rules.cancelled(before, event.appointment_id, actor=rules.actor(event.cancelled_by), now=now())
    await _save(uow, meta.tenant_id, before, after, change, action="appointment_cancelled")


async def completed(uow: LeadsWork, event: VisitCompletedV1, meta: EventMeta) -> None:
    if event.person.lead_id is None:
        return
    before = await _lead(uow, meta.tenant_id, event.person.lead_id)
    if before is None:
        return
    after, change = rules.completed(before, event.appointment_id, actor=rules.SYSTEM_ACTOR, now=now())
    await _save(uow, meta.tenant_id, before, after, change, action="visit_completed")


async def return_booked(uow: LeadsWork, event: ReturnBookedV1, meta: EventMeta) -> None:
    """return.booked: the lead shows its return visit (APPOINTMENT_SCHEDULED) and its trail records which
    visit it is the return of."""
    if event.person.lead_id is None:
        return
    before = await _lead(uow, meta.tenant_id, event.person.lead_id)
    if before is None:
        return
    actor = rules.actor(event.booked_by)
    at = now()
    appointment = rules.Appointment(
        event.appointment_id, event.starts_at, None, None, return_of=event.previous_appointment_id
    )
    after, change = rules.return_booked(before, appointment, actor=actor, now=at)
    noted = {"return_of": event.previous_appointment_id, "return_appointment_id": event.appointment_id}
    await _save(uow, meta.tenant_id, before, after, change, action="return_booked", actor=actor, noted=noted)


async def no_show(uow: LeadsWork, event: AppointmentNoShowV1, meta: EventMeta) -> None:
    """appointment.no_show: the lead needs a follow-up (REQUIRES_FOLLOW_UP, the appointment no longer next)
    and its owner gets a call-back to rebook, due now."""
    if event.person.lead_id is None:
        return
    before = await _lead(uow, meta.tenant_id, event.person.lead_id)
    if before is None:
        return
    actor = rules.actor(event.marked_by)
    at = now()
    moved = rules.no_show(before, event.appointment_id, actor=actor, now=at)
    if moved is None:
        return  # another appointment than the one the lead shows
    after, change = moved
    await _save(uow, meta.tenant_id, before, after, change, action="appointment_no_show")
    title, notes = rules.no_show_call_back(after.name, event.starts_at, before.next_appointment_procedure)
    activity = activity_rules.new_activity(
        # One call-back per missed appointment, however often it is marked.
        activity_id=str(uuid.uuid5(_NO_SHOW_IDS, event.appointment_id)),
        tenant_id=meta.tenant_id,
        lead_id=after.id,
        activity_type="call",
        title=title,
        notes=notes,
        scheduled_at=at,
        responsible_id=after.owner_id,
        private=False,
        created_by=actor,
        now=at,
    )
    await add_from_event(uow, activity, actor=actor, at=at)


async def message_received(uow: LeadsWork, event: MessageReceivedV1, meta: EventMeta) -> None:
    """message.received from an unknown sender: a lead with the channel as its source (a Telegram or Instagram
    sender's lead is reached at that address, with no phone yet); nothing when the phone or address already has
    an open lead, for a known sender (lead_id or patient_id set), a button tap or an opt-out."""
    if event.lead_id is not None or event.patient_id is not None:
        return
    if not rules.makes_lead(event.button_id, event.consent):
        return
    source = rules.message_source(event.channel)
    phone = rules.message_phone(event.channel, event.sender)
    # Telegram chat ids and Instagram user ids are no phone: the lead is reached at that address (its contacts).
    handle = None if phone is not None else rules.message_handle(event.channel, event.sender)
    if source is None or (phone is None and handle is None):
        return
    slug = await ensure_source(uow, meta.tenant_id, *source)
    try:
        # "reject": until notifications learns the lead's id, each message of the person arrives as unknown;
        # their open lead (same phone) must not collect a request per message.
        await intake(
            uow,
            tenant_id=meta.tenant_id,
            actor=rules.SYSTEM_ACTOR,
            country=DEFAULT_REGION,
            timezone="UTC",
            data=NewLead(
                name=rules.sender_name(event.sender_name, phone or f"{source[1]} {event.sender.strip()}"),
                phones=[phone] if phone else [],
                contacts=dict([handle]) if handle else {},
                source=slug,
                reason=_excerpt(event.text, event.channel, event.received_at),
            ),
            channel=rules.MESSAGE_CHANNEL,
            on_duplicate="reject",
        )
    except DuplicateLead:
        return
    except InvalidLead as exc:  # checked before anything is written: the batch's transaction is intact
        log.warning("message %s makes no lead: %s", event.message_id, exc)


def _excerpt(text: str | None, channel: str, at: datetime) -> str:
    if text and text.strip():
        body = text.strip()
        return body if len(body) <= 500 else body[:499] + "…"
    return f"Wrote on {channel} at {at.isoformat()}"
