"""The catalogue's use cases (prices and discount rules) against the in-memory unit of work: what they store,
what they refuse (naming the field), the tenant boundary, and that a refused change stores nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

import pytest

from kit.auth import Principal
from kit.context import new_id
from payments.clock import Clock
from payments.domain.errors import InvalidInput, NotFound
from payments.services import catalogue
from payments.services.work import PaymentsWorkFactory
from services.payments.tests.unit.memory import CatalogueState, MemoryPayments

CLOCK = Clock()


def admin(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id or new_id(), email="a@clinic.test", permissions=frozenset({"crm:admin"})
    )


@pytest.fixture
def db() -> MemoryPayments:
    return MemoryPayments(CatalogueState())


def factory(db: MemoryPayments) -> PaymentsWorkFactory:
    return cast(PaymentsWorkFactory, db.factory())


async def test_a_price_is_set_replaced_listed_per_clinic_and_deleted(db: MemoryPayments) -> None:
    me, other = admin(), admin()
    uow, proc = factory(db), new_id()
    await catalogue.set_price(uow, CLOCK, me, proc, name="Botox", amount=Decimal("900"), currency="brl")
    again = await catalogue.set_price(uow, CLOCK, me, proc, name="Botox", amount=Decimal("950.50"), currency="BRL")
    assert (again.amount, again.currency) == (Decimal("950.50"), "BRL")
    await catalogue.set_price(uow, CLOCK, me, new_id(), name="Avaliação", amount=Decimal("200"), currency="BRL")
    assert [p.name for p in await catalogue.list_prices(uow, me)] == ["Avaliação", "Botox"]
    assert await catalogue.list_prices(uow, other) == []
    with pytest.raises(NotFound) as missing:  # another clinic's procedure is not there for it
        await catalogue.delete_price(uow, other, proc)
    assert missing.value.field == "procedure_id"
    await catalogue.delete_price(uow, me, proc)
    assert [p.name for p in await catalogue.list_prices(uow, me)] == ["Avaliação"]
    assert db.commits == 4


async def test_a_bad_price_is_refused_before_anything_is_stored(db: MemoryPayments) -> None:
    with pytest.raises(InvalidInput):
        await catalogue.set_price(factory(db), CLOCK, admin(), new_id(), name="X", amount=Decimal("-1"), currency="BRL")
    with pytest.raises(InvalidInput):
        await catalogue.set_price(factory(db), CLOCK, admin(), new_id(), name="X", amount=Decimal("1"), currency="R$")
    assert db.state.prices == {}
    assert db.commits == 0


async def test_discount_rules_are_checked_edited_and_deleted_in_their_clinic(db: MemoryPayments) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    rule = await catalogue.add_discount(
        uow, CLOCK, me, name="Família", kind="percentage", value=Decimal("10"), procedure_id=None,
        valid_from=date(2027, 1, 1), valid_until=date(2027, 12, 31), active=True,
    )  # fmt: skip
    for bad, field in (
        ({"kind": "percentage", "value": Decimal("120")}, "value"),
        ({"kind": "bogus", "value": Decimal("5")}, "kind"),
        ({"kind": "fixed", "value": Decimal("0")}, "value"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await catalogue.update_discount(
                uow, me, rule.id, name="x", procedure_id=None, valid_from=None, valid_until=None, active=True, **bad
            )  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as backwards:
        await catalogue.add_discount(
            uow, CLOCK, me, name="x", kind="fixed", value=Decimal("5"), procedure_id=None,
            valid_from=date(2027, 2, 1), valid_until=date(2027, 1, 1), active=True,
        )  # fmt: skip
    assert backwards.value.field == "valid_until"
    changed = await catalogue.update_discount(
        uow, me, rule.id, name="Família", kind="fixed", value=Decimal("50"), procedure_id=None,
        valid_from=None, valid_until=None, active=False,
    )  # fmt: skip
    assert [(r.kind, r.value, r.active) for r in await catalogue.list_discounts(uow, me)] == [
        ("fixed", Decimal("50"), False)
    ]
    assert changed.id == rule.id
    with pytest.raises(NotFound) as foreign:
        await catalogue.update_discount(
            uow, other, rule.id, name="x", kind="fixed", value=Decimal("1"), procedure_id=None,
            valid_from=None, valid_until=None, active=True,
        )  # fmt: skip
    assert foreign.value.field == "discount_id"
    with pytest.raises(NotFound):
        await catalogue.delete_discount(uow, other, rule.id)
    await catalogue.delete_discount(uow, me, rule.id)
    assert await catalogue.list_discounts(uow, me) == []
