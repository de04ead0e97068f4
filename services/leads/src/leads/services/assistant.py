"""The funnel assistant's answers on the lead (contracts.assistant `answer_recorded`): the name and the CPF
the patient gave (the CPF checked again here, as staff's edits are), and the procedure and region wanted in
the notes. In the leads unit of work (never commits); published as `lead.updated`, audited as the assistant's."""

from __future__ import annotations

import logging

from contracts import EventMeta
from contracts.assistant import AssistantAnswerRecordedV1
from contracts.leads import LeadUpdatedV1
from leads import documents
from leads.domain import leads as rules
from leads.domain.errors import InvalidLead
from leads.services.common import audit, now, sources
from leads.services.sync import _lead
from leads.services.work import LeadsWork

log = logging.getLogger(__name__)
#: Who the audit trail says made the change.
ASSISTANT_ACTOR = "00000000-0000-4000-8000-00000000a551"


async def answer_recorded(uow: LeadsWork, event: AssistantAnswerRecordedV1, meta: EventMeta) -> None:
    before = await _lead(uow, meta.tenant_id, event.lead_id)
    if before is None:
        return
    changes: dict[str, object] = {}
    try:
        if event.name:
            changes["name"] = event.name
        if event.cpf:
            changes["cpf"] = documents.clean_cpf(event.cpf)
    except InvalidLead as exc:
        log.warning("assistant answer for lead %s not taken: %s", event.lead_id, exc)
        return
    wanted = [f"{label}: {value}" for label, value in (("Procedure", event.procedure), ("Region", event.region))
              if value]  # fmt: skip
    if wanted:
        line = "Assistant — " + "; ".join(wanted)
        if line not in (before.notes or ""):
            changes["notes"] = f"{before.notes}\n{line}" if before.notes else line
    if not changes:
        return
    try:
        after, diff = rules.edit(
            before, changes, known_sources=await sources(uow, meta.tenant_id), actor=ASSISTANT_ACTOR, now=now()
        )
    except InvalidLead as exc:
        log.warning("assistant answer for lead %s not taken: %s", event.lead_id, exc)
        return
    if not diff:
        return
    await uow.leads.save(before, after)
    await audit(
        uow, meta.tenant_id, entity="lead", entity_id=after.id, lead_id=after.id, action="assistant_answer",
        actor_id=ASSISTANT_ACTOR, changes=rules.audit_diff(diff), at=after.updated_at,
    )  # fmt: skip
    uow.publish(
        LeadUpdatedV1(
            lead_id=after.id, fields=sorted(diff), name=after.name, phone=after.phone, email=after.email,
            locale=after.locale, urgency=after.urgency, updated_by=ASSISTANT_ACTOR, updated_at=after.updated_at,
        ),
        tenant_id=meta.tenant_id,
    )  # fmt: skip
