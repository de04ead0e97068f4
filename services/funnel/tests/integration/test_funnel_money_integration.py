"""Payments and refunds on a real PostgreSQL: the deal's ledger and what its curator earns (general and
per-service percentages), once per payment whatever the redeliveries, over a period; curators see their own."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.notifications import MessageSentV1
from contracts.payments import PaymentConfirmedV1, PaymentRefundedV1
from contracts.people import Person
from contracts.scheduling import PatientArrivedV1
from funnel import services as cases
from funnel.domain import InvalidFunnel, NotFound, PlanItem
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id

from .support import PROC, T0, Clock, deliver, in_directory, staff

DAY = T0.date()


def paid(payment: str, person: Person, amount: str, procedure: str | None, days: int = 0) -> PaymentConfirmedV1:
    return PaymentConfirmedV1(
        payment_id=payment, person=person, procedure_id=procedure, amount=amount, currency="BRL", method="pix",
        provider="asaas", provider_payment_id=payment, paid_at=T0 + timedelta(days=days),
    )  # fmt: skip


def refunded(payment: str, person: Person, amount: str, total: str, days: int = 0) -> PaymentRefundedV1:
    return PaymentRefundedV1(
        payment_id=payment, person=person, procedure_id=PROC, amount=amount, total_refunded=total, currency="BRL",
        partial=True, refunded_by="u", refunded_at=T0 + timedelta(days=days),
    )  # fmt: skip


async def test_curators_earn_from_their_patients_payments_less_refunds(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    curators = staff(tenant), staff(tenant)
    for member in curators:  # curators are members of the clinic's staff directory
        await in_directory(uow, member)
    curator, other_curator = (member.user_id for member in curators)
    with pytest.raises(InvalidFunnel) as caught:
        await cases.set_curator_terms(uow, admin, curator, Decimal("10"), {PROC: Decimal("-1")})
    assert caught.value.field == f"per_service.{PROC}"
    await cases.set_curator_terms(uow, admin, curator, Decimal("10"), {PROC: Decimal("20")})
    await cases.set_curator_terms(uow, admin, other_curator, Decimal("5"), {})
    person = Person(patient_id=new_id(), name="Bruna")
    arrival = PatientArrivedV1(
        appointment_id=new_id(), person=person, branch_id="b", professional_id="p", procedure_id=PROC,
        arrived_at=T0, first_visit=True, checked_in_by="u",
    )  # fmt: skip
    await deliver(uow, tenant, arrival, clock)
    async with uow() as work:
        deal = await work.funnel.arrived_deal(tenant, person.patient_id or "")
    assert deal is not None
    await deliver(uow, tenant, paid("before", person, "100.00", PROC), clock)  # no curator yet: earns nobody
    await cases.assign_curator(uow, admin, deal.id, curator, clock())

    await deliver(uow, tenant, paid("p1", person, "1000.00", PROC), clock)
    await deliver(uow, tenant, paid("p1", person, "1000.00", PROC), clock)  # a redelivery counts once
    await deliver(uow, tenant, paid("p2", person, "500.00", "cleaning", days=1), clock)
    await deliver(uow, tenant, refunded("p1", person, "300.00", "300.00", days=2), clock)
    await deliver(uow, tenant, refunded("p1", person, "300.00", "300.00", days=2), clock)
    # The curator changes: later payments earn the new one; a refund of p1 still takes back from the first.
    await cases.assign_curator(uow, admin, deal.id, other_curator, clock())
    await deliver(uow, tenant, paid("p3", person, "200.00", PROC, days=3), clock)
    await deliver(uow, tenant, refunded("p1", person, "100.00", "400.00", days=40), clock)

    found = await cases.earnings(uow, admin, DAY, DAY + timedelta(days=30), None)
    by = {r.curator_id if isinstance(r.curator_id, str) else str(r.curator_id): r for r in found}
    assert (str(by[curator].paid), str(by[curator].refunded), str(by[curator].earned), by[curator].payments) == (
        "1500.00",
        "300.00",
        "190.00",
        2,
    )  # fmt: skip  (1000 x 20 % + 500 x 10 % - 300 x 20 %)
    assert str(by[other_curator].earned) == "10.00"  # 200 x 5 %
    later = await cases.earnings(uow, admin, DAY + timedelta(days=31), DAY + timedelta(days=60), None)
    assert [(str(r.refunded), str(r.earned)) for r in later] == [("100.00", "-20.00")]

    # A curator sees only their own; another clinic sees nothing; a bad period is a problem.
    mine = staff(tenant, "funnel:read", "funnel:write")
    mine = type(mine)(user_id=curator, tenant_id=tenant, email="c@clinic.test", permissions=mine.permissions)
    assert [str(r.curator_id) for r in await cases.earnings(uow, mine, DAY, DAY + timedelta(days=30), None)] == [
        curator
    ]
    with pytest.raises(NotFound):
        await cases.earnings(uow, mine, DAY, DAY + timedelta(days=30), other_curator)
    assert await cases.earnings(uow, staff(new_id()), DAY, DAY + timedelta(days=30), None) == []
    with pytest.raises(InvalidFunnel):
        await cases.earnings(uow, admin, DAY, date(2000, 1, 1), None)

    card = await cases.card(uow, admin, deal.id)
    assert str(card["deal"].paid) == "1400.00"  # 100 + 1000 + 500 + 200 - 300 - 100
    assert [m.id for m in card["money"]][:1] == ["p1:refund:400.00"]


async def test_the_card_shows_messages_sent_and_the_board_filters_by_plan_and_activity(
    uow: FunnelWorkFactory,
) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    people = [Person(lead_id=new_id(), patient_id=new_id(), name=f"P{n}", phone=f"+55119000000{n}") for n in range(3)]
    deals = []
    for person in people:
        arrival = PatientArrivedV1(
            appointment_id=new_id(), person=person, branch_id="b", professional_id="p", procedure_id=PROC,
            arrived_at=T0, first_visit=True, checked_in_by="u",
        )  # fmt: skip
        await deliver(uow, tenant, arrival, clock)
        async with uow() as work:
            deals.append(await work.funnel.arrived_deal(tenant, person.patient_id or ""))
    sent = MessageSentV1(
        message_id="m1", lead_id=people[0].lead_id, channel="whatsapp", to=people[0].phone or "", template="welcome",
        locale="pt-BR", provider="twilio", provider_message_id="SM1", sent_at=T0,
    )  # fmt: skip
    await deliver(uow, tenant, sent, clock)
    await deliver(uow, tenant, sent, clock)
    card = await cases.card(uow, admin, deals[0].id)
    assert [(m.id, m.template) for m in card["messages"]] == [("m1", "welcome")]
    assert (await cases.card(uow, admin, deals[1].id))["messages"] == []
    with pytest.raises(NotFound):
        await cases.card(uow, staff(new_id()), deals[0].id)  # another clinic's card

    item = PlanItem("Implante", 1, Decimal("1000.00"), procedure_id=PROC)
    first = await cases.create_plan(uow, admin, deals[0].id, "A", "BRL", [item], clock())
    await cases.create_plan(uow, admin, deals[1].id, "B", "BRL", [item], clock())
    await cases.sign_plan(uow, admin, first, clock())
    found, _ = await cases.pipelines(uow, admin)
    arrived = next(p for p in found if p.kind == "arrived")

    async def names(**filters: object) -> list[str]:
        _, _, _, rows = await cases.board(
            uow, admin, arrived.id, now=clock(), curator_id=None, stage_id=None, overdue=False,
            no_future_booking=False, per_stage=50, **filters,  # type: ignore[arg-type]
        )  # fmt: skip
        return sorted(r.name for r in rows)

    assert await names(plan_state="signed") == ["P0"]
    assert await names(plan_state="created") == ["P1"]
    assert await names(plan_state="none") == ["P2"]
    assert await names(activity="active") == ["P0", "P1", "P2"]  # all arrived today
    clock.now = T0 + timedelta(days=100)
    await deliver(uow, tenant, paid("late", people[2], "50.00", PROC, days=100), clock)
    assert await names(activity="active") == ["P2"]
    assert await names(activity="inactive") == ["P0", "P1"]
    assert await names(activity="inactive", active_days=365) == []
    for bad, field in (({"plan_state": "maybe"}, "plan_state"), ({"activity": "asleep"}, "activity"),
                       ({"activity": "active", "active_days": 0}, "active_days")):  # fmt: skip
        with pytest.raises(InvalidFunnel) as caught:
            await names(**bad)
        assert caught.value.field == field
