"""telephony's use cases on accounts, tracking numbers, the leads read model and the recordings' retention against
the in-memory unit of work: what they store, what they refuse (naming the field, storing nothing), the tenant
boundary, the per-process directory forgetting a clinic on an edit. Calls and recordings lean on PostgreSQL and
are tested in the integration tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from contracts import EventMeta
from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from contracts.leads import LeadCreatedV1, LeadDeletedV1, LeadUpdatedV1
from kit.auth import Principal
from kit.context import new_id
from services.telephony.tests.unit.memory import MemoryTelephony, TelephonyState
from telephony import services as cases
from telephony.domain import Conflict, InvalidTelephony, NotFound, RetentionRule
from telephony.services.work import TelephonyWork, TelephonyWorkFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def admin(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id or new_id(),
        email="admin@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
        country="BR",
    )


def meta(tenant_id: str, event_type: str) -> EventMeta:
    return EventMeta(
        id=new_id(), source="test", type=event_type, time=NOW, subject=new_id(), tenant_id=tenant_id,
        correlation_id=new_id(),
    )  # fmt: skip


@pytest.fixture
def db() -> MemoryTelephony:
    return MemoryTelephony(TelephonyState())


def factory(db: MemoryTelephony) -> TelephonyWorkFactory:
    return cast(TelephonyWorkFactory, db.factory())


async def test_a_provider_is_connected_replaced_and_listed_per_clinic(db: MemoryTelephony) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    await cases.connect(uow, me, "zadarma", secret=" s3cret ", api_key="", timezone=None)
    again = await cases.connect(uow, me, "zadarma", secret="rotated", api_key="", timezone="America/Manaus")
    assert (again.secret, again.timezone, again.country) == ("rotated", "America/Manaus", "BR")
    mine = dict(await cases.connections(uow, me))
    assert mine["zadarma"] == again
    assert {p for p, a in mine.items() if a is None} == set(mine) - {"zadarma"}  # every other provider listed
    assert all(a is None for _, a in await cases.connections(uow, other))
    assert db.commits == 2


@pytest.mark.parametrize(
    ("provider", "secret", "api_key", "api_url", "error", "field"),
    [
        ("nokia", "s", "", "", NotFound, "provider"),
        ("zadarma", "  ", "", "", InvalidTelephony, "secret"),
        ("mango", "salt", "", "", InvalidTelephony, "api_key"),
        ("asterisk", "k", "u:p", "ftp://pbx", InvalidTelephony, "api_url"),
    ],
)
async def test_a_bad_connection_is_refused_naming_the_field_and_stores_nothing(
    db: MemoryTelephony, provider: str, secret: str, api_key: str, api_url: str, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        await cases.connect(
            factory(db), admin(), provider, secret=secret, api_key=api_key, timezone=None, api_url=api_url
        )
    assert getattr(refused.value, "field", None) == field
    assert db.state.accounts == {}
    assert db.commits == 0


async def test_tracking_numbers_are_normalised_unique_per_clinic_and_removed_only_by_their_clinic(
    db: MemoryTelephony,
) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    flyer = await cases.add_number(uow, me, number="(11) 3000-0001", source="Flyer", label=" Rua Augusta ")
    assert (flyer.number, flyer.source, flyer.label) == ("+551130000001", "flyer", "Rua Augusta")
    with pytest.raises(Conflict) as twice:
        await cases.add_number(uow, me, number="+55 11 3000-0001", source="google_ads", label=None)
    assert twice.value.field == "number"
    await cases.add_number(uow, other, number="+551130000001", source="site", label=None)  # another clinic may
    with pytest.raises(InvalidTelephony) as bad:
        await cases.add_number(uow, me, number="call us", source="site", label=None)
    assert bad.value.field == "number"
    assert [n.source for n in await cases.list_numbers(uow, me)] == ["flyer"]
    with pytest.raises(NotFound):  # not another clinic's to remove
        await cases.remove_number(uow, other, flyer.id)
    await cases.remove_number(uow, me, flyer.id)
    assert await cases.list_numbers(uow, me) == []
    assert [n.source for n in await cases.list_numbers(uow, other)] == ["site"]


async def test_the_directory_caches_a_clinic_and_forgets_it_when_an_admin_edits_through_this_process(
    db: MemoryTelephony,
) -> None:
    me = admin()
    uow = factory(db)
    ticks = [0.0]
    directory = cases.Directory(ttl=5.0, clock=lambda: ticks[0])
    assert await directory.account(uow, me.tenant_id, "twilio") is None  # cached as "not connected"
    db.state.accounts.clear()
    await cases.connect(uow, me, "twilio", secret="t", api_key="AC1", timezone=None)  # another replica's edit
    assert await directory.account(uow, me.tenant_id, "twilio") is None  # within the ttl: still the cached one
    ticks[0] = 6.0
    found = await directory.account(uow, me.tenant_id, "twilio")
    assert found is not None
    assert found.secret == "t"
    await cases.connect(uow, me, "twilio", secret="rotated", api_key="AC1", timezone=None, directory=directory)
    rotated = await directory.account(uow, me.tenant_id, "twilio")  # forgotten at once by this process' edit
    assert rotated is not None
    assert rotated.secret == "rotated"
    async with uow() as work:
        assert await directory.numbers(work.accounts, me.tenant_id) == []
    await cases.add_number(uow, me, number="+551130000002", source="site", label=None, directory=directory)
    async with uow() as work:
        assert [n.number for n in await directory.numbers(work.accounts, me.tenant_id)] == ["+551130000002"]


async def test_the_read_model_keeps_the_newest_name_per_phone_and_forgets_a_deleted_lead(db: MemoryTelephony) -> None:
    tenant, lead_id = new_id(), new_id()
    work = cast(TelephonyWork, db)
    created = LeadCreatedV1(
        lead_id=lead_id, name="Maria", phone="+5511987654321", source="instagram", created_at=NOW,
    )  # fmt: skip
    renamed = LeadUpdatedV1(
        lead_id=lead_id, name="Maria Souza", phone="+5511987654321", fields=["name"], updated_by="u",
        updated_at=NOW + timedelta(1),
    )  # fmt: skip
    async with db:  # the consumer's unit of work: the newer event arrives first, the older one after
        await cases.remember_lead(work, renamed, meta(tenant, renamed.TYPE))
        await cases.remember_lead(work, created, meta(tenant, created.TYPE))
        nameless = LeadCreatedV1(lead_id=new_id(), name="No phone", phone="", source="site", created_at=NOW)
        await cases.remember_lead(work, nameless, meta(tenant, created.TYPE))  # no phone: nothing to match
        await db.commit()
    async with db:
        found = await db.contacts.contact(tenant, ["+551187654321", "+5511987654321"])
        assert found is not None
        assert (found.lead_id, found.name) == (lead_id, "Maria Souza")
        assert await db.contacts.contact(new_id(), ["+5511987654321"]) is None  # another clinic knows no one
        await cases.forget_lead(
            work, LeadDeletedV1(lead_id=lead_id, deleted_by="u", deleted_at=NOW), meta(tenant, "deleted")
        )
        await db.commit()
    assert db.state.contacts == {}


async def test_retention_defaults_then_the_clinics_rule_and_its_hold_on_erasure(db: MemoryTelephony) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    assert await cases.retention(uow, me, 365) == (RetentionRule(365, 0), False)
    assert await cases.set_retention(uow, me, 180, 90) == RetentionRule(180, 90)
    assert await cases.set_retention(uow, me, 120) == RetentionRule(120, 90)  # the hold omitted: kept
    assert await cases.set_retention(uow, me, 30) == RetentionRule(30, 30)  # never longer than the retention
    assert await cases.retention(uow, me, 365) == (RetentionRule(30, 30), True)
    assert await cases.retention(uow, other, 365) == (RetentionRule(365, 0), False)
    refusals = ((0, 0, "days"), (3651, 0, "days"), (30, 31, "hold_on_erasure_days"), (30, -1, "hold_on_erasure_days"))
    for days, hold, field in refusals:
        with pytest.raises(InvalidTelephony) as bad:
            await cases.set_retention(uow, me, days, hold)
        assert bad.value.field == field
    assert db.state.retention == {me.tenant_id: RetentionRule(30, 30)}
