"""How other services' events move a lead (plain Python): scheduling's agenda and inbound messages.

The lead's own transition rules (leads.domain.leads.change_status) decide; an event the rules refuse (a
cancellation of a lead that never had an appointment, say) moves nothing rather than failing the consumer:
the event is a fact from another context, not a request staff can correct.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from leads.domain import leads as rules
from leads.domain.errors import InvalidTransition
from leads.domain.leads import Lead, StatusChange

#: The author of changes no staff member made (history's changed_by is a UUID).
SYSTEM_ACTOR = "00000000-0000-0000-0000-000000000000"

ONLINE_BOOKING_SOURCE = ("online_booking", "Online booking")
ONLINE_BOOKING_CHANNEL = "online_booking"
MESSAGE_CHANNEL = "message"
#: An inbound message's channel -> the lead source (slug, label) it is recorded under.
MESSAGE_SOURCES: dict[str, tuple[str, str]] = {
    "whatsapp": ("whatsapp", "WhatsApp"),
    "telegram": ("telegram", "Telegram"),
    "instagram": ("instagram", "Instagram"),
    "sms": ("sms", "SMS"),
}

BOOKED_COMMENT = "booked via scheduling"
RETURN_COMMENT = "return visit booked via scheduling"
NO_SHOW_COMMENT = "did not come to the appointment (no-show)"
CANCELLED_COMMENT = "cancelled via scheduling"
COMPLETED_COMMENT = "visit completed via scheduling"


def actor(value: str | None) -> str:
    """A staff user id when the event names one; otherwise (online, patient, system) the system actor."""
    if value:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    return SYSTEM_ACTOR


@dataclass(frozen=True)
class Appointment:
    id: str
    starts_at: datetime
    procedure: str | None
    branch: str | None
    #: The visit this appointment is the return of (a return visit booked by reception).
    return_of: str | None = None


def follow(lead: Lead, to_status: str, *, comment: str, actor: str, now: datetime) -> tuple[Lead, StatusChange | None]:
    """The lead in `to_status` when the rules allow it; unchanged (and no history) when it already is or the
    rules refuse."""
    if lead.status == to_status:
        return lead, None
    try:
        return rules.change_status(lead, to_status, comment=comment, actor=actor, now=now)
    except InvalidTransition:
        return lead, None


def booked(lead: Lead, appointment: Appointment, *, actor: str, now: datetime) -> tuple[Lead, StatusChange | None]:
    """appointment.booked -> APPOINTMENT_SCHEDULED and the appointment shown on the lead; a return visit says
    so in the status history."""
    comment = RETURN_COMMENT if appointment.return_of else BOOKED_COMMENT
    moved, change = follow(lead, rules.APPOINTMENT_SCHEDULED, comment=comment, actor=actor, now=now)
    return show(moved, appointment, actor=actor, now=now), change


def return_booked(
    lead: Lead, appointment: Appointment, *, actor: str, now: datetime
) -> tuple[Lead, StatusChange | None]:
    """return.booked (after the return's appointment.booked, same key): the return is the lead's next
    appointment, APPOINTMENT_SCHEDULED. When appointment.booked already did that, the lead stays as it is (its
    procedure and branch came with that event; return.booked names neither)."""
    if lead.next_appointment_id == appointment.id:
        appointment = replace(
            appointment, procedure=lead.next_appointment_procedure, branch=lead.next_appointment_branch
        )
    moved, change = follow(lead, rules.APPOINTMENT_SCHEDULED, comment=RETURN_COMMENT, actor=actor, now=now)
    if change is None and (lead.next_appointment_id, lead.next_appointment_at) == (
        appointment.id,
        appointment.starts_at,
    ):
        return lead, None
    return show(moved, appointment, actor=actor, now=now), change


def no_show(lead: Lead, appointment_id: str, *, actor: str, now: datetime) -> tuple[Lead, StatusChange | None] | None:
    """appointment.no_show -> REQUIRES_FOLLOW_UP (someone calls to rebook; when the rules allow it) and the
    appointment is no longer "next". None: a no-show of another appointment than the one the lead shows, which
    concerns this lead no more than its cancellation would."""
    if lead.next_appointment_id not in (None, appointment_id):
        return None
    moved, change = follow(lead, rules.REQUIRES_FOLLOW_UP, comment=NO_SHOW_COMMENT, actor=actor, now=now)
    return _clear(moved, actor=actor, now=now), change


def no_show_call_back(name: str, starts_at: datetime, procedure: str | None) -> tuple[str, str]:
    """Title and notes of the call-back a no-show asks for (the owner calls to rebook). The event names no
    time zone, so the time is written in UTC, saying so."""
    what = procedure or "the appointment"
    at = starts_at.astimezone(UTC)
    return f"Call {name} to rebook (missed appointment)", f"Did not come to {what} on {at:%Y-%m-%d %H:%M} UTC."


def show(lead: Lead, appointment: Appointment, *, actor: str, now: datetime) -> Lead:
    return replace(
        lead,
        next_appointment_id=appointment.id,
        next_appointment_at=appointment.starts_at,
        next_appointment_procedure=appointment.procedure,
        next_appointment_branch=appointment.branch,
        updated_at=now,
        updated_by=actor,
    )


def rescheduled(lead: Lead, appointment_id: str, starts_at: datetime, *, actor: str, now: datetime) -> Lead:
    """appointment.rescheduled -> the new time, if it is the appointment the lead shows."""
    if lead.next_appointment_id not in (None, appointment_id):
        return lead
    return replace(
        lead, next_appointment_id=appointment_id, next_appointment_at=starts_at, updated_at=now, updated_by=actor
    )


def cancelled(lead: Lead, appointment_id: str, *, actor: str, now: datetime) -> tuple[Lead, StatusChange | None]:
    """appointment.cancelled -> APPOINTMENT_CANCELED (when the rules allow it); a cancellation of another
    appointment than the one shown moves nothing."""
    if lead.next_appointment_id not in (None, appointment_id):
        return lead, None
    moved, change = follow(lead, rules.APPOINTMENT_CANCELED, comment=CANCELLED_COMMENT, actor=actor, now=now)
    return _clear(moved, actor=actor, now=now), change


def completed(lead: Lead, appointment_id: str, *, actor: str, now: datetime) -> tuple[Lead, StatusChange | None]:
    """visit.completed -> VISIT_COMPLETED (when the rules allow it); the appointment is no longer "next"."""
    moved, change = follow(lead, rules.VISIT_COMPLETED, comment=COMPLETED_COMMENT, actor=actor, now=now)
    if lead.next_appointment_id == appointment_id:
        moved = _clear(moved, actor=actor, now=now)
    return moved, change


def _clear(lead: Lead, *, actor: str, now: datetime) -> Lead:
    if lead.next_appointment_id is None:
        return lead
    return replace(
        lead,
        next_appointment_id=None,
        next_appointment_at=None,
        next_appointment_procedure=None,
        next_appointment_branch=None,
        updated_at=now,
        updated_by=actor,
    )


def message_source(channel: str) -> tuple[str, str] | None:
    """The source of a lead first heard of on this channel; None: a channel that makes no lead."""
    return MESSAGE_SOURCES.get(channel)


def makes_lead(button_id: str | None, consent: bool | None) -> bool:
    """An unknown sender's message opens a lead unless it is a button tap or a consent keyword: someone who
    only asks the clinic to stop (or start) writing is not a prospect to call back. Which words those are is
    notifications' to say (message.received's `consent`)."""
    return button_id is None and consent is None


def message_phone(channel: str, sender: str) -> str | None:
    """Telegram and Instagram senders are chat/user ids, not phones: a lead then needs the phone from staff."""
    if channel in ("whatsapp", "sms") and sender.lstrip("+").isdigit():
        return sender if sender.startswith("+") else "+" + sender
    return None


#: Channels whose senders are no phone: the lead is reached at its address there (Lead.contacts).
HANDLE_CHANNELS = ("telegram", "instagram")


def message_handle(channel: str, sender: str) -> tuple[str, str] | None:
    """(channel, address) of a Telegram chat id or an Instagram user id; None for a phone channel."""
    address = sender.strip()
    if channel in HANDLE_CHANNELS and address and len(address) <= 200:
        return channel, address
    return None


def sender_name(name: str | None, phone: str) -> str:
    """The name the channel or booking gave, cut to what a lead holds; the phone when there is none."""
    cleaned = " ".join((name or "").split())
    return cleaned[:200] or phone
