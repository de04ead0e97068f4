"""Changing a lead: edits, status, owner, deletion. Each loads the lead (refusing one merged away), applies
the domain's rule, and stores, audits and publishes in one unit of work."""

from __future__ import annotations

from typing import Any

from contracts.leads import LeadAssignedV1, LeadDeletedV1, LeadStatusChangedV1
from kit.auth import Principal
from leads import documents, phones
from leads.domain import leads as rules
from leads.domain.leads import Lead, StatusChange
from leads.services import staff
from leads.services.common import audit_lead, lead_updated, load_lead, now, sources
from leads.services.work import LeadsWorkFactory


async def edit_lead(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, changes: dict[str, Any]) -> Lead:
    rules.check_editable(changes)
    normalised = dict(changes)
    if "phones" in normalised:
        normalised["phones"] = [phones.to_e164(p, principal.country) for p in normalised["phones"] or []]
    if "cpf" in normalised:
        normalised["cpf"] = documents.clean_cpf(normalised["cpf"])
    async with uow_factory() as uow:
        before = await load_lead(uow, principal.tenant_id, lead_id, for_update=True, changeable=True)
        after, diff = rules.edit(
            before,
            normalised,
            known_sources=await sources(uow, principal.tenant_id, want=normalised.get("source")),
            actor=principal.user_id,
            now=now(),
        )
        if not diff:
            return before
        await uow.leads.save(before, after)
        await audit_lead(uow, principal, lead_id, "updated", rules.audit_diff(diff), at=after.updated_at)
        uow.publish(lead_updated(after, diff, by=principal.user_id, at=after.updated_at), tenant_id=principal.tenant_id)
        await uow.commit()
    return after


async def change_status(
    uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, to_status: str, comment: str | None
) -> tuple[Lead, StatusChange]:
    async with uow_factory() as uow:
        before = await load_lead(uow, principal.tenant_id, lead_id, for_update=True, changeable=True)
        after, change = rules.change_status(before, to_status, comment=comment, actor=principal.user_id, now=now())
        await uow.leads.save(before, after)
        await uow.leads.add_status_change(principal.tenant_id, change)
        await audit_lead(
            uow,
            principal,
            lead_id,
            "status_changed",
            {"status": [change.from_status, change.to_status], "comment": change.comment},
            at=change.changed_at,
        )
        uow.publish(
            LeadStatusChangedV1(
                lead_id=lead_id,
                from_status=before.status,
                to_status=change.to_status,
                comment=change.comment,
                changed_by=principal.user_id,
                changed_at=change.changed_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after, change


async def assign(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, owner_id: str | None) -> Lead:
    async with uow_factory() as uow:
        before = await load_lead(uow, principal.tenant_id, lead_id, for_update=True, changeable=True)
        await staff.check_staff(uow, principal, {"owner_id": owner_id})
        after = rules.assign(before, owner_id, actor=principal.user_id, now=now())
        await uow.leads.save(before, after)
        await audit_lead(
            uow, principal, lead_id, "assigned", {"owner_id": [before.owner_id, owner_id]}, at=after.updated_at
        )
        uow.publish(
            LeadAssignedV1(
                lead_id=lead_id,
                owner_id=owner_id,
                previous_owner_id=before.owner_id,
                assigned_by=principal.user_id,
                assigned_at=after.updated_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after


async def delete_lead(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, *, confirm: bool) -> None:
    rules.check_delete(confirm)
    async with uow_factory() as uow:
        lead = await load_lead(uow, principal.tenant_id, lead_id, for_update=True)
        at = now()
        await uow.leads.hide(lead, deleted_at=at)
        await audit_lead(uow, principal, lead_id, "deleted", {"before": rules.auditable(lead)}, at=at)
        uow.publish(
            LeadDeletedV1(lead_id=lead_id, deleted_by=principal.user_id, deleted_at=at), tenant_id=principal.tenant_id
        )
        await uow.commit()
