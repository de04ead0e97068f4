"""The unit of work of funnel's use cases: kit's (a transaction, the outbox, one commit) with the repositories
hanging off it, so a use case writes `uow.funnel.deal(...)`, never `Repository(uow.session)`.

`FunnelWork` is what the use cases ask for; `FunnelUnitOfWork` is the PostgreSQL one (kit's app factories build
it, `unit_of_work=FunnelUnitOfWork`). Its `funnel` repository is deferred (funnel.repository.Repository): the
activity lines and board-counter deltas of a whole consumer batch are written in one statement each just before
the commit, and the clinic's pipelines and stages are read once per unit of work. The clinic's settings and the
curators' terms are protocols (`uow.settings`, `uow.curators`). The in-memory unit of work of the unit tests
(services/funnel/tests/unit/memory.py) also stands in for `funnel` (duck-typed: Repository is a class), so the
rules that move deals, plans and tasks run there without IO; what leans on PostgreSQL (locks, the board's
counters, the one-deal-per-patient index, the valuation process, the assistant, privacy) is tested in the
integration and e2e tiers. docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from funnel.repository import Repository, Row
from funnel.repository.assistant import AssistantRepository
from funnel.repository.privacy import PrivacyRepository
from funnel.repository.valuation import ValuationRepository
from kit.db import UnitOfWork, Work


class SettingsStore(Protocol):
    async def settings(self, tenant_id: str) -> Row | None: ...
    async def put_settings(self, tenant_id: str, now: datetime, **values: Any) -> None: ...


class CuratorStore(Protocol):
    async def put_curator(
        self, tenant_id: str, user_id: str, general: Decimal, per_service: dict[str, str]
    ) -> None: ...
    async def curator(self, tenant_id: str, user_id: str) -> Row | None: ...
    async def curators(self, tenant_id: str) -> list[Row]: ...
    async def active_staff(self, tenant_id: str, user_ids: list[str]) -> set[str]: ...


class FunnelWork(Work, Protocol):
    settings: SettingsStore
    curators: CuratorStore
    # PostgreSQL only (see the module's docstring).
    funnel: Repository
    valuation: ValuationRepository
    assistant: AssistantRepository
    privacy: PrivacyRepository


FunnelWorkFactory = Callable[[], FunnelWork]


class FunnelUnitOfWork(UnitOfWork):
    """kit's unit of work with funnel's repositories on its session; what `funnel` deferred is written at commit."""

    settings: SettingsStore
    curators: CuratorStore
    funnel: Repository
    valuation: ValuationRepository
    assistant: AssistantRepository
    privacy: PrivacyRepository

    def opened(self, session: AsyncSession) -> None:
        self.funnel = Repository(session, deferred=True)
        self.settings = self.curators = self.funnel
        self.valuation = ValuationRepository(session)
        self.assistant = AssistantRepository(session)
        self.privacy = PrivacyRepository(session)

    async def commit(self) -> None:
        await self.funnel.flush()
        await super().commit()
