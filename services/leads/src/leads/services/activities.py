"""Use cases on activities: schedule, read, list, edit, complete, cancel, the bell.

Events: ActivityScheduledV1 when an activity is created, and again whenever its plan (time, responsible
person, private flag: the event's fields) changes, so consumers keep the latest one per activity_id;
ActivityCompletedV1 when it is done, ActivityCancelledV1 when it is called off (both audited too).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import msgspec

from contracts.leads import ActivityCancelledV1, ActivityCompletedV1, ActivityScheduledV1
from kit.auth import Principal
from kit.context import new_id
from leads.domain import activities as rules
from leads.domain.activities import Activity, ActivityNotFound, ActivityQuery, Bell
from leads.services import staff
from leads.services.common import audit, load_lead, now
from leads.services.work import LeadsWork, LeadsWorkFactory


class NewActivity(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    #: Checked by the domain: with a time zone offset, within two years of now.
    scheduled_at: datetime
    title: str | None = None
    notes: str | None = None
    #: Default: the creator.
    responsible_id: str | None = None
    private: bool = False


def _not_found(activity_id: str) -> ActivityNotFound:
    return ActivityNotFound(f"No activity {activity_id} in this clinic.")


async def _visible(uow: LeadsWork, principal: Principal, activity_id: str, *, for_update: bool) -> Activity:
    """The activity if the caller may see it; otherwise it does not exist (404, never 403)."""
    found = await uow.activities.get(principal.tenant_id, activity_id, for_update=for_update)
    if found is None or not rules.can_see(found, principal.user_id, principal.permissions):
        raise _not_found(activity_id)
    return found


def _scheduled_event(activity: Activity) -> ActivityScheduledV1:
    return ActivityScheduledV1(
        lead_id=activity.lead_id,
        activity_id=activity.id,
        type=activity.type,
        scheduled_at=activity.scheduled_at,
        responsible_id=activity.responsible_id,
        private=activity.private,
    )


async def add_from_event(uow: LeadsWork, activity: Activity, *, actor: str, at: datetime) -> bool:
    """An activity another context's event asks for (a call-back for a missed call or a no-show), in the
    consumer's unit of work: stored, audited and announced once (False: that id exists already)."""
    if await uow.activities.get(activity.tenant_id, activity.id) is not None:
        return False
    await uow.activities.add(activity)
    await audit(
        uow,
        activity.tenant_id,
        entity="activity",
        entity_id=activity.id,
        lead_id=activity.lead_id,
        action="created",
        actor_id=actor,
        changes=rules.audit_created(activity),
        at=at,
    )
    uow.publish(_scheduled_event(activity), tenant_id=activity.tenant_id)
    return True


async def _audit(
    uow: LeadsWork, principal: Principal, activity: Activity, action: str, changes: dict[str, Any]
) -> None:
    await audit(
        uow,
        principal.tenant_id,
        entity="activity",
        entity_id=activity.id,
        lead_id=activity.lead_id,
        action=action,
        actor_id=principal.user_id,
        changes=changes,
        at=activity.updated_at,
    )


async def schedule(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, data: NewActivity) -> Activity:
    activity = rules.new_activity(
        activity_id=new_id(),
        tenant_id=principal.tenant_id,
        lead_id=lead_id,
        activity_type=data.type,
        title=data.title,
        notes=data.notes,
        scheduled_at=data.scheduled_at,
        responsible_id=data.responsible_id,
        private=data.private,
        created_by=principal.user_id,
        now=now(),
    )
    async with uow_factory() as uow:
        await staff.check_staff(uow, principal, {"responsible_id": data.responsible_id})
        lead = await load_lead(uow, principal.tenant_id, lead_id, changeable=True, field="lead_id")
        await uow.activities.add(activity)
        await _audit(uow, principal, activity, "created", rules.audit_created(activity))
        uow.publish(_scheduled_event(activity), tenant_id=principal.tenant_id)
        await uow.commit()
    return replace(activity, lead_name=lead.name)


async def get(uow_factory: LeadsWorkFactory, principal: Principal, activity_id: str) -> Activity:
    async with uow_factory() as uow:
        return await _visible(uow, principal, activity_id, for_update=False)


async def find(
    uow_factory: LeadsWorkFactory, principal: Principal, query: ActivityQuery, *, mine: bool = False
) -> tuple[list[Activity], int]:
    """The activities the caller may see, filtered; a lead id that is not the clinic's gives 404."""
    query = rules.check_query(
        replace(
            query,
            responsible_ids=rules.responsible_filter(mine, query.responsible_ids, principal.user_id),
            now=now(),
            viewer=rules.viewer_of(principal.user_id, principal.permissions),
        )
    )
    async with uow_factory() as uow:
        if query.lead_id:
            await load_lead(uow, principal.tenant_id, query.lead_id, field="lead_id")
        return await uow.activities.page(principal.tenant_id, query)


async def edit(
    uow_factory: LeadsWorkFactory, principal: Principal, activity_id: str, changes: dict[str, Any]
) -> Activity:
    async with uow_factory() as uow:
        before = await _visible(uow, principal, activity_id, for_update=True)
        await staff.check_staff(uow, principal, {"responsible_id": changes.get("responsible_id")})
        after, diff = rules.edit(before, changes, now=now())
        if not diff:
            return before
        await uow.activities.save(after)
        await _audit(uow, principal, after, "updated", rules.audit_diff(before, after, diff))
        if rules.PLAN_FIELDS & diff.keys():
            uow.publish(_scheduled_event(after), tenant_id=principal.tenant_id)
        await uow.commit()
    return after


async def complete(
    uow_factory: LeadsWorkFactory, principal: Principal, activity_id: str, result: str | None
) -> Activity:
    async with uow_factory() as uow:
        before = await _visible(uow, principal, activity_id, for_update=True)
        after = rules.complete(before, result, actor=principal.user_id, now=now())
        await uow.activities.save(after)
        await _audit(uow, principal, after, "completed", rules.audit_closed(before, after, text_field="result"))
        assert after.completed_at is not None
        uow.publish(
            ActivityCompletedV1(
                lead_id=after.lead_id,
                activity_id=after.id,
                type=after.type,
                result=after.result,
                completed_by=principal.user_id,
                completed_at=after.completed_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after


async def cancel(uow_factory: LeadsWorkFactory, principal: Principal, activity_id: str, reason: str | None) -> Activity:
    async with uow_factory() as uow:
        before = await _visible(uow, principal, activity_id, for_update=True)
        after = rules.cancel(before, reason, actor=principal.user_id, now=now())
        await uow.activities.save(after)
        await _audit(uow, principal, after, "cancelled", rules.audit_closed(before, after, text_field="reason"))
        uow.publish(
            ActivityCancelledV1(
                lead_id=after.lead_id,
                activity_id=after.id,
                type=after.type,
                reason=after.result,
                cancelled_by=principal.user_id,
                cancelled_at=after.updated_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after


async def bell(uow_factory: LeadsWorkFactory, principal: Principal) -> Bell:
    """The caller's scheduled activities: how many, how many overdue, how many today (clinic time)."""
    at = now()
    async with uow_factory() as uow:
        return await uow.activities.bell(
            principal.tenant_id, principal.user_id, now=at, day=rules.day_window(at, principal.timezone)
        )
