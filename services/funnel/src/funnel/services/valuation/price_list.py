"""The clinic's costs and discounts (the items and prices of quotes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from funnel.domain import NotFound
from funnel.domain import valuation as rules
from funnel.repository.valuation import Row
from funnel.services.valuation.common import Env
from kit import context
from kit.auth import Principal


# --- costs and discounts -----------------------------------------------------------------------
async def add_cost(env: Env, principal: Principal, *, name: str, price: Decimal, currency: str) -> str:
    from funnel.domain import clean_currency

    cost_id = context.new_id()
    async with env.uow() as work:
        await work.valuation.add_cost(
            id=cost_id, tenant_id=principal.tenant_id, name=rules.clean_text(name, field_name="name", max_length=200,
            required=True), price=rules.clean_price(price), currency=clean_currency(currency), created_at=env.clock(),
        )  # fmt: skip
        await work.commit()
    return cost_id


async def edit_cost(env: Env, principal: Principal, cost_id: str, changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = rules.clean_text(changes["name"], field_name="name", max_length=200, required=True)
    if "price" in changes:
        values["price"] = rules.clean_price(changes["price"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    async with env.uow() as work:
        found = await work.valuation.costs(principal.tenant_id, ids=[cost_id])
        if not found:
            raise NotFound("No such cost.", field="cost_id")
        if values:
            await work.valuation.set_cost(principal.tenant_id, cost_id, **values)
        await work.commit()


async def costs(env: Env, principal: Principal) -> list[Row]:
    async with env.uow() as work:
        return await work.valuation.costs(principal.tenant_id)


async def add_discount(env: Env, principal: Principal, *, name: str, percent: Decimal) -> str:
    discount_id = context.new_id()
    async with env.uow() as work:
        await work.valuation.add_discount(
            id=discount_id, tenant_id=principal.tenant_id,
            name=rules.clean_text(name, field_name="name", max_length=200, required=True),
            percent=rules.clean_discount(percent), created_at=env.clock(),
        )  # fmt: skip
        await work.commit()
    return discount_id


async def edit_discount(env: Env, principal: Principal, discount_id: str, changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = rules.clean_text(changes["name"], field_name="name", max_length=200, required=True)
    if "percent" in changes:
        values["percent"] = rules.clean_discount(changes["percent"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    async with env.uow() as work:
        repo = work.valuation
        if not await repo.discounts(principal.tenant_id, ids=[discount_id]):
            raise NotFound("No such discount.", field="discount_id")
        if values:
            await repo.set_discount(principal.tenant_id, discount_id, **values)
        await work.commit()


async def discounts(env: Env, principal: Principal) -> list[Row]:
    async with env.uow() as work:
        return await work.valuation.discounts(principal.tenant_id)
