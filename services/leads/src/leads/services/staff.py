"""Use cases on the staff directory: keep it from the gateway's events, and check owners and responsible people.

The directory follows the gateway a moment behind (its outbox, Kafka, this worker): a member added a second
ago may not be known yet; the caller is always accepted for themselves (their token proves membership).
"""

from __future__ import annotations

from contracts import EventMeta
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from kit.auth import Principal
from leads.domain.staff import StaffMember, check_members
from leads.services.work import LeadsWork, LeadsWorkFactory


async def record(uow: LeadsWork, event: StaffCreatedV1 | StaffUpdatedV1 | StaffDeactivatedV1, meta: EventMeta) -> None:
    """staff.created / updated / deactivated -> the member's latest record (older events change nothing)."""
    member = StaffMember(
        user_id=event.user_id,
        tenant_id=meta.tenant_id,
        full_name=event.full_name,
        email=event.email,
        roles=tuple(event.roles),
        active=event.active and not isinstance(event, StaffDeactivatedV1),
    )
    await uow.staff.record(member, event.changed_at)


async def check_staff(uow: LeadsWork, principal: Principal, wanted: dict[str, str | None]) -> None:
    """field -> user id (None: not given). Each given id other than the caller's must be an active member."""
    others = {field: uid for field, uid in wanted.items() if uid is not None and uid != principal.user_id}
    if not others:
        return
    known = await uow.staff.active_ids(principal.tenant_id, sorted(set(others.values())))
    check_members(others, known | {principal.user_id})


async def directory(uow_factory: LeadsWorkFactory, principal: Principal) -> list[StaffMember]:
    async with uow_factory() as uow:
        return await uow.staff.of_clinic(principal.tenant_id)
