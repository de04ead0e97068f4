"""The unit of work of analytics' use cases: kit's (a transaction, the outbox, one commit) with the repositories
hanging off it, so a use case writes `uow.reports.conversion(...)`, never `ReportRepository(uow.session)`.

`AnalyticsWork` is what the use cases ask for; `AnalyticsUnitOfWork` is the PostgreSQL one (kit's app factories
build it, `unit_of_work=AnalyticsUnitOfWork`; the worker's `ProjectionUnitOfWork` extends it). Analytics' read
models are SQL (the reports aggregate in PostgreSQL, the facts are computed by queries, the fact refresher
takes an advisory lock), so its use cases are tested in the integration tier on a migrated database.
docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from analytics.repository.dashboard import DashboardRepository
from analytics.repository.facts import FactRepository
from analytics.repository.inputs import InputRepository
from analytics.repository.privacy import PrivacyRepository
from analytics.repository.projections import ProjectionRepository
from analytics.repository.reports import ReportRepository
from kit.db import UnitOfWork, Work


class AnalyticsWork(Work, Protocol):
    projections: ProjectionRepository
    facts: FactRepository
    reports: ReportRepository
    inputs: InputRepository
    dashboard: DashboardRepository
    privacy: PrivacyRepository

    async def claim_inbox_many(self, consumer: str, event_ids: list[str]) -> set[str]: ...


AnalyticsWorkFactory = Callable[[], AnalyticsWork]


class AnalyticsUnitOfWork(UnitOfWork):
    """kit's unit of work with analytics' repositories on its session."""

    projections: ProjectionRepository
    facts: FactRepository
    reports: ReportRepository
    inputs: InputRepository
    dashboard: DashboardRepository
    privacy: PrivacyRepository

    def opened(self, session: AsyncSession) -> None:
        self.projections = ProjectionRepository(session)
        self.facts = FactRepository(session)
        self.reports = ReportRepository(session)
        self.inputs = InputRepository(session)
        self.dashboard = DashboardRepository(session)
        self.privacy = PrivacyRepository(session)
