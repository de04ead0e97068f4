"""The in-memory unit of work of leads (`LeadsWork` over plain objects) for the use-case tests of this tier.

A test double of the PostgreSQL repositories with their observable behaviour: tenant boundaries, soft
deletion and merges hidden from reads, the clinic's lists seeded on first use, the staff directory ignoring
older events, open leads by contact. Statements, locks and indexes are PostgreSQL's: the integration and e2e
tiers test those. Matching, patients, forms and receipts have no in-memory store (leads.services.work).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from devkit.memory import MemoryWork
from kit.context import new_id
from leads.domain.activities import SCHEDULED, Activity, ActivityQuery, Bell
from leads.domain.leads import CLOSED_STATUSES, AuditEntry, Lead, LeadRequest, StatusChange, search_key
from leads.domain.lists import DEFAULTS, ListItem
from leads.domain.queries import LeadQuery, Metrics
from leads.domain.staff import StaffMember
from leads.domain.statuses import StatusStyle


@dataclass
class LeadsState:
    leads: dict[str, Lead] = field(default_factory=dict)
    stats_days: dict[str, date] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    history: list[tuple[str, StatusChange]] = field(default_factory=list)
    requests: dict[str, LeadRequest] = field(default_factory=dict)
    audit: list[tuple[str, AuditEntry]] = field(default_factory=list)
    lists: dict[str, ListItem] = field(default_factory=dict)
    seeded: set[str] = field(default_factory=set)
    windows: dict[str, int] = field(default_factory=dict)
    statuses: dict[tuple[str, str], StatusStyle] = field(default_factory=dict)
    staff: dict[str, tuple[StaffMember, datetime]] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)


class MemoryLeads:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    def _visible(self, tenant_id: str) -> list[Lead]:
        return [x for x in self.s.leads.values() if x.tenant_id == tenant_id and x.id not in self.s.hidden]

    async def add(self, lead: Lead, *, stats_day: date) -> None:
        if lead.id in self.s.leads:
            raise ValueError(f"duplicate key: lead {lead.id}")
        self.s.leads[lead.id] = lead
        self.s.stats_days[lead.id] = stats_day

    async def get(
        self, tenant_id: str, lead_id: str, *, for_update: bool = False, include_deleted: bool = False
    ) -> Lead | None:
        lead = self.s.leads.get(lead_id)
        if lead is None or lead.tenant_id != tenant_id or (lead_id in self.s.deleted and not include_deleted):
            return None
        return lead

    async def save(self, before: Lead, after: Lead) -> None:
        self.s.leads[after.id] = after

    async def hide(self, lead: Lead, *, deleted_at: datetime | None = None, merged_into: str | None = None) -> None:
        self.s.hidden.add(lead.id)
        if deleted_at is not None:
            self.s.deleted.add(lead.id)
        if merged_into is not None:
            self.s.leads[lead.id] = replace(self.s.leads[lead.id], merged_into=merged_into)

    async def add_status_change(self, tenant_id: str, change: StatusChange) -> None:
        self.s.history.append((tenant_id, change))

    async def status_history(self, tenant_id: str, lead_id: str) -> list[StatusChange]:
        found = [c for t, c in self.s.history if t == tenant_id and c.lead_id == lead_id]
        return sorted(found, key=lambda c: c.changed_at)

    async def open_by_handle(self, tenant_id: str, channel: str, address: str) -> list[Lead]:
        found = [
            x
            for x in self._visible(tenant_id)
            if x.status not in CLOSED_STATUSES and x.contacts.get(channel) == address
        ]
        return sorted(found, key=lambda x: x.updated_at, reverse=True)[:5]

    async def open_by_contact(
        self, tenant_id: str, *, phones: list[str], email: str | None, since: datetime
    ) -> list[Lead]:
        found = [
            x
            for x in self._visible(tenant_id)
            if x.status not in CLOSED_STATUSES
            and x.updated_at >= since
            and (set(phones) & set(x.phones) or (email is not None and x.email == email))
        ]
        return sorted(found, key=lambda x: x.updated_at, reverse=True)[:20]

    async def page(self, tenant_id: str, q: LeadQuery) -> tuple[list[Lead], int]:
        def wanted(x: Lead) -> bool:
            follow = x.next_follow_up
            owners_ok = not (q.owner_ids or q.unassigned) or (
                x.owner_id in q.owner_ids or (q.unassigned and x.owner_id is None)
            )
            texts = [
                q.phone is not None and q.phone in x.phones,
                q.cpf is not None and x.cpf == q.cpf,
                q.email is not None and x.email == q.email,
                q.name is not None and all(w in search_key(x.name).split() for w in q.name.split()),
            ]
            return (
                (q.created_from is None or x.created_at >= q.created_from)
                and (q.created_to is None or x.created_at < q.created_to)
                and (not q.statuses or x.status in q.statuses)
                and (not q.sources or x.source in q.sources)
                and owners_ok
                and (not q.urgencies or x.urgency in q.urgencies)
                and (q.follow_up_from is None or (follow is not None and follow >= q.follow_up_from))
                and (q.follow_up_to is None or (follow is not None and follow <= q.follow_up_to))
                and (not any((q.phone, q.cpf, q.email, q.name)) or any(texts))
            )

        key = q.sort.lstrip("-")
        found = sorted(
            (x for x in self._visible(tenant_id) if wanted(x)),
            key=lambda x: (getattr(x, key) is None, getattr(x, key) or "", x.id),
            reverse=q.sort.startswith("-"),
        )
        return found[q.offset : q.offset + q.limit], len(found)

    async def metrics(self, tenant_id: str, day_from: date, day_to: date, today: date) -> Metrics:
        period = [x for x in self._visible(tenant_id) if day_from <= self.s.stats_days[x.id] <= day_to]
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for x in period:
            by_status[x.status] = by_status.get(x.status, 0) + 1
            by_source[x.source] = by_source.get(x.source, 0) + 1
        visible = self._visible(tenant_id)
        return Metrics(
            period_from=day_from,
            period_to=day_to,
            total=len(period),
            high_urgency=sum(1 for x in period if x.urgency == "high"),
            follow_ups_today=sum(1 for x in visible if x.next_follow_up == today),
            follow_ups_overdue=sum(
                1
                for x in visible
                if x.next_follow_up is not None and x.next_follow_up < today and x.status not in CLOSED_STATUSES
            ),
            by_status=by_status,
            by_source=by_source,
        )


class MemoryRequests:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    async def add(self, request: LeadRequest) -> None:
        self.s.requests[request.id] = request

    async def get(self, tenant_id: str, request_id: str) -> LeadRequest | None:
        found = self.s.requests.get(request_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def save(self, request: LeadRequest) -> None:
        self.s.requests[request.id] = request

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[LeadRequest]:
        found = [r for r in self.s.requests.values() if r.tenant_id == tenant_id and r.lead_id == lead_id]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    async def recent(
        self, tenant_id: str, *, latest_only: bool, handled: bool | None, limit: int, offset: int
    ) -> list[LeadRequest]:
        found = sorted(
            (
                r
                for r in self.s.requests.values()
                if r.tenant_id == tenant_id
                and r.lead_id not in self.s.hidden
                and (handled is None or r.handled is handled)
            ),
            key=lambda r: r.created_at,
            reverse=True,
        )
        if latest_only:
            seen: set[str] = set()
            found = [r for r in found if not (r.lead_id in seen or seen.add(r.lead_id))]  # type: ignore[func-returns-value]
        return found[offset : offset + limit]

    async def move(self, tenant_id: str, from_lead: str, to_lead: str) -> None:
        for r in list(self.s.requests.values()):
            if r.tenant_id == tenant_id and r.lead_id == from_lead:
                self.s.requests[r.id] = replace(r, lead_id=to_lead)


class MemoryAudit:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    async def add(self, tenant_id: str, entry: AuditEntry) -> None:
        self.s.audit.append((tenant_id, entry))

    async def trail(self, tenant_id: str, lead_id: str, *, limit: int, offset: int) -> list[AuditEntry]:
        found = [e for t, e in self.s.audit if t == tenant_id and e.lead_id == lead_id]
        return found[offset : offset + limit]


class MemoryLists:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    async def seed(self, tenant_id: str) -> None:
        if tenant_id in self.s.seeded:
            return
        self.s.seeded.add(tenant_id)
        for kind, items in DEFAULTS.items():
            for position, (slug, label, color) in enumerate(items):
                item = ListItem(new_id(), tenant_id, kind, slug, label, color, position, True)
                self.s.lists[item.id] = item

    async def items(self, tenant_id: str, kind: str, *, active_only: bool = False) -> list[ListItem]:
        await self.seed(tenant_id)
        found = [
            i
            for i in self.s.lists.values()
            if i.tenant_id == tenant_id and i.kind == kind and (i.active or not active_only)
        ]
        return sorted(found, key=lambda i: (i.position, i.label))

    async def labels(self, tenant_id: str, kind: str) -> dict[str, str]:
        return {i.slug: i.label for i in await self.items(tenant_id, kind, active_only=True)}

    async def get(self, tenant_id: str, kind: str, item_id: str) -> ListItem | None:
        found = self.s.lists.get(item_id)
        return found if found is not None and (found.tenant_id, found.kind) == (tenant_id, kind) else None

    async def slug_taken(self, tenant_id: str, kind: str, slug: str) -> bool:
        return any((i.tenant_id, i.kind, i.slug) == (tenant_id, kind, slug) for i in self.s.lists.values())

    async def next_position(self, tenant_id: str, kind: str) -> int:
        positions = [i.position for i in self.s.lists.values() if (i.tenant_id, i.kind) == (tenant_id, kind)]
        return max(positions) + 1 if positions else 0

    async def add(self, item: ListItem) -> None:
        if await self.slug_taken(item.tenant_id, item.kind, item.slug):
            raise ValueError(f"duplicate key: {item.kind} {item.slug}")
        self.s.lists[item.id] = item

    async def save(self, item: ListItem) -> None:
        self.s.lists[item.id] = item

    async def reorder(self, tenant_id: str, kind: str, ids: list[str]) -> None:
        for position, item_id in enumerate(ids):
            item = await self.get(tenant_id, kind, item_id)
            if item is not None:
                self.s.lists[item_id] = replace(item, position=position)

    async def in_use(self, tenant_id: str, kind: str, slug: str) -> bool:
        if kind == "source":
            return any(x.tenant_id == tenant_id and x.source == slug for x in self.s.leads.values())
        column = {"group": "group", "treatment": "treatment", "channel": "channel", "request_status": "status"}
        if kind not in column:
            return False
        return any(r.tenant_id == tenant_id and getattr(r, column[kind]) == slug for r in self.s.requests.values())

    async def delete(self, item: ListItem) -> None:
        self.s.lists.pop(item.id, None)

    async def dedupe_window_days(self, tenant_id: str) -> int:
        return self.s.windows.get(tenant_id, 30)

    async def set_dedupe_window_days(self, tenant_id: str, days: int) -> None:
        self.s.windows[tenant_id] = days


class MemoryStatusStyles:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    async def of_clinic(self, tenant_id: str) -> dict[str, StatusStyle]:
        return {status: style for (t, status), style in self.s.statuses.items() if t == tenant_id}

    async def save(self, tenant_id: str, styles: list[StatusStyle]) -> None:
        for style in styles:
            self.s.statuses[(tenant_id, style.status)] = style


class MemoryStaff:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    async def record(self, member: StaffMember, changed_at: datetime) -> None:
        known = self.s.staff.get(member.user_id)
        if known is None or known[1] <= changed_at:
            self.s.staff[member.user_id] = (member, changed_at)

    async def active_ids(self, tenant_id: str, user_ids: list[str]) -> set[str]:
        return {
            uid
            for uid in user_ids
            if uid in self.s.staff and self.s.staff[uid][0].tenant_id == tenant_id and self.s.staff[uid][0].active
        }

    async def of_clinic(self, tenant_id: str) -> list[StaffMember]:
        found = [m for m, _ in self.s.staff.values() if m.tenant_id == tenant_id and m.active]
        return sorted(found, key=lambda m: m.full_name)


class MemoryActivities:
    def __init__(self, state: LeadsState) -> None:
        self.s = state

    def _of(self, tenant_id: str) -> list[Activity]:
        """As the repository reads them: with their lead's name."""
        return [
            replace(a, lead_name=lead.name if (lead := self.s.leads.get(a.lead_id)) else None)
            for a in self.s.activities.values()
            if a.tenant_id == tenant_id and a.lead_id not in self.s.deleted
        ]

    async def add(self, activity: Activity) -> None:
        if activity.id in self.s.activities:
            raise ValueError(f"duplicate key: activity {activity.id}")
        self.s.activities[activity.id] = activity

    async def get(self, tenant_id: str, activity_id: str, *, for_update: bool = False) -> Activity | None:
        return next((a for a in self._of(tenant_id) if a.id == activity_id), None)

    async def save(self, activity: Activity) -> None:
        self.s.activities[activity.id] = activity

    async def page(self, tenant_id: str, query: ActivityQuery) -> tuple[list[Activity], int]:
        q = query
        found = [
            a
            for a in self._of(tenant_id)
            if (q.viewer is None or not a.private or a.responsible_id == q.viewer)
            and (not q.states or a.state in q.states)
            and (not q.types or a.type in q.types)
            and (not q.responsible_ids or a.responsible_id in q.responsible_ids)
            and (q.lead_id is None or a.lead_id == q.lead_id)
            and (q.scheduled_from is None or a.scheduled_at >= q.scheduled_from)
            and (q.scheduled_to is None or a.scheduled_at < q.scheduled_to)
            and (not q.overdue or (q.now is not None and a.is_overdue(q.now)))
        ]
        found.sort(key=lambda a: (a.scheduled_at, a.id), reverse=q.sort.startswith("-"))
        return found[q.offset : q.offset + q.limit], len(found)

    async def bell(self, tenant_id: str, user_id: str, *, now: datetime, day: tuple[datetime, datetime]) -> Bell:
        mine = sorted(
            (a for a in self._of(tenant_id) if a.responsible_id == user_id and a.state == SCHEDULED),
            key=lambda a: (a.scheduled_at, a.id),
        )
        return Bell(
            pending=len(mine),
            overdue=sum(1 for a in mine if a.scheduled_at < now),
            due_today=sum(1 for a in mine if day[0] <= a.scheduled_at < day[1]),
            next=mine[:5],
        )


class MemoryLeadsWork(MemoryWork[LeadsState]):
    """`LeadsWork` in memory: `MemoryLeadsWork().factory()` is what a use case takes as `uow_factory`."""

    def __init__(self, state: LeadsState | None = None) -> None:
        super().__init__(state or LeadsState(), source="leads")

    def opened(self) -> None:
        self.leads = MemoryLeads(self.state)
        self.requests = MemoryRequests(self.state)
        self.audit = MemoryAudit(self.state)
        self.lists = MemoryLists(self.state)
        self.statuses = MemoryStatusStyles(self.state)
        self.staff = MemoryStaff(self.state)
        self.activities = MemoryActivities(self.state)

    def trail(self, lead_id: str) -> list[AuditEntry]:
        return [e for _, e in self.state.audit if e.lead_id == lead_id]
