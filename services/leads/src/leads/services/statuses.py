"""Use cases on the clinic's lead-status styles: read (crm:read), recolour, rename, reorder (crm:admin)."""

from __future__ import annotations

from typing import Any

from kit.auth import Principal
from leads.domain import statuses as rules
from leads.domain.statuses import StatusStyle
from leads.services.common import audit
from leads.services.work import LeadsWork, LeadsWorkFactory


async def _audit(
    uow: LeadsWork, principal: Principal, status: str | None, action: str, changes: dict[str, Any]
) -> None:
    """Entries of the clinic (entity_id: the clinic): `lead_status:<STATUS>`, or `lead_status` for the order."""
    await audit(
        uow,
        principal.tenant_id,
        entity=f"lead_status:{status}" if status else "lead_status",
        entity_id=principal.tenant_id,
        lead_id=None,
        action=action,
        actor_id=principal.user_id,
        changes=changes,
    )


async def styles(uow_factory: LeadsWorkFactory, principal: Principal) -> list[StatusStyle]:
    async with uow_factory() as uow:
        return rules.styles(await uow.statuses.of_clinic(principal.tenant_id))


async def restyle(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    status: str,
    *,
    label: str | None,
    clear_label: bool,
    color: str | None,
    reset_color: bool,
) -> StatusStyle:
    rules.check_known(status)
    async with uow_factory() as uow:
        current = {s.status: s for s in rules.styles(await uow.statuses.of_clinic(principal.tenant_id))}
        before = current[status]
        after = rules.restyle(before, label=label, clear_label=clear_label, color=color, reset_color=reset_color)
        diff = {
            k: [getattr(before, k), getattr(after, k)]
            for k in ("label", "color")
            if getattr(before, k) != getattr(after, k)
        }
        if diff:
            await uow.statuses.save(principal.tenant_id, [after])
            await _audit(uow, principal, status, "updated", diff)
            await uow.commit()
    return after


async def reorder(uow_factory: LeadsWorkFactory, principal: Principal, order: list[str]) -> list[StatusStyle]:
    async with uow_factory() as uow:
        current = rules.styles(await uow.statuses.of_clinic(principal.tenant_id))
        after = rules.reorder(current, order)
        await uow.statuses.save(principal.tenant_id, after)
        await _audit(uow, principal, None, "reordered", {"order": [[s.status for s in current], order]})
        await uow.commit()
    return after
