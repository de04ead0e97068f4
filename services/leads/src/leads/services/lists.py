"""Use cases on the clinic-configurable lists (clinic admins)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kit.auth import Principal
from kit.context import new_id
from leads.domain import lists as rules
from leads.domain.errors import Conflict, NotFound
from leads.domain.lists import ListItem
from leads.services.common import audit, forget_clinic
from leads.services.work import LeadsWork, LeadsWorkFactory


async def _audit(
    uow: LeadsWork, principal: Principal, kind: str, item_id: str, action: str, changes: dict[str, Any]
) -> None:
    await audit(
        uow,
        principal.tenant_id,
        entity=f"list:{kind}",
        entity_id=item_id,
        lead_id=None,
        action=action,
        actor_id=principal.user_id,
        changes=changes,
    )


async def items(
    uow_factory: LeadsWorkFactory, principal: Principal, kind: str, *, include_inactive: bool
) -> list[ListItem]:
    rules.check_kind(kind)
    async with uow_factory() as uow:
        found = await uow.lists.items(principal.tenant_id, kind, active_only=not include_inactive)
        await uow.commit()  # the first read of a clinic seeds its lists
    return found


async def add(
    uow_factory: LeadsWorkFactory, principal: Principal, kind: str, *, label: str, slug: str | None, color: str | None
) -> ListItem:
    rules.check_kind(kind)
    async with uow_factory() as uow:
        repo = uow.lists
        await repo.seed(principal.tenant_id)
        item = ListItem(
            id=new_id(),
            tenant_id=principal.tenant_id,
            kind=kind,
            slug=rules.check_slug(slug) if slug else rules.slug_from(label),
            label=rules.check_label(label),
            color=rules.check_color(color),
            position=await repo.next_position(principal.tenant_id, kind),
            active=True,
        )
        if await repo.slug_taken(principal.tenant_id, kind, item.slug):
            raise Conflict(f"The {kind} list already has the key {item.slug!r}.", field="slug")
        await repo.add(item)
        await _audit(uow, principal, kind, item.id, "created", {"slug": [None, item.slug], "label": [None, item.label]})
        await uow.commit()
        forget_clinic(principal.tenant_id)
    return item


async def update(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    kind: str,
    item_id: str,
    *,
    label: str | None,
    color: str | None,
    active: bool | None,
    clear_color: bool,
) -> ListItem:
    rules.check_kind(kind)
    async with uow_factory() as uow:
        repo = uow.lists
        before = await repo.get(principal.tenant_id, kind, item_id)
        if before is None:
            raise NotFound(f"No item {item_id} in the {kind} list.")
        after = replace(
            before,
            label=rules.check_label(label) if label is not None else before.label,
            color=None if clear_color else rules.check_color(color) if color is not None else before.color,
            active=before.active if active is None else active,
        )
        diff = {
            k: [getattr(before, k), getattr(after, k)]
            for k in ("label", "color", "active")
            if getattr(before, k) != getattr(after, k)
        }
        if diff:
            await repo.save(after)
            await _audit(uow, principal, kind, item_id, "updated", diff)
            await uow.commit()
            forget_clinic(principal.tenant_id)
    return after


async def reorder(uow_factory: LeadsWorkFactory, principal: Principal, kind: str, ids: list[str]) -> list[ListItem]:
    rules.check_kind(kind)
    async with uow_factory() as uow:
        repo = uow.lists
        current = {i.id for i in await repo.items(principal.tenant_id, kind)}
        if set(ids) != current or len(ids) != len(current):
            raise Conflict("Send every item id of the list exactly once, in the new order.", field="ids")
        await repo.reorder(principal.tenant_id, kind, ids)
        await _audit(uow, principal, kind, principal.tenant_id, "reordered", {"order": [None, ids]})
        await uow.commit()
        forget_clinic(principal.tenant_id)
        return await repo.items(principal.tenant_id, kind)


async def remove(uow_factory: LeadsWorkFactory, principal: Principal, kind: str, item_id: str) -> ListItem | None:
    """Delete an unused item; one in use is deactivated instead (returned), so history keeps its meaning."""
    rules.check_kind(kind)
    async with uow_factory() as uow:
        repo = uow.lists
        item = await repo.get(principal.tenant_id, kind, item_id)
        if item is None:
            raise NotFound(f"No item {item_id} in the {kind} list.")
        if await repo.in_use(principal.tenant_id, kind, item.slug):
            kept = replace(item, active=False)
            await repo.save(kept)
            await _audit(uow, principal, kind, item_id, "deactivated", {"active": [item.active, False]})
            await uow.commit()
            forget_clinic(principal.tenant_id)
            return kept
        await repo.delete(item)
        await _audit(uow, principal, kind, item_id, "deleted", {"slug": [item.slug, None]})
        await uow.commit()
        forget_clinic(principal.tenant_id)
    return None


# --- the clinic's intake settings --------------------------------------------------------------------------
async def set_dedupe_window(uow_factory: LeadsWorkFactory, principal: Principal, days: int) -> int:
    rules.check_dedupe_window(days)
    async with uow_factory() as uow:
        before = await uow.lists.dedupe_window_days(principal.tenant_id)
        await uow.lists.set_dedupe_window_days(principal.tenant_id, days)
        await audit(
            uow,
            principal.tenant_id,
            entity="settings",
            entity_id=principal.tenant_id,
            lead_id=None,
            action="updated",
            actor_id=principal.user_id,
            changes={"dedupe_window_days": [before, days]},
        )
        await uow.commit()
    forget_clinic(principal.tenant_id)
    return days


async def dedupe_window(uow_factory: LeadsWorkFactory, principal: Principal) -> int:
    async with uow_factory() as uow:
        return await uow.lists.dedupe_window_days(principal.tenant_id)
