"""Procedure prices and discount rules of a clinic (clinic admins)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from kit import context
from kit.auth import Principal
from payments.clock import Clock
from payments.domain.discounts import DiscountRule, ProcedurePrice, check_rule
from payments.domain.errors import NotFound
from payments.domain.money import check_currency, parse_amount
from payments.services.work import PaymentsWorkFactory


async def list_prices(uow_factory: PaymentsWorkFactory, principal: Principal) -> list[ProcedurePrice]:
    async with uow_factory() as uow:
        return await uow.prices.all(principal.tenant_id)


async def set_price(
    uow_factory: PaymentsWorkFactory,
    clock: Clock,
    principal: Principal,
    procedure_id: str,
    *,
    name: str,
    amount: Decimal,
    currency: str,
) -> ProcedurePrice:
    price = ProcedurePrice(
        tenant_id=principal.tenant_id,
        procedure_id=procedure_id,
        name=name,
        amount=parse_amount(amount),
        currency=check_currency(currency),
    )
    async with uow_factory() as uow:
        await uow.prices.upsert(price, principal.user_id, clock.now())
        await uow.commit()
    return price


async def delete_price(uow_factory: PaymentsWorkFactory, principal: Principal, procedure_id: str) -> None:
    async with uow_factory() as uow:
        if not await uow.prices.delete(principal.tenant_id, procedure_id):
            raise NotFound("This clinic has no price for that procedure.", field="procedure_id")
        await uow.commit()


async def list_discounts(uow_factory: PaymentsWorkFactory, principal: Principal) -> list[DiscountRule]:
    async with uow_factory() as uow:
        return await uow.discounts.all(principal.tenant_id)


def _value(kind: str, value: Decimal) -> Decimal:
    return parse_amount(value, field="value")


async def add_discount(
    uow_factory: PaymentsWorkFactory,
    clock: Clock,
    principal: Principal,
    *,
    name: str,
    kind: str,
    value: Decimal,
    procedure_id: str | None,
    valid_from: date | None,
    valid_until: date | None,
    active: bool,
) -> DiscountRule:
    check_rule(kind, value, valid_from, valid_until)
    rule = DiscountRule(
        id=context.new_id(),
        tenant_id=principal.tenant_id,
        name=name,
        kind=kind,
        value=_value(kind, value),
        procedure_id=procedure_id,
        valid_from=valid_from,
        valid_until=valid_until,
        active=active,
    )
    async with uow_factory() as uow:
        await uow.discounts.add(rule, clock.now())
        await uow.commit()
    return rule


async def update_discount(
    uow_factory: PaymentsWorkFactory,
    principal: Principal,
    rule_id: str,
    *,
    name: str,
    kind: str,
    value: Decimal,
    procedure_id: str | None,
    valid_from: date | None,
    valid_until: date | None,
    active: bool,
) -> DiscountRule:
    check_rule(kind, value, valid_from, valid_until)
    async with uow_factory() as uow:
        repo = uow.discounts
        rule = await repo.get(principal.tenant_id, rule_id)
        if rule is None:
            raise NotFound("No such discount rule in this clinic.", field="discount_id")
        updated = replace(
            rule,
            name=name,
            kind=kind,
            value=_value(kind, value),
            procedure_id=procedure_id,
            valid_from=valid_from,
            valid_until=valid_until,
            active=active,
        )
        await repo.save(updated)
        await uow.commit()
    return updated


async def delete_discount(uow_factory: PaymentsWorkFactory, principal: Principal, rule_id: str) -> None:
    async with uow_factory() as uow:
        if not await uow.discounts.delete(principal.tenant_id, rule_id):
            raise NotFound("No such discount rule in this clinic.", field="discount_id")
        await uow.commit()
