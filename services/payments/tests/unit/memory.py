"""The in-memory unit of work of payments (`PaymentsWork`'s catalogue stores over plain objects) for the
use-case tests of this tier: prices per clinic and procedure (a second price replaces the first), discount
rules in the order they were added, the tenant boundary. Charges, refunds, receipts and accounts have no
in-memory store (payments.services.work): touching one here fails loudly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devkit.memory import MemoryWork
from payments.domain.discounts import DiscountRule, ProcedurePrice


@dataclass
class CatalogueState:
    prices: dict[tuple[str, str], ProcedurePrice] = field(default_factory=dict)
    discounts: dict[str, DiscountRule] = field(default_factory=dict)


class MemoryPrices:
    def __init__(self, state: CatalogueState) -> None:
        self.s = state

    async def get(self, tenant_id: str, procedure_id: str) -> ProcedurePrice | None:
        return self.s.prices.get((tenant_id, procedure_id))

    async def all(self, tenant_id: str) -> list[ProcedurePrice]:
        return sorted((p for (t, _), p in self.s.prices.items() if t == tenant_id), key=lambda p: p.name)

    async def upsert(self, price: ProcedurePrice, user_id: str, now: datetime) -> None:
        self.s.prices[(price.tenant_id, price.procedure_id)] = price

    async def delete(self, tenant_id: str, procedure_id: str) -> bool:
        return self.s.prices.pop((tenant_id, procedure_id), None) is not None


class MemoryDiscounts:
    def __init__(self, state: CatalogueState) -> None:
        self.s = state

    async def all(self, tenant_id: str) -> list[DiscountRule]:
        return [r for r in self.s.discounts.values() if r.tenant_id == tenant_id]

    async def get(self, tenant_id: str, rule_id: str) -> DiscountRule | None:
        rule = self.s.discounts.get(rule_id)
        return rule if rule is not None and rule.tenant_id == tenant_id else None

    async def add(self, rule: DiscountRule, now: datetime) -> None:
        if rule.id in self.s.discounts:
            raise ValueError(f"duplicate key: discount {rule.id}")
        self.s.discounts[rule.id] = rule

    async def save(self, rule: DiscountRule) -> None:
        if await self.get(rule.tenant_id, rule.id) is not None:
            self.s.discounts[rule.id] = rule

    async def delete(self, tenant_id: str, rule_id: str) -> bool:
        if await self.get(tenant_id, rule_id) is None:
            return False
        del self.s.discounts[rule_id]
        return True


class _PostgresOnly:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this store is PostgreSQL only (payments.services.work): {name}")


class MemoryPayments(MemoryWork[CatalogueState]):
    def opened(self) -> None:
        self.prices = MemoryPrices(self.state)
        self.discounts = MemoryDiscounts(self.state)
        self.charges = self.refunds = self.idempotency = self.webhooks = _PostgresOnly()
        self.lead_sources = self.accounts = _PostgresOnly()
