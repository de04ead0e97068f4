"""Staff's in-app notifications: list, unread count, mark read, who sees which; the confirmation rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kit.auth import Principal
from notifications.domain import (
    USER_PREFIX,
)
from notifications.services import common
from notifications.services.dispatch import _inapp_view
from notifications.services.work import NotificationsWorkFactory


async def inapp_list(
    uow_factory: NotificationsWorkFactory, principal: Principal, *, unread_only: bool, limit: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow_factory() as uow:
        repo = uow.inapp
        rows = await repo.list(
            principal.tenant_id, principal.user_id, principal.roles, unread_only=unread_only, limit=limit
        )
        unread = await repo.unread(principal.tenant_id, principal.user_id, principal.roles)
    return [_inapp_view(r) for r in rows], unread


async def inapp_unread(uow_factory: NotificationsWorkFactory, principal: Principal) -> int:
    async with uow_factory() as uow:
        return await uow.inapp.unread(principal.tenant_id, principal.user_id, principal.roles)


async def inapp_mark_read(
    uow_factory: NotificationsWorkFactory, principal: Principal, ids: Sequence[str] | None
) -> int:
    async with uow_factory() as uow:
        marked = await uow.inapp.mark_read(principal.tenant_id, principal.user_id, principal.roles, ids, common.clock())
        await uow.commit()
    return marked


def inapp_visible(principal: Principal, notification: Mapping[str, Any]) -> bool:
    audience = notification.get("audience")
    return audience == f"{USER_PREFIX}{principal.user_id}" or audience in {f"role:{r}" for r in principal.roles}


async def confirmation_stats(uow_factory: NotificationsWorkFactory, principal: Principal) -> dict[str, Any]:
    async with uow_factory() as uow:
        return await uow.confirmations.stats(principal.tenant_id)
