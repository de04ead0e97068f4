"""The unit of work of payments' use cases: kit's (a transaction, the outbox, one commit) with the repositories
hanging off it, so a use case writes `uow.charges.get(...)`, never `ChargeRepository(uow.session)`.

`PaymentsWork` is what the use cases ask for; `PaymentsUnitOfWork` is the PostgreSQL one (kit's app factories
build it, `unit_of_work=PaymentsUnitOfWork`). The catalogue's stores (prices, discount rules) are protocols, so
its use cases also run against the in-memory unit of work of the unit tests
(services/payments/tests/unit/memory.py); charges, refunds, receipts and accounts lean on PostgreSQL (locks,
`SKIP LOCKED`, receipts stored with the effect) and are tested in the integration and e2e tiers.
docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import UnitOfWork, Work
from payments.domain.discounts import DiscountRule, ProcedurePrice
from payments.repository import (
    AccountRepository,
    ChargeRepository,
    DiscountRepository,
    IdempotencyRepository,
    LeadSourceRepository,
    PriceRepository,
    RefundRepository,
    WebhookRepository,
)


class PriceStore(Protocol):
    async def get(self, tenant_id: str, procedure_id: str) -> ProcedurePrice | None: ...
    async def all(self, tenant_id: str) -> list[ProcedurePrice]: ...
    async def upsert(self, price: ProcedurePrice, user_id: str, now: datetime) -> None: ...
    async def delete(self, tenant_id: str, procedure_id: str) -> bool: ...


class DiscountStore(Protocol):
    async def all(self, tenant_id: str) -> list[DiscountRule]: ...
    async def get(self, tenant_id: str, rule_id: str) -> DiscountRule | None: ...
    async def add(self, rule: DiscountRule, now: datetime) -> None: ...
    async def save(self, rule: DiscountRule) -> None: ...
    async def delete(self, tenant_id: str, rule_id: str) -> bool: ...


class PaymentsWork(Work, Protocol):
    prices: PriceStore
    discounts: DiscountStore
    # PostgreSQL only (see the module's docstring).
    charges: ChargeRepository
    refunds: RefundRepository
    idempotency: IdempotencyRepository
    webhooks: WebhookRepository
    lead_sources: LeadSourceRepository
    accounts: AccountRepository


PaymentsWorkFactory = Callable[[], PaymentsWork]


class PaymentsUnitOfWork(UnitOfWork):
    """kit's unit of work with payments' repositories on its session."""

    prices: PriceStore
    discounts: DiscountStore
    charges: ChargeRepository
    refunds: RefundRepository
    idempotency: IdempotencyRepository
    webhooks: WebhookRepository
    lead_sources: LeadSourceRepository
    accounts: AccountRepository

    def opened(self, session: AsyncSession) -> None:
        self.prices = PriceRepository(session)
        self.discounts = DiscountRepository(session)
        self.charges = ChargeRepository(session)
        self.refunds = RefundRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.webhooks = WebhookRepository(session)
        self.lead_sources = LeadSourceRepository(session)
        self.accounts = AccountRepository(session)
