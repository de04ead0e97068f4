"""Signed treatment-plan files on a real PostgreSQL and a real S3-compatible store (devkit's moto server):
checked before anything is stored, kept in the store, the plan signed and the deal moved, downloaded through
an authorised read or a signed link; another clinic gets 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from contracts.people import Person
from contracts.scheduling import PatientArrivedV1
from devkit.infra import Infra
from funnel import services as cases
from funnel.domain import MAX_SIGNED_FILE, Conflict, FileTooLarge, InvalidFunnel, NotFound, PlanItem, UnsupportedFile
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id
from kit.objects import ObjectStore

from .support import PROC, T0, Clock, deliver, staff, stage_of

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    objects = ObjectStore(
        endpoint_url=infra.objects_url, bucket=f"funnel-{new_id()[:8]}", access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key, create_bucket=True,
    )  # fmt: skip
    await objects.open()
    yield objects
    await objects.close()


async def arrived_deal_with_plans(uow: FunnelWorkFactory, tenant: str, clock: Clock) -> tuple[str, list[str]]:
    person = Person(patient_id=new_id(), name="Rita")
    arrival = PatientArrivedV1(
        appointment_id=new_id(), person=person, branch_id="b", professional_id="p", procedure_id=PROC,
        arrived_at=clock(), first_visit=True, checked_in_by="u",
    )  # fmt: skip
    await deliver(uow, tenant, arrival, clock)
    async with uow() as work:
        deal = await work.funnel.arrived_deal(tenant, person.patient_id or "")
    assert deal is not None
    admin = staff(tenant)
    item = PlanItem("Implante", 1, Decimal("1000.00"), procedure_id=PROC)
    plans = [await cases.create_plan(uow, admin, deal.id, f"Plano {n}", "BRL", [item], clock()) for n in range(2)]
    return deal.id, plans


async def test_the_signed_file_goes_to_the_store_and_signs_the_plan(uow: FunnelWorkFactory, store: ObjectStore) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    deal, (plan, other_plan) = await arrived_deal_with_plans(uow, tenant, clock)

    refused = [
        ("text/plain", PDF, UnsupportedFile, "content-type"),
        (None, PDF, UnsupportedFile, "content-type"),
        ("application/pdf", b"", InvalidFunnel, "file"),
        ("application/pdf", b"\x89PNG\r\n\x1a\n....", InvalidFunnel, "file"),  # declared PDF, really a PNG
        ("application/pdf", PDF + b"0" * MAX_SIGNED_FILE, FileTooLarge, "file"),
    ]
    for content_type, data, error, field in refused:
        with pytest.raises(error) as caught:
            await cases.upload_signed_file(uow, store, admin, plan, content_type, data, clock())
        assert caught.value.field == field
    with pytest.raises(NotFound):
        await cases.upload_signed_file(uow, store, staff(new_id()), plan, "application/pdf", PDF, clock())
    assert await stage_of(uow, tenant, deal) == "new"  # nothing refused moved or stored anything
    assert (await cases.plan_row(uow, admin, plan)).file_key is None

    clock.now = T0 + timedelta(minutes=5)
    key = await cases.upload_signed_file(uow, store, admin, plan, "application/pdf; charset=binary", PDF, clock())
    assert key.startswith(f"funnel/{tenant}/plans/{plan}/")
    assert key.endswith(".pdf")
    stored, meta = await store.get(key)
    assert (stored, meta.content_type) == (PDF, "application/pdf")
    row = await cases.plan_row(uow, admin, plan)
    assert (row.status, row.signed_at, row.file_size) == ("signed", clock.now, len(PDF))
    assert await stage_of(uow, tenant, deal) == "plan_signed"
    with pytest.raises(Conflict):  # one signed file per plan; the stored one is kept
        await cases.upload_signed_file(uow, store, admin, plan, "application/pdf", PDF + b"x", clock())
    assert (await store.get(key))[0] == PDF

    _, data, kind = await cases.signed_file(uow, store, admin, plan, link=False)
    assert (data, kind) == (PDF, "application/pdf")
    url, _, _ = await cases.signed_file(uow, store, admin, plan, link=True)
    async with httpx.AsyncClient() as client:
        fetched = await client.get(url)
    assert (fetched.status_code, fetched.content) == (200, PDF)
    with pytest.raises(NotFound):
        await cases.signed_file(uow, store, staff(new_id()), plan, link=True)

    # Signed without upload first: the file is added later and nothing else changes.
    await cases.sign_plan(uow, admin, other_plan, clock())
    with pytest.raises(NotFound):
        await cases.signed_file(uow, store, admin, other_plan, link=False)
    jpeg = b"\xff\xd8\xff\xe0" + b"scan"
    await cases.upload_signed_file(uow, store, admin, other_plan, "image/jpeg", jpeg, clock() + timedelta(hours=1))
    row = await cases.plan_row(uow, admin, other_plan)
    assert (row.file_type, row.signed_at) == ("image/jpeg", clock.now)
