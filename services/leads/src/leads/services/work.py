"""The unit of work of leads' use cases: kit's (a transaction, the outbox, one commit) with the repositories
hanging off it, so a use case writes `uow.leads.get(...)`, never `LeadRepository(uow.session)`.

`LeadsWork` is what the use cases ask for; `LeadsUnitOfWork` is the PostgreSQL one (kit's app factories build
it, `unit_of_work=LeadsUnitOfWork`). The stores of the write side are protocols, so the use cases also run
against the in-memory unit of work of the unit tests (services/leads/tests/unit/memory.py). The query-heavy
repositories (matching's trigram search, patients, forms and receipts, the retention of lost leads) are
PostgreSQL only: the use cases on them are tested in the integration and e2e tiers. docs/architecture.md,
"Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import UnitOfWork, Work
from leads.domain.activities import Activity, ActivityQuery, Bell
from leads.domain.leads import AuditEntry, Lead, LeadRequest, StatusChange
from leads.domain.lists import ListItem
from leads.domain.queries import LeadQuery, Metrics
from leads.domain.staff import StaffMember
from leads.domain.statuses import StatusStyle
from leads.repository import AuditRepository, LeadRepository, ListRepository, RequestRepository
from leads.repository.activities import ActivityRepository
from leads.repository.intake import FormRepository, ReceiptRepository
from leads.repository.matching import MatchRepository
from leads.repository.patients import PatientRepository
from leads.repository.privacy import RetentionRepository
from leads.repository.staff import StaffRepository
from leads.repository.statuses import StatusStyleRepository


class LeadStore(Protocol):
    async def add(self, lead: Lead, *, stats_day: date) -> None: ...
    async def get(
        self, tenant_id: str, lead_id: str, *, for_update: bool = False, include_deleted: bool = False
    ) -> Lead | None: ...
    async def save(self, before: Lead, after: Lead) -> None: ...
    async def hide(self, lead: Lead, *, deleted_at: datetime | None = None, merged_into: str | None = None) -> None: ...
    async def add_status_change(self, tenant_id: str, change: StatusChange) -> None: ...
    async def status_history(self, tenant_id: str, lead_id: str) -> list[StatusChange]: ...
    async def open_by_contact(
        self, tenant_id: str, *, phones: list[str], email: str | None, since: datetime
    ) -> list[Lead]: ...
    async def open_by_handle(self, tenant_id: str, channel: str, address: str) -> list[Lead]: ...
    async def page(self, tenant_id: str, q: LeadQuery) -> tuple[list[Lead], int]: ...
    async def metrics(self, tenant_id: str, day_from: date, day_to: date, today: date) -> Metrics: ...


class RequestStore(Protocol):
    async def add(self, request: LeadRequest) -> None: ...
    async def get(self, tenant_id: str, request_id: str) -> LeadRequest | None: ...
    async def save(self, request: LeadRequest) -> None: ...
    async def for_lead(self, tenant_id: str, lead_id: str) -> list[LeadRequest]: ...
    async def recent(
        self, tenant_id: str, *, latest_only: bool, handled: bool | None, limit: int, offset: int
    ) -> list[LeadRequest]: ...
    async def move(self, tenant_id: str, from_lead: str, to_lead: str) -> None: ...


class AuditStore(Protocol):
    async def add(self, tenant_id: str, entry: AuditEntry) -> None: ...
    async def trail(self, tenant_id: str, lead_id: str, *, limit: int, offset: int) -> list[AuditEntry]: ...


class ListStore(Protocol):
    async def seed(self, tenant_id: str) -> None: ...
    async def items(self, tenant_id: str, kind: str, *, active_only: bool = False) -> list[ListItem]: ...
    async def labels(self, tenant_id: str, kind: str) -> dict[str, str]: ...
    async def get(self, tenant_id: str, kind: str, item_id: str) -> ListItem | None: ...
    async def slug_taken(self, tenant_id: str, kind: str, slug: str) -> bool: ...
    async def next_position(self, tenant_id: str, kind: str) -> int: ...
    async def add(self, item: ListItem) -> None: ...
    async def save(self, item: ListItem) -> None: ...
    async def reorder(self, tenant_id: str, kind: str, ids: list[str]) -> None: ...
    async def in_use(self, tenant_id: str, kind: str, slug: str) -> bool: ...
    async def delete(self, item: ListItem) -> None: ...
    async def dedupe_window_days(self, tenant_id: str) -> int: ...
    async def set_dedupe_window_days(self, tenant_id: str, days: int) -> None: ...


class StatusStyleStore(Protocol):
    async def of_clinic(self, tenant_id: str) -> dict[str, StatusStyle]: ...
    async def save(self, tenant_id: str, styles: list[StatusStyle]) -> None: ...


class StaffStore(Protocol):
    async def record(self, member: StaffMember, changed_at: datetime) -> None: ...
    async def active_ids(self, tenant_id: str, user_ids: list[str]) -> set[str]: ...
    async def of_clinic(self, tenant_id: str) -> list[StaffMember]: ...


class ActivityStore(Protocol):
    async def add(self, activity: Activity) -> None: ...
    async def get(self, tenant_id: str, activity_id: str, *, for_update: bool = False) -> Activity | None: ...
    async def save(self, activity: Activity) -> None: ...
    async def page(self, tenant_id: str, query: ActivityQuery) -> tuple[list[Activity], int]: ...
    async def bell(self, tenant_id: str, user_id: str, *, now: datetime, day: tuple[datetime, datetime]) -> Bell: ...


class LeadsWork(Work, Protocol):
    leads: LeadStore
    requests: RequestStore
    audit: AuditStore
    lists: ListStore
    statuses: StatusStyleStore
    staff: StaffStore
    activities: ActivityStore
    # PostgreSQL only (see the module's docstring).
    matching: MatchRepository
    patients: PatientRepository
    forms: FormRepository
    receipts: ReceiptRepository
    retention: RetentionRepository


LeadsWorkFactory = Callable[[], LeadsWork]


class LeadsUnitOfWork(UnitOfWork):
    """kit's unit of work with leads' repositories on its session."""

    leads: LeadStore
    requests: RequestStore
    audit: AuditStore
    lists: ListStore
    statuses: StatusStyleStore
    staff: StaffStore
    activities: ActivityStore
    matching: MatchRepository
    patients: PatientRepository
    forms: FormRepository
    receipts: ReceiptRepository
    retention: RetentionRepository

    def opened(self, session: AsyncSession) -> None:
        self.leads = LeadRepository(session)
        self.requests = RequestRepository(session)
        self.audit = AuditRepository(session)
        self.lists = ListRepository(session)
        self.statuses = StatusStyleRepository(session)
        self.staff = StaffRepository(session)
        self.activities = ActivityRepository(session)
        self.matching = MatchRepository(session)
        self.patients = PatientRepository(session)
        self.forms = FormRepository(session)
        self.receipts = ReceiptRepository(session)
        self.retention = RetentionRepository(session)
