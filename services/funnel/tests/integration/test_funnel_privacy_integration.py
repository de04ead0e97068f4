"""funnel's answers to a data subject request on the real servers (PostgreSQL, the object store): the export
holds the person's deals, plans, tasks, payments on the deal, valuation and photos; the erasure anonymises them,
deletes the photos (rows and objects), keeps the signed plan and the ledger (retained) and the board's sums."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from contracts.leads import LeadCreatedV1
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from contracts.privacy import ErasureRequestedV1, ExportRequestedV1, Subject
from contracts.scheduling import PatientArrivedV1
from devkit.infra import Infra
from funnel import services as cases
from funnel.domain import PlanItem
from funnel.domain import valuation as rules
from funnel.models.valuation import valuation_photos
from funnel.services import privacy, valuation
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id
from kit.objects import ObjectNotFound, ObjectStore
from kit.outbox import outbox_table
from kit.privacy import ERASED_NAME, part_key

from .support import PROC, T0, Clock, deliver, meta_of, staff

JPEG = b"\xff\xd8\xff\xe0" + b"teeth" * 4000
PHONE = "+5511977776666"


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    store = ObjectStore(
        endpoint_url=infra.objects_url, bucket=f"funnel-{new_id()[:8]}", access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key, create_bucket=True,
    )  # fmt: skip
    await store.open()
    yield store
    await store.close()


async def answer(uow: FunnelWorkFactory, store: ObjectStore, tenant: str, event: Any, clock: Clock) -> None:
    handler = privacy.handlers(lambda: store)[type(event)]
    async with uow() as work:
        await handler(work, event, meta_of(tenant, event, clock()))
        await work.commit()


async def published(uow: FunnelWorkFactory, event_type: str) -> list[dict[str, Any]]:
    async with uow() as work:
        q = select(outbox_table.c.payload).where(outbox_table.c.event_type == event_type)
        return [json.loads(p) for p in (await work.session.execute(q)).scalars()]


async def test_export_then_erasure_of_a_person(uow: FunnelWorkFactory, store: ObjectStore) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant, "funnel:read", "funnel:write", "funnel:admin", "crm:read")
    lead, patient = new_id(), new_id()
    person = Person(lead_id=lead, patient_id=patient, name="Maria Souza", phone=PHONE)
    await deliver(uow, tenant, LeadCreatedV1(
        lead_id=lead, name="Maria Souza", phone=PHONE, source="call", created_at=T0, channel="call"
    ), clock)  # fmt: skip
    await deliver(uow, tenant, PatientArrivedV1(
        appointment_id="a1", person=person, branch_id="b", professional_id="p", procedure_id=PROC, arrived_at=T0,
        first_visit=True, checked_in_by="u",
    ), clock)  # fmt: skip
    async with uow() as work:
        deal = await work.funnel.arrived_deal(tenant, patient)
    assert deal is not None
    plan = await cases.create_plan(
        uow, admin, deal.id, "Implants", "BRL", [PlanItem("Implant", 2, Decimal(1000), procedure_id=PROC)], T0
    )
    await cases.sign_plan(uow, admin, plan, T0)
    task = await cases.add_task(
        uow, admin, deal.id, kind="call", title="Call Maria", responsible_id=None, due_at=T0 + timedelta(hours=2),
        now=T0,
    )  # fmt: skip
    await cases.comment_task(uow, admin, task, "She prefers mornings", T0)
    await deliver(uow, tenant, PaymentConfirmedV1(
        payment_id=new_id(), person=person, procedure_id=PROC, amount="500.00", currency="BRL", method="pix",
        provider="mercadopago", provider_payment_id="x", paid_at=T0,
    ), clock)  # fmt: skip
    env = valuation.Env(uow, clock, valuation.Links("s" * 32, "https://clinic.test", 86400), store)
    valuation_id, url = await valuation.open_valuation(
        env, admin, lead_id=lead, name="Maria Souza", phone=PHONE, email="maria@example.com", locale="pt",
        agent_id=None,
    )  # fmt: skip
    await valuation.upload_photo(env, url.split("token=", 1)[1], rules.SLOTS[0], JPEG)
    async with uow() as work:
        photo_keys = list((await work.session.execute(select(valuation_photos.c.object_key))).scalars())
    assert len(photo_keys) == 1
    _, _, totals_before, _ = await cases.board(
        uow, admin, deal.pipeline_id, now=T0, curator_id=None, stage_id=None, overdue=False,
        no_future_booking=False, per_stage=50,
    )  # fmt: skip
    subject = Subject(lead_ids=[lead], patient_ids=[patient], phones=[PHONE])
    other = Subject(lead_ids=[lead], patient_ids=[patient])

    request = new_id()
    await answer(uow, store, tenant, ExportRequestedV1(
        request_id=request, subject=subject, requested_at=T0, due_at=T0 + timedelta(days=15)
    ), clock)  # fmt: skip
    data, _ = await store.get(part_key(tenant, request, "funnel"))
    part = json.loads(data)["data"]
    assert {d["kind"] for d in part["deals"]} == {"requests", "arrived"}
    assert [p["title"] for p in part["plans"]] == ["Implants"]
    assert len(part["plan_items"]) == 1
    assert [t["title"] for t in part["tasks"]] == ["Call Maria"]
    assert [m["amount"] for m in part["payments"]] == ["500.00"]
    assert [v["email"] for v in part["valuations"]] == ["maria@example.com"]
    assert [p["object_key"] for p in part["valuation_photos"]] == photo_keys
    ready = await published(uow, "clinicflow.funnel.privacy_part.ready.v1")
    assert ready[0]["counts"]["deals"] == 2
    assert ready[0]["counts"]["valuation_photos"] == 1

    # Another clinic asking about the same ids finds nothing of this one.
    stranger = new_id()
    await answer(uow, store, stranger, ExportRequestedV1(
        request_id=new_id(), subject=other, requested_at=T0, due_at=T0 + timedelta(days=15)
    ), clock)  # fmt: skip
    assert all(n == 0 for n in (await published(uow, "clinicflow.funnel.privacy_part.ready.v1"))[1]["counts"].values())

    await answer(uow, store, tenant, ErasureRequestedV1(
        request_id=new_id(), subject=subject, requested_at=T0, due_at=T0 + timedelta(days=15)
    ), clock)  # fmt: skip
    erased = (await published(uow, "clinicflow.funnel.privacy_part.erased.v1"))[0]
    assert erased["counts"]["deals"] == 2
    assert erased["counts"]["valuation_photos"] == 1
    assert erased["retained"] == {"plans": 1, "payments": 1}
    async with uow() as work:
        after = await work.funnel.deal(tenant, deal.id)
        tasks = await work.funnel.tasks_of(deal.id)
        feed = await work.funnel.feed(deal.id)
        row = await work.valuation.get(tenant, valuation_id)
        photos = list((await work.session.execute(select(valuation_photos))).all())
    assert after is not None
    assert (after.name, after.phone) == (ERASED_NAME, None)
    assert (after.stage_key, after.amount, after.paid) == ("plan_signed", Decimal(2000), Decimal(500))
    assert tasks[0].comments == []
    assert all(line.text == "[erased]" for line in feed)
    assert row is not None
    assert (row.name, row.phone, row.email) == (ERASED_NAME, None, None)
    assert photos == []
    with pytest.raises(ObjectNotFound):
        await store.get(photo_keys[0])
    _, _, totals_after, _ = await cases.board(
        uow, admin, deal.pipeline_id, now=T0, curator_id=None, stage_id=None, overdue=False,
        no_future_booking=False, per_stage=50,
    )  # fmt: skip
    assert [(t.stage_id, t.count, t.sum) for t in totals_after] == [(t.stage_id, t.count, t.sum) for t in totals_before]
