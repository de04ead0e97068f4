"""The clinics' staff directory kept from the gateway's events: a professional may be linked only to an active
staff member of the clinic (docs/scheduling.md, "Professionals")."""

from __future__ import annotations

from contracts import Event, EventMeta
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from kit.auth import Principal
from scheduling.domain.errors import Invalid
from scheduling.repository.staff import StaffRepository
from scheduling.services.env import Env
from scheduling.services.work import SchedulingWork

STAFF_EVENTS: tuple[type[Event], ...] = (StaffCreatedV1, StaffUpdatedV1, StaffDeactivatedV1)


async def staff_changed(env: Env, uow: SchedulingWork, event: Event, meta: EventMeta) -> None:
    assert isinstance(event, StaffCreatedV1 | StaffUpdatedV1 | StaffDeactivatedV1)
    active = event.active and not isinstance(event, StaffDeactivatedV1)
    await uow.staff.record(meta.tenant_id, event.user_id, active=active, changed_at=event.changed_at)


async def check_member(repo: StaffRepository, principal: Principal, user_id: str | None, *, field: str) -> None:
    """A given id other than the caller's own must be an active staff member of the clinic: else a 422."""
    if user_id is None or user_id == principal.user_id:
        return
    if user_id not in await repo.active_ids(principal.tenant_id, [user_id]):
        raise Invalid(f"{user_id} is not an active staff member of this clinic.", field=field)
