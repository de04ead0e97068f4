"""Booking links the funnel's pre-qualification assistant asks for (contracts.assistant).

`assistant.booking_link_requested` → the person's signed `book` link (the same as staff's
`POST /booking-links`), with the branch and procedure the patient chose, announced as `booking_link.issued`
for the assistant to send. A branch or procedure the clinic does not have (any more) is logged and dropped:
the assistant's timer then hands the conversation to a sales agent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from contracts import EventMeta
from contracts.assistant import AssistantBookingLinkRequestedV1, BookingLinkIssuedV1
from scheduling.domain.appointments import Person
from scheduling.domain.errors import NotFound
from scheduling.services.env import Env, load_branch, load_procedure
from scheduling.services.public import booking_link
from scheduling.services.work import SchedulingWork

log = logging.getLogger(__name__)


async def booking_link_requested(
    env: Env, uow: SchedulingWork, event: AssistantBookingLinkRequestedV1, meta: EventMeta
) -> None:
    tenant = meta.tenant_id
    try:
        await load_branch(uow, tenant, event.branch_id)
        await load_procedure(uow, tenant, event.procedure_id)
    except NotFound as exc:
        log.warning("assistant request %s makes no booking link: %s", event.request_id, exc)
        return
    p = event.person
    person = Person(lead_id=p.lead_id, patient_id=p.patient_id, name=p.name, phone=p.phone, email=p.email,
                    locale=p.locale)  # fmt: skip
    url, _ = booking_link(env, tenant, person)
    now = env.clock.now()
    uow.publish(
        BookingLinkIssuedV1(
            request_id=event.request_id, process_id=event.process_id, person=p, branch_id=event.branch_id,
            procedure_id=event.procedure_id, url=url, expires_at=now + timedelta(seconds=env.links.ttl_seconds),
            issued_at=now,
        ),
        tenant_id=tenant,
    )  # fmt: skip
