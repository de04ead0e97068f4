"""A clinic's own pipelines on a real PostgreSQL: created with their stages, renamed (one live name per clinic),
deals opened and moved by hand in them, removed (deleted when empty, archived with closed deals, refused with open
ones); the built-in two stay."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from funnel import services as cases
from funnel.domain import Conflict, InvalidFunnel, NotFound, StageSpec
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id

from .support import T0, staff

STAGES = [
    StageSpec("new", "New", "#3b82f6"),
    StageSpec("Quoted Price", "Quoted", "#EAB308"),
    StageSpec("won", "Won", "#16a34a", "won"),
    StageSpec("lost", "Lost", "#6b7280", "lost"),
]


async def _board(uow: FunnelWorkFactory, admin: object, pipeline_id: str) -> dict[str, tuple[int, list[str]]]:
    _, listed, totals, rows = await cases.board(
        uow, admin, pipeline_id, now=T0, curator_id=None, stage_id=None, overdue=False,  # type: ignore[arg-type]
        no_future_booking=False, per_stage=50,
    )  # fmt: skip
    counts = {t.stage_id: t.count for t in totals}
    return {s.key: (counts.get(s.id, 0), [r.name for r in rows if r.stage_id == s.id]) for s in listed}


async def test_a_clinic_adds_works_and_removes_its_own_pipeline(uow: FunnelWorkFactory) -> None:
    tenant = new_id()
    admin = staff(tenant)
    pipeline_id = await cases.create_pipeline(uow, admin, name="  Implants  campaign ", stages=STAGES)
    found, listed = await cases.pipelines(uow, admin)
    assert [(p.kind, p.name, p.automatic) for p in found] == [
        ("requests", "Requests and contacts", True),
        ("arrived", "Arrived and repeat", True),
        ("custom", "Implants campaign", False),
    ]
    mine = [(s.key, s.name, s.color, s.outcome, s.position) for s in listed if s.pipeline_id == pipeline_id]
    assert mine == [
        ("new", "New", "#3b82f6", "open", 0),
        ("quoted_price", "Quoted", "#eab308", "open", 1),
        ("won", "Won", "#16a34a", "won", 2),
        ("lost", "Lost", "#6b7280", "lost", 3),
    ]

    # Deals are opened and moved by hand there; the board counts them like any other.
    first = await cases.open_deal(
        uow, admin, pipeline_id, stage=None, name="Maria", phone="+5511987654321", lead_id=None, patient_id=None,
        amount=Decimal("1500"), now=T0,
    )  # fmt: skip
    second = await cases.open_deal(
        uow, admin, pipeline_id, stage="quoted_price", name="João", phone=None, lead_id=None, patient_id=None,
        amount=None, now=T0,
    )  # fmt: skip
    assert (await _board(uow, admin, pipeline_id))["new"] == (1, ["Maria"])
    assert (await _board(uow, admin, pipeline_id))["quoted_price"] == (1, ["João"])
    async with uow() as work:
        deal = await work.funnel.deal(tenant, first)
        kinds = (await work.session.execute(text("SELECT event_type FROM outbox ORDER BY id"))).scalars().all()
    assert deal is not None
    assert (deal.kind, deal.amount, deal.source) == ("custom", Decimal("1500.00"), "manual")
    assert [k for k in kinds if "deal.created" in k] == ["clinicflow.funnel.deal.created.v1"] * 2

    with pytest.raises(Conflict) as holding:  # open deals: refused, nothing removed
        await cases.remove_pipeline(uow, admin, pipeline_id, T0)
    assert holding.value.field == "pipeline_id"
    await cases.move_by_hand(uow, admin, first, "won", "signed the contract", T0)
    await cases.move_by_hand(uow, admin, second, "lost", "went elsewhere", T0)
    assert (await _board(uow, admin, pipeline_id))["won"] == (1, ["Maria"])

    # Only closed deals: archived, hidden from the list, its deals kept; the name is free again.
    assert await cases.remove_pipeline(uow, admin, pipeline_id, T0) == "archived"
    found, _ = await cases.pipelines(uow, admin)
    assert [p.kind for p in found] == ["requests", "arrived"]
    async with uow() as work:
        assert (await work.funnel.deal(tenant, first)) is not None
    with pytest.raises(NotFound):
        await cases.remove_pipeline(uow, admin, pipeline_id, T0)
    again = await cases.create_pipeline(uow, admin, name="implants campaign", stages=STAGES[:1])
    # Never held a deal: deleted outright, with its stages.
    assert await cases.remove_pipeline(uow, admin, again, T0) == "deleted"
    async with uow() as work:
        left = await work.session.execute(text("SELECT count(*) FROM stages WHERE pipeline_id = :p"), {"p": again})
        assert left.scalar_one() == 0


async def test_bad_pipelines_are_problems_naming_the_field(uow: FunnelWorkFactory) -> None:
    tenant = new_id()
    admin = staff(tenant)
    found, _ = await cases.pipelines(uow, admin)
    requests, arrived = found[0], found[1]

    async def refused(name: str, stages: list[StageSpec]) -> tuple[type, str | None]:
        with pytest.raises((InvalidFunnel, Conflict)) as caught:
            await cases.create_pipeline(uow, admin, name=name, stages=stages)
        return type(caught.value), caught.value.field

    assert await refused("Empty", []) == (InvalidFunnel, "stages")
    assert await refused(" ", STAGES) == (InvalidFunnel, "name")
    assert await refused("requests AND contacts", STAGES) == (Conflict, "name")  # the built-in names are taken
    assert await refused("Colours", [StageSpec("a", "A", "blue")]) == (InvalidFunnel, "stages.0.color")
    assert await refused("Colours", [StageSpec("a", "A", "#12345")]) == (InvalidFunnel, "stages.0.color")
    assert await refused("Keys", [StageSpec("a", "A", "#123456"), StageSpec("A", "B", "#123456")]) == (
        InvalidFunnel, "stages.1.key",
    )  # fmt: skip
    two_won = [
        StageSpec("a", "A", "#123456"),
        StageSpec("b", "B", "#123456", "won"),
        StageSpec("c", "C", "#123456", "won"),
    ]
    assert await refused("Won", two_won) == (InvalidFunnel, "stages.2.outcome")
    assert await refused("Closed", [StageSpec("w", "W", "#123456", "won")]) == (InvalidFunnel, "stages")
    assert await refused("Outcome", [StageSpec("a", "A", "#123456", "maybe")]) == (InvalidFunnel, "stages.0.outcome")

    mine = await cases.create_pipeline(uow, admin, name="Mine", stages=STAGES)
    with pytest.raises(Conflict) as duplicate:
        await cases.create_pipeline(uow, admin, name="MINE", stages=STAGES)
    assert duplicate.value.field == "name"
    with pytest.raises(Conflict) as renamed:  # a rename cannot take another pipeline's name either
        await cases.configure_pipeline(uow, admin, requests.id, name="mine", automatic=None)
    assert renamed.value.field == "name"
    await cases.configure_pipeline(uow, admin, mine, name="Mine", automatic=False)  # its own name is fine
    with pytest.raises(InvalidFunnel) as automatic:
        await cases.configure_pipeline(uow, admin, mine, name=None, automatic=True)
    assert automatic.value.field == "automatic"
    for builtin in (requests, arrived):
        with pytest.raises(Conflict) as kept:
            await cases.remove_pipeline(uow, admin, builtin.id, T0)
        assert kept.value.field == "pipeline_id"
    with pytest.raises(Conflict) as by_events:  # the built-in pipelines open their deals from events
        await cases.open_deal(
            uow, admin, requests.id, stage=None, name="X", phone=None, lead_id=None, patient_id=None, amount=None,
            now=T0,
        )  # fmt: skip
    assert by_events.value.field == "pipeline_id"
    with pytest.raises(NotFound) as stage:
        await cases.open_deal(
            uow, admin, mine, stage="nope", name="X", phone=None, lead_id=None, patient_id=None, amount=None, now=T0
        )
    assert stage.value.field == "stage"
    with pytest.raises(NotFound):  # another clinic's pipeline
        await cases.remove_pipeline(uow, staff(new_id()), mine, T0)
    only = await cases.create_pipeline(uow, admin, name="Only", stages=STAGES[:1])
    _, listed = await cases.pipelines(uow, admin)
    with pytest.raises(Conflict) as last:
        await cases.delete_stage(uow, admin, next(s.id for s in listed if s.pipeline_id == only))
    assert last.value.field == "stage_id"
