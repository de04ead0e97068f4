"""Calls from the clinic's telephony (clinicflow.telephony.events): an unknown caller becomes a lead with the
tracking number's source and channel "call"; a missed call becomes a call-back activity for the lead's owner.

Both run in the consumer's unit of work (the inbox makes each event count once). The telephony call id is
the author of what a call creates, the way a web form's id is the author of its submissions.
"""

from __future__ import annotations

from datetime import timedelta

from contracts import EventMeta
from contracts.claims import DEFAULT_COUNTRY, DEFAULT_TIMEZONE
from contracts.telephony import CallMissedV1, CallStartedV1
from leads.domain import activities as activity_rules
from leads.domain import matching
from leads.services.activities import add_from_event
from leads.services.common import now, sources
from leads.services.leads import NewLead, intake
from leads.services.work import LeadsWork

CHANNEL = "call"
#: A tracking number without a source the clinic knows falls back to this one (a default source).
FALLBACK_SOURCE = "phone_call"
#: Far enough back to find any lead with that phone (the call-back belongs to whoever has it).
_ANY_TIME = timedelta(days=3650)


async def on_call_started(uow: LeadsWork, event: CallStartedV1, meta: EventMeta) -> None:
    """An inbound call from a phone no open lead has: a new lead; a known one gets a request instead."""
    if event.direction != "inbound" or event.lead_id is not None or not event.caller.startswith("+"):
        return
    known = await sources(uow, meta.tenant_id)
    source = event.source if event.source in known else FALLBACK_SOURCE
    if source not in known and known:
        source = next(iter(known))
    await intake(
        uow,
        tenant_id=meta.tenant_id,
        actor=event.call_id,
        country=DEFAULT_COUNTRY,
        timezone=DEFAULT_TIMEZONE,
        data=NewLead(
            name=event.caller,
            phones=[event.caller],
            source=source,
            attribution={"tracking_number": event.tracking_number},
            reason=f"Phone call to {event.tracking_number}",
        ),
        channel=CHANNEL,
        on_duplicate="add_request",
    )


async def on_call_missed(uow: LeadsWork, event: CallMissedV1, meta: EventMeta) -> None:
    """A call-back (activity of type call, due now) for the owner of the caller's lead."""
    at = now()
    variants = matching.phone_variants(event.caller)
    found = await uow.leads.open_by_contact(meta.tenant_id, phones=list(variants), email=None, since=at - _ANY_TIME)
    if event.lead_id is not None:
        found = sorted(found, key=lambda lead: lead.id != event.lead_id)
    if not found:
        return  # call.started made the lead first (same partition, earlier offset); nothing to attach to
    lead = found[0]
    activity = activity_rules.new_activity(
        activity_id=event.call_id,  # one call-back per missed call, even if the event came twice
        tenant_id=meta.tenant_id,
        lead_id=lead.id,
        activity_type="call",
        title=f"Call back {event.caller} (missed call)",
        notes=f"Missed call to {event.tracking_number} at {event.started_at.isoformat()}.",
        scheduled_at=at,
        responsible_id=lead.owner_id,
        private=False,
        created_by=event.call_id,
        now=at,
    )
    await add_from_event(uow, activity, actor=event.call_id, at=at)
