"""The valuation -> quote process on a real PostgreSQL and a real S3-compatible object store (devkit's moto server):
photos through the signed link land in the store, the profile completes once, the least busy diagnostic doctor
gets it, the quote is priced from the clinic's lists, the prospect answers through the link, the timers fire once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from contracts import EventMeta
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1
from devkit.infra import Infra
from funnel.domain import Conflict, InvalidFunnel, NotFound
from funnel.domain import valuation as rules
from funnel.services import valuation as cases
from funnel.services.work import FunnelUnitOfWork
from kit import links
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.objects import ObjectStore
from kit.outbox import outbox_table

T0 = datetime(2026, 12, 1, 15, tzinfo=UTC)
SECRET = "s" * 48
JPEG = b"\xff\xd8\xff\xe0" + b"hair" * 5000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def env(database_url: str, infra: Infra) -> AsyncIterator[cases.Env]:
    engine = make_engine(database_url)
    store = ObjectStore(
        endpoint_url=infra.objects_url, bucket=f"funnel-{new_id()[:8]}", access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key, create_bucket=True,
    )  # fmt: skip
    await store.open()
    uow = uow_factory(engine, "funnel", FunnelUnitOfWork)
    yield cases.Env(uow, Clock(), cases.Links(SECRET, "https://clinic.test", 86400), store)
    await store.close()
    await engine.dispose()


def member(tenant: str, *perms: str) -> Principal:
    granted = frozenset(perms or ("funnel:read", "funnel:write", "funnel:admin", "crm:read"))
    return Principal(user_id=new_id(), tenant_id=tenant, email="staff@clinic.test", permissions=granted)


async def joined(env: cases.Env, tenant: str, roles: list[str], *, user_id: str | None = None) -> str:
    user = user_id or new_id()
    event = StaffCreatedV1(user_id=user, full_name="Dr. X", email="x@c.test", roles=roles, changed_at=env.clock())
    meta = EventMeta(
        id=new_id(), source="test", type=event.TYPE, time=env.clock(), subject=user, tenant_id=tenant,
        correlation_id=new_id(),
    )  # fmt: skip
    async with env.uow() as work:
        await cases.handle_staff(work, event, meta, clock=env.clock)
        await work.commit()
    return user


def doctor_of(tenant: str, user_id: str) -> Principal:
    return Principal(user_id=user_id, tenant_id=tenant, email="d@c.test", permissions=frozenset({"crm:read"}))


async def events(env: cases.Env, valuation_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    async with env.uow() as work:
        q = select(outbox_table.c.event_type, outbox_table.c.payload).order_by(outbox_table.c.id)
        if valuation_id:
            q = q.where(outbox_table.c.key == valuation_id)
        rows = (await work.session.execute(q)).all()
    return [(t.split(".", 2)[2].rsplit(".", 1)[0], msgspec.json.decode(p)) for t, p in rows]


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


async def completed(env: cases.Env, tenant: str, agent: Principal, name: str = "Javier") -> str:
    valuation_id, url = await cases.open_valuation(
        env, agent, lead_id=None, name=name, phone="+52 55 1234 5678", email=None, locale="es", agent_id=None
    )
    for slot in rules.SLOTS:
        await cases.upload_photo(env, token_of(url), slot, JPEG)
    return valuation_id


async def test_photos_to_the_store_then_the_least_busy_doctor(env: cases.Env) -> None:
    tenant = new_id()
    agent = member(tenant)
    busy = await joined(env, tenant, ["diagnostic_doctor"])
    await joined(env, tenant, ["professional"])  # not a diagnostic doctor: never chosen
    await completed(env, tenant, agent, "First")  # goes to `busy`, the only doctor
    env.clock.now += timedelta(hours=1)  # type: ignore[attr-defined]
    idle = await joined(env, tenant, ["diagnostic_doctor", "professional"])

    valuation_id, url = await cases.open_valuation(
        env, agent, lead_id=new_id(), name="Javier", phone="+52 55 1234 5678", email=None, locale="es", agent_id=None
    )
    token = token_of(url)
    for slot in ("front", "top", "top", "crown", "left"):  # `top` sent twice: replaced, counted once
        page = await cases.upload_photo(env, token, slot, JPEG + slot.encode())
    row, photos = page
    assert row.state == rules.COLLECTING
    assert sorted(p.slot for p in photos) == ["crown", "front", "left", "top"]
    stored, meta = await env.store.get(next(p.object_key for p in photos if p.slot == "top"))
    assert stored == JPEG + b"top"
    assert meta.content_type == "image/jpeg"
    with pytest.raises(InvalidFunnel) as not_photo:
        await cases.upload_photo(env, token, "right", b"%PDF-1.7 not a photo")
    assert not_photo.value.field == "photo"

    await cases.upload_photo(env, token, "right", JPEG)
    card = await cases.valuation(env, agent, valuation_id)
    assert card["row"].state == rules.VALUING
    assert card["row"].doctor_id == idle  # `busy` has one open valuation, `idle` none
    assert set(card["urls"]) == set(rules.SLOTS)
    kinds = [k for k, _ in await events(env, valuation_id)]
    assert kinds.count("valuation.photos_completed") == 1
    assert kinds.count("valuation.photo_received") == 6
    assigned = [p for k, p in await events(env, valuation_id) if k == "valuation.assigned"]
    assert len(assigned) == 1
    assert assigned[0]["doctor_id"] == idle
    assert assigned[0]["open_valuations"] == 0
    with pytest.raises(Conflict):
        await cases.upload_photo(env, token, "front", JPEG)
    assert [h.kind for h in card["history"]][:2] == ["opened", "photo"]
    assert busy != idle


async def test_ties_go_to_the_doctor_idle_longest_and_a_late_doctor_takes_the_waiting(env: cases.Env) -> None:
    tenant = new_id()
    agent = member(tenant)
    waiting = await completed(env, tenant, agent, "Nobody yet")
    async with env.uow() as work:
        row = await work.valuation.get(tenant, waiting)
    assert row.state == rules.VALUING
    assert row.doctor_id is None
    first = await joined(env, tenant, ["diagnostic_doctor"])  # takes the waiting valuation at once
    card = await cases.valuation(env, agent, waiting)
    assert card["row"].doctor_id == first
    await cases.record_valuation(env, doctor_of(tenant, first), waiting, summary="Norwood III", grafts=2500, notes=None)
    env.clock.now += timedelta(minutes=5)  # type: ignore[attr-defined]
    second = await joined(env, tenant, ["diagnostic_doctor"])
    env.clock.now += timedelta(minutes=5)  # type: ignore[attr-defined]
    # Both have no open valuation; `second` was never active, so idle longest.
    nxt = await completed(env, tenant, agent)
    assert (await cases.valuation(env, agent, nxt))["row"].doctor_id == second
    env.clock.now += timedelta(minutes=5)  # type: ignore[attr-defined]
    then = await completed(env, tenant, agent)
    assert (await cases.valuation(env, agent, then))["row"].doctor_id == first  # second has one open now


async def test_valuation_quote_and_the_prospects_answer(env: cases.Env) -> None:
    tenant = new_id()
    manager = member(tenant)
    doctor = await joined(env, tenant, ["diagnostic_doctor"])
    nurse = await joined(env, tenant, ["reception"])
    valuation_id = await completed(env, tenant, manager)

    with pytest.raises(cases.Forbidden):  # not a diagnostic doctor
        await cases.record_valuation(env, doctor_of(tenant, nurse), valuation_id, summary="x", grafts=None, notes=None)
    with pytest.raises(Conflict):  # the quote comes after the valuation
        await cases.save_quote(
            env, manager, valuation_id, [cases.ItemIn(new_id())], discount_id=None, note=None, send=False
        )
    await cases.record_valuation(
        env, doctor_of(tenant, doctor), valuation_id, summary="Norwood III, good donor area", grafts=2500, notes=None
    )
    fue = await cases.add_cost(env, manager, name="FUE 2500 grafts", price=Decimal("85000"), currency="MXN")
    prp = await cases.add_cost(env, manager, name="PRP session", price=Decimal("3500"), currency="MXN")
    launch = await cases.add_discount(env, manager, name="Launch", percent=Decimal("10"))
    with pytest.raises(InvalidFunnel) as empty:
        await cases.save_quote(env, manager, valuation_id, [], discount_id=None, note=None, send=False)
    assert empty.value.field == "items"
    with pytest.raises(InvalidFunnel) as unknown:
        await cases.save_quote(
            env, manager, valuation_id, [cases.ItemIn(new_id())], discount_id=None, note=None, send=False
        )
    assert unknown.value.field == "items[0].cost_id"

    doc = doctor_of(tenant, doctor)
    quote_id = await cases.save_quote(
        env, doc, valuation_id, [cases.ItemIn(fue), cases.ItemIn(prp, 2)], discount_id=launch, note="Includes PRP",
        send=False,
    )  # fmt: skip
    assert "quote.sent" not in [k for k, _ in await events(env, valuation_id)]
    assert await cases.send_quote(env, doc, valuation_id) == quote_id
    sent = next(p for k, p in await events(env, valuation_id) if k == "quote.sent")
    assert (sent["subtotal"], sent["total"], sent["currency"]) == ("92000.00", "82800.00", "MXN")
    token = token_of(sent["quote_url"])
    row, quote = await cases.quote_page(env, token)
    assert (row.state, quote.status) == (rules.SENT, "sent")

    with pytest.raises(cases.LinkInvalid):
        await cases.answer(env, token[:-3] + "abc", rules.ACCEPT, None)  # forged
    expired = links.mint(SECRET, purpose=cases.QUOTE_LINK, subject=quote_id, tenant_id=tenant, ttl_seconds=-10)
    with pytest.raises(cases.LinkInvalid, match="expired"):
        await cases.answer(env, expired, rules.ACCEPT, None)
    photo_link = links.mint(SECRET, purpose=cases.PHOTOS_LINK, subject=quote_id, tenant_id=tenant, ttl_seconds=60)
    with pytest.raises(cases.LinkInvalid, match="not valid for this page"):
        await cases.answer(env, photo_link, rules.ACCEPT, None)

    env.clock.now += timedelta(hours=3)  # type: ignore[attr-defined]
    await cases.answer(env, token, rules.ACCEPT, None)
    await cases.answer(env, token, rules.ACCEPT, None)  # a double tap changes nothing
    with pytest.raises(Conflict):
        await cases.answer(env, token, rules.REJECT, "too much")
    kinds = [k for k, _ in await events(env, valuation_id)]
    assert kinds.count("quote.accepted") == 1
    assert "quote.rejected" not in kinds

    # Accepted and the clinic silent for 24 h: the agent is told, once.
    env.clock.now += timedelta(hours=23, minutes=59)  # type: ignore[attr-defined]
    assert await cases.answer_round(env) == 0
    env.clock.now += timedelta(minutes=2)  # type: ignore[attr-defined]
    assert await cases.answer_round(env) == 1
    assert await cases.answer_round(env) == 0
    unanswered = [p for k, p in await events(env, valuation_id) if k == "quote.unanswered"]
    assert [u["waiting_for"] for u in unanswered] == ["clinic"]
    assert unanswered[0]["agent_id"] == manager.user_id
    await cases.reply(env, manager, valuation_id, "Called; surgery booked")
    card = await cases.valuation(env, manager, valuation_id)
    assert card["row"].state == rules.CLOSED
    by = {h.kind: h.by for h in card["history"]}
    assert by["accept"] == "prospect"
    assert by["unanswered"] == "funnel"
    assert by["valuation"] == doctor
    assert by["replied"] == manager.user_id


async def test_no_answer_from_the_prospect_reminders_and_digests(env: cases.Env) -> None:
    tenant = new_id()
    agent = member(tenant)
    valuation_id, url = await cases.open_valuation(
        env, agent, lead_id=None, name="Ana", phone="+525511112222", email=None, locale="es", agent_id=None
    )
    await cases.upload_photo(env, token_of(url), "front", JPEG)
    assert await cases.reminder_round(env) == 0
    assert await cases.digest_round(env) == 0  # the first digest comes a day after
    env.clock.now += rules.REMINDER_EVERY  # type: ignore[attr-defined]
    assert await cases.reminder_round(env) == 1
    assert await cases.reminder_round(env) == 0
    assert await cases.digest_round(env) == 1
    assert await cases.digest_round(env) == 0
    requested = [p for k, p in await events(env, valuation_id) if k == "valuation.photos_requested"]
    assert [(r["reminder"], r["photos_missing"]) for r in requested] == [(1, 4)]
    assert token_of(requested[0]["upload_url"])
    digests = [p for k, p in await events(env) if k == "valuation.digest"]
    assert len(digests) == 1
    assert digests[0]["agent_id"] == agent.user_id
    assert digests[0]["profiles"][0]["photos_received"] == 1
    assert "Ana (1/5 photos" in digests[0]["summary"]

    # Staff fix the phone and give the prospect to another agent; deactivated staff cannot take it.
    other = await joined(env, tenant, ["sales_agent"])
    await cases.edit_details(env, agent, valuation_id, {"phone": "+52 55 9999 0000", "name": "Ana María"})
    await cases.reassign_agent(env, agent, valuation_id, other)
    gone = await joined(env, tenant, ["sales_agent"])
    event = StaffDeactivatedV1(
        user_id=gone, full_name="G", email="g@c", roles=["sales_agent"], changed_at=T0 + timedelta(days=2)
    )
    meta = EventMeta(
        id=new_id(), source="t", type=event.TYPE, time=T0, subject=gone, tenant_id=tenant, correlation_id=new_id()
    )
    async with env.uow() as work:
        await cases.handle_staff(work, event, meta, clock=env.clock)
        await work.commit()
    with pytest.raises(InvalidFunnel) as refused:
        await cases.reassign_agent(env, agent, valuation_id, gone)
    assert refused.value.field == "agent_id"
    with pytest.raises(InvalidFunnel) as bad_phone:
        await cases.edit_details(env, agent, valuation_id, {"phone": "12"})
    assert bad_phone.value.field == "phone"
    card = await cases.valuation(env, agent, valuation_id)
    assert (card["row"].phone, card["row"].name, card["row"].agent_id) == ("+525599990000", "Ana María", other)
    changed = [p for k, p in await events(env, valuation_id) if k == "valuation.agent_changed"]
    assert changed[0]["previous_agent_id"] == agent.user_id

    # Another clinic sees nothing of it.
    with pytest.raises(NotFound):
        await cases.valuation(env, member(new_id()), valuation_id)


async def test_a_quote_unanswered_for_24_hours_tells_the_agent(env: cases.Env) -> None:
    tenant = new_id()
    manager = member(tenant)
    doctor = await joined(env, tenant, ["diagnostic_doctor"])
    valuation_id = await completed(env, tenant, manager)
    await cases.record_valuation(env, doctor_of(tenant, doctor), valuation_id, summary="ok", grafts=None, notes=None)
    cost = await cases.add_cost(env, manager, name="FUE", price=Decimal("1000"), currency="MXN")
    await cases.save_quote(env, manager, valuation_id, [cases.ItemIn(cost)], discount_id=None, note=None, send=True)
    env.clock.now += timedelta(hours=24, seconds=1)  # type: ignore[attr-defined]
    assert await cases.answer_round(env) == 1
    assert await cases.answer_round(env) == 0
    unanswered = [p for k, p in await events(env, valuation_id) if k == "quote.unanswered"]
    assert [u["waiting_for"] for u in unanswered] == ["prospect"]


def lead_meta(tenant: str, event: Any, event_id: str | None = None) -> EventMeta:
    return EventMeta(
        id=event_id or new_id(), source="clinicflow/leads", type=event.TYPE, time=T0, subject=event.lead_id,
        tenant_id=tenant, correlation_id=new_id(),
    )  # fmt: skip


async def lead_event(env: cases.Env, tenant: str, event: Any, event_id: str | None = None) -> None:
    async with env.uow() as work:
        await cases.handle_lead(work, event, lead_meta(tenant, event, event_id), clock=env.clock, links=env.links)
        await work.commit()


async def test_a_request_for_a_treatment_that_needs_it_opens_the_valuation_once(env: cases.Env) -> None:
    from contracts.leads import LeadAssignedV1, LeadCreatedV1, LeadUpdatedV1, RequestCreatedV1

    tenant = new_id()
    admin = member(tenant)
    agent = await joined(env, tenant, ["sales_agent"])
    owner = await joined(env, tenant, ["sales_agent"])
    # Bad settings: a slug that is not one, an agent who is not the clinic's.
    with pytest.raises(InvalidFunnel) as bad:
        await cases.put_request_settings(env, admin, treatments=["Hair Transplant"], agent_id=None)
    assert bad.value.field == "treatments.0"
    with pytest.raises(InvalidFunnel) as stranger:
        await cases.put_request_settings(env, admin, treatments=["hair_transplant"], agent_id=new_id())
    assert stranger.value.field == "agent_id"
    assert (await cases.request_settings(env, admin))["treatments"] == []
    await cases.put_request_settings(env, admin, treatments=["hair_transplant", "prp"], agent_id=agent)
    assert (await cases.request_settings(env, admin))["agent_id"] == agent

    lead = new_id()
    await lead_event(env, tenant, LeadCreatedV1(lead_id=lead, name="Javier Ruiz", phone="+525512345678",
                                                 source="whatsapp", created_at=T0, locale="es"))  # fmt: skip
    renamed = LeadUpdatedV1(lead_id=lead, fields=["name"], name="Javier Ruiz Gómez", phone="+525512345678",
                            locale="es", updated_by="u", updated_at=T0)  # fmt: skip
    await lead_event(env, tenant, renamed)

    def request(treatment: str | None, request_id: str | None = None) -> RequestCreatedV1:
        return RequestCreatedV1(lead_id=lead, request_id=request_id or new_id(), treatment=treatment, created_at=T0)

    await lead_event(env, tenant, request("botox"))  # needs no valuation
    rows, _ = await cases.valuations(env, admin, states=None, agent_id=None, doctor_id=None, limit=10, offset=0)
    assert rows == []
    asked = request("hair_transplant")
    first = new_id()
    await lead_event(env, tenant, asked, first)
    await lead_event(env, tenant, asked, first)  # a redelivery (the inbox's job, but harmless here too)
    await lead_event(env, tenant, asked)  # the same request published again under another event id
    await lead_event(env, tenant, request("prp"))  # another request while one is open: no second process
    rows, _ = await cases.valuations(env, admin, states=None, agent_id=None, doctor_id=None, limit=10, offset=0)
    assert len(rows) == 1
    (row,) = rows
    assert (row.name, row.phone, row.locale, row.lead_id, row.agent_id) == (
        "Javier Ruiz Gómez", "+525512345678", "es", lead, agent,  # no owner: the clinic's agent
    )  # fmt: skip
    assert row.request_id == asked.request_id
    opened = [p for t, p in await events(env, row.id) if t == "valuation.opened"]
    assert len(opened) == 1
    assert opened[0]["opened_by"] == "funnel"
    assert opened[0]["upload_url"].startswith("https://clinic.test/public/funnel/photos?token=")
    card = await cases.valuation(env, admin, row.id)
    assert [(h.kind, h.by) for h in card["history"]][:1] == [("opened", "funnel")]

    # Once the process is over, a new request for the treatment opens a new one, for the lead's owner.
    await cases.cancel(env, admin, row.id, "test")
    await lead_event(env, tenant, LeadAssignedV1(lead_id=lead, owner_id=owner, assigned_by=owner, assigned_at=T0))
    await lead_event(env, tenant, request("hair_transplant"))
    rows, _ = await cases.valuations(env, admin, states=["collecting"], agent_id=None, doctor_id=None, limit=10,
                                     offset=0)  # fmt: skip
    assert [r.agent_id for r in rows] == [owner]
    # A lead the funnel never heard of (its lead.created predates the process) opens nothing.
    stray = RequestCreatedV1(lead_id=new_id(), request_id=new_id(), treatment="hair_transplant", created_at=T0)
    await lead_event(env, tenant, stray)
    assert (await cases.valuations(env, admin, states=None, agent_id=None, doctor_id=None, limit=10, offset=0))[1] == 2
