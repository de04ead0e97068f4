"""What several use cases share: the clinic's calendar, loading a lead, the audit trail, `lead.updated`, list
lookups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from contracts.leads import LeadUpdatedV1
from kit.auth import Principal
from leads.domain import leads as rules
from leads.domain.errors import LeadNotFound
from leads.domain.leads import AuditEntry, Lead
from leads.services.work import LeadsWork


def now() -> datetime:
    return datetime.now(UTC)


def clinic_day(moment: datetime, timezone: str) -> date:
    """The calendar day at the clinic (metrics and follow-ups are by the clinic's days, not UTC's)."""
    try:
        return moment.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):
        return moment.astimezone(UTC).date()


def clinic_day_start(day: date, timezone: str) -> datetime:
    """Midnight of a clinic day, as an aware datetime (a date range is whole days at the clinic)."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time.min, tzinfo=zone)


def clinic_today(principal: Principal) -> date:
    return clinic_day(now(), principal.timezone)


async def load_lead(
    uow: LeadsWork,
    tenant_id: str,
    lead_id: str,
    *,
    for_update: bool = False,
    include_deleted: bool = False,
    changeable: bool = False,
    field: str | None = None,
) -> Lead:
    """The clinic's lead or LeadNotFound (404, naming `field` when the id came in a body); `changeable`: a lead
    merged into another is refused (leads.domain.leads.check_changeable)."""
    lead = await uow.leads.get(tenant_id, lead_id, for_update=for_update, include_deleted=include_deleted)
    if lead is None:
        raise LeadNotFound(f"No lead {lead_id} in this clinic.", field=field)
    return rules.check_changeable(lead) if changeable else lead


async def audit_lead(
    uow: LeadsWork, principal: Principal, lead_id: str, action: str, changes: dict[str, Any], *, at: datetime
) -> None:
    """A staff member's change to a lead, in its trail."""
    await audit(
        uow,
        principal.tenant_id,
        entity="lead",
        entity_id=lead_id,
        lead_id=lead_id,
        action=action,
        actor_id=principal.user_id,
        changes=changes,
        at=at,
    )


def lead_updated(after: Lead, fields: Iterable[str], *, by: str, at: datetime) -> LeadUpdatedV1:
    """`lead.updated`: which fields changed and the lead's contact details as they are now."""
    return LeadUpdatedV1(
        lead_id=after.id,
        fields=sorted(fields),
        name=after.name,
        phone=after.phone,
        email=after.email,
        locale=after.locale,
        urgency=after.urgency,
        updated_by=by,
        updated_at=at,
    )


async def audit(
    uow: LeadsWork,
    tenant_id: str,
    *,
    entity: str,
    entity_id: str,
    lead_id: str | None,
    action: str,
    actor_id: str | None,
    changes: dict[str, Any],
    at: datetime | None = None,
) -> None:
    await uow.audit.add(
        tenant_id,
        AuditEntry(
            entity=entity,
            entity_id=entity_id,
            lead_id=lead_id,
            action=action,
            actor_id=actor_id,
            at=at or now(),
            changes=changes,
        ),
    )


# --- the clinic's lists and intake settings, cached -----------------------------------------------
#: How long a read of a clinic's lists serves this process. A change made through this process is seen at
#: once (`forget_clinic`); a slug missing from the cached copy is read again before it is refused, so an item
#: added through another replica is usable at once too; only an item deactivated through another replica may
#: still be accepted here for up to this long.
LISTS_TTL_SECONDS = 10.0
_lists: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_windows: dict[str, tuple[float, int]] = {}


async def labels(uow: LeadsWork, tenant_id: str, kind: str, *, want: str | None = None) -> dict[str, str]:
    """slug -> label of the clinic's active items of a kind (what new data may use), from the cache."""
    hit = _lists.get((tenant_id, kind))
    if hit is not None and hit[0] > monotonic() and (want is None or want in hit[1]):
        return hit[1]
    found = await uow.lists.labels(tenant_id, kind)
    _lists[(tenant_id, kind)] = (monotonic() + LISTS_TTL_SECONDS, found)
    return found


async def dedupe_window_days(uow: LeadsWork, tenant_id: str) -> int:
    hit = _windows.get(tenant_id)
    if hit is not None and hit[0] > monotonic():
        return hit[1]
    days = await uow.lists.dedupe_window_days(tenant_id)
    _windows[tenant_id] = (monotonic() + LISTS_TTL_SECONDS, days)
    return days


def forget_clinic(tenant_id: str) -> None:
    """After a change to the clinic's lists or settings: the next read goes to the database."""
    for key in [k for k in _lists if k[0] == tenant_id]:
        _lists.pop(key, None)
    _windows.pop(tenant_id, None)


async def sources(uow: LeadsWork, tenant_id: str, *, want: str | None = None) -> dict[str, str]:
    return await labels(uow, tenant_id, "source", want=want)
