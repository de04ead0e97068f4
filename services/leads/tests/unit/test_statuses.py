"""The clinic's lead-status styles: defaults, recolouring, renaming, reordering, refusals naming the field,
and one clinic's styles never another's (the use cases on the in-memory unit of work)."""

from __future__ import annotations

import pytest

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from kit.auth import Principal
from kit.context import new_id
from leads.domain import statuses as rules
from leads.domain.errors import InvalidLead
from leads.domain.leads import STATUSES
from leads.services import statuses as cases
from services.leads.tests.unit.memory import MemoryLeadsWork

pytestmark = pytest.mark.unit


def admin(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id or new_id(),
        email="admin@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )


def test_every_status_has_a_default_colour_and_place() -> None:
    found = rules.styles({})
    assert [s.status for s in found] == list(STATUSES)
    assert all(s.color.startswith("#") and len(s.color) == 7 and s.label is None for s in found)
    assert {s.status for s in found if s.closed} == {"NOT_INTERESTED", "VISIT_COMPLETED"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"color": "purple"}, "color"),
        ({"color": "#12345"}, "color"),
        ({"label": "   "}, "label"),
        ({"label": "x", "clear_label": True}, "label"),
        ({"color": "#123456", "reset_color": True}, "color"),
    ],
)
def test_a_bad_style_names_its_field(change: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"label": None, "clear_label": False, "color": None, "reset_color": False} | change
    with pytest.raises(InvalidLead) as refused:
        rules.restyle(rules.default("RESCHEDULED"), **args)  # type: ignore[arg-type]
    assert refused.value.field == field


@pytest.mark.parametrize(
    "order",
    [
        list(STATUSES)[:-1],
        [*STATUSES[:-1], STATUSES[0]],
        [*STATUSES[:-1], "LOST"],
    ],
)
def test_an_order_must_name_every_status_once(order: list[str]) -> None:
    with pytest.raises(InvalidLead) as refused:
        rules.reorder(rules.styles({}), order)
    assert refused.value.field == "statuses"


async def test_a_clinic_recolours_renames_and_reorders_its_own_statuses() -> None:
    db = MemoryLeadsWork()
    me, other = admin(), admin()
    painted = await cases.restyle(
        db.factory(), me, "RESCHEDULED", label="Remarcado", clear_label=False, color="#a855f7", reset_color=False
    )
    assert (painted.label, painted.color, painted.position) == ("Remarcado", "#A855F7", STATUSES.index("RESCHEDULED"))
    order = list(reversed(STATUSES))
    after = await cases.reorder(db.factory(), me, order)
    assert [s.status for s in after] == order
    mine = await cases.styles(db.factory(), me)
    assert [s.status for s in mine] == order
    assert next(s for s in mine if s.status == "RESCHEDULED").color == "#A855F7"
    # another clinic still has the defaults
    assert await cases.styles(db.factory(), other) == rules.styles({})
    back = await cases.restyle(
        db.factory(), me, "RESCHEDULED", label=None, clear_label=True, color=None, reset_color=True
    )
    assert (back.label, back.color) == (None, rules.DEFAULT_COLOURS["RESCHEDULED"])
    entries = [e for _, e in db.state.audit if e.entity.startswith("lead_status")]
    assert [(e.entity, e.action) for e in entries] == [
        ("lead_status:RESCHEDULED", "updated"),
        ("lead_status", "reordered"),
        ("lead_status:RESCHEDULED", "updated"),
    ]
    assert {e.entity_id for e in entries} == {me.tenant_id}


async def test_an_unknown_status_is_refused_naming_status() -> None:
    with pytest.raises(InvalidLead) as refused:
        await cases.restyle(
            MemoryLeadsWork().factory(),
            admin(),
            "LOST",
            label=None,
            clear_label=False,
            color="#000000",
            reset_color=False,
        )
    assert refused.value.field == "status"
