"""telephony's answers to data subject requests on a real, migrated PostgreSQL and the moto S3 server
(docs/privacy.md): the export is the person's calls (by lead or by phone, with or without the ninth digit), their
recordings' metadata, who opened them and the contact copy, written to the object store and announced; the
erasure takes the caller off those calls, forgets the contact, deletes the recordings from the store except those
the clinic's hold keeps (counted as retained), and touches neither another person nor another clinic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from contracts import EventMeta
from contracts.privacy import ErasureRequestedV1, ExportRequestedV1, Subject
from kit.context import new_id
from kit.db import make_engine
from kit.objects import ObjectStore
from kit.privacy import part_key
from services.telephony.tests.integration.conftest import Sandbox, answered_call, connect_asterisk, principal, sql
from telephony import services as cases
from telephony.services import privacy
from telephony.services.work import telephony_uow

MARIA, MARIA_OLD_FORMAT, JOAO = "+5511987654321", "+551187654321", "+5511912345678"


def meta(tenant_id: str, event_type: str, subject: str) -> EventMeta:
    return EventMeta(
        id=new_id(), source="test", type=event_type, time=datetime.now(UTC), subject=subject, tenant_id=tenant_id,
        correlation_id=new_id(),
    )  # fmt: skip


async def test_a_persons_calls_are_exported_then_erased_keeping_what_the_clinic_holds(
    database_url: str, store: ObjectStore, sandbox: Sandbox
) -> None:
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    a, b = principal(new_id()), principal(new_id())
    lead_id = new_id()
    answers = privacy.handlers(lambda: store)
    try:
        for admin in (a, b):
            await connect_asterisk(uow, admin, sandbox.client)
        async with uow() as work:  # the leads read model knows her
            await work.contacts.remember_contact(a.tenant_id, MARIA, lead_id, "Maria Souza", datetime.now(UTC))
            await work.commit()
        old = await answered_call(uow, a, sandbox.pbx, MARIA)  # recorded two months ago
        recent = await answered_call(uow, a, sandbox.pbx, MARIA_OLD_FORMAT)  # the same phone without the 9
        joao = await answered_call(uow, a, sandbox.pbx, JOAO)
        other_clinic = await answered_call(uow, b, sandbox.pbx, MARIA)
        assert await cases.recordings_round(uow, sandbox.api, store) == 4
        two_months = datetime.now(UTC) - timedelta(days=60)
        await sql(database_url, "UPDATE recordings SET stored_at = $1 WHERE call_id = $2", two_months, old)
        # the clinic holds the last 30 days of recordings on erasure (e.g. customer-service calls kept by law)
        await cases.set_retention(uow, a, 365, 30)
        rec_old, rec_recent, rec_joao, rec_b = [
            (await cases.card(uow, admin, call)).recording for admin, call in
            ((a, old), (a, recent), (a, joao), (b, other_clinic))
        ]  # fmt: skip
        assert rec_old is not None
        assert rec_recent is not None
        assert rec_joao is not None
        assert rec_b is not None
        assert rec_old.object_key
        assert rec_recent.object_key
        assert rec_joao.object_key
        assert rec_b.object_key
        link, _ = await cases.recording_link(
            uow, cases.PlaybackLinks("x" * 40, "https://gw", 300), a, rec_old.id, client="10.0.0.1"
        )

        # --- export: by her lead and her phone -------------------------------------------------------------
        subject = Subject(lead_ids=[lead_id], phones=[MARIA])
        request_id = new_id()
        export = ExportRequestedV1(
            request_id=request_id, subject=subject, requested_at=datetime.now(UTC),
            due_at=datetime.now(UTC) + timedelta(days=15),
        )  # fmt: skip
        async with uow() as work:
            await answers[ExportRequestedV1](work, export, meta(a.tenant_id, export.TYPE, request_id))
            await work.commit()
        data, _ = await store.get(part_key(a.tenant_id, request_id, "telephony"))
        part = json.loads(data)["data"]
        assert sorted(c["id"] for c in part["calls"]) == sorted([old, recent])
        assert {c["caller"] for c in part["calls"]} == {MARIA, MARIA_OLD_FORMAT}
        assert all(e["caller"] for c in part["calls"] for e in c["events"])  # the provider events as stored
        assert sorted(r["id"] for r in part["recordings"]) == sorted([rec_old.id, rec_recent.id])
        assert [(x["recording_id"], x["action"]) for x in part["recording_access"]] == [(rec_old.id, "link")]
        assert [(c["phone"], c["lead_id"]) for c in part["contacts"]] == [(MARIA, lead_id)]
        [ready] = await sql(
            database_url,
            "SELECT payload FROM outbox WHERE event_type = 'clinicflow.telephony.privacy_part.ready.v1'",
        )
        announced = json.loads(ready["payload"])
        assert announced["counts"] == {"calls": 2, "recordings": 2, "recording_access": 1, "contacts": 1}
        assert announced["object_key"] == part_key(a.tenant_id, request_id, "telephony")

        # --- erasure ---------------------------------------------------------------------------------------
        erasure_id = new_id()
        erasure = ErasureRequestedV1(
            request_id=erasure_id, subject=subject, requested_at=datetime.now(UTC),
            due_at=datetime.now(UTC) + timedelta(days=15),
        )  # fmt: skip
        for _ in range(2):  # a redelivery finds nothing more to erase and answers again
            async with uow() as work:
                await answers[ErasureRequestedV1](work, erasure, meta(a.tenant_id, erasure.TYPE, erasure_id))
                await work.commit()
        erased = [
            json.loads(r["payload"])
            for r in await sql(
                database_url,
                "SELECT payload FROM outbox WHERE event_type = 'clinicflow.telephony.privacy_part.erased.v1' "
                "ORDER BY id",
            )
        ]
        assert erased[0]["counts"] == {"calls": 2, "recordings": 1, "contacts": 1}
        assert erased[0]["retained"] == {"recordings": 1}
        assert erased[1]["counts"] == {"calls": 2, "recordings": 0, "contacts": 0}

        # her calls no longer name her, in the API and in the stored provider events; times and sources stay
        for call in (old, recent):
            card = await cases.card(uow, a, call)
            assert card.call.record.caller == ""
            assert card.contact is None
            assert all(e.caller is None for e in card.call.events)
            assert card.call.record.disposition == "answered"
        found, total = await cases.list_calls(uow, a, disposition=None, state=None, caller=MARIA, limit=10, offset=0)
        assert (found, total) == ([], 0)
        # the old recording is gone from the store; the one the clinic's 30-day hold keeps is still there
        assert await store.head(rec_old.object_key) is None
        assert await store.head(rec_recent.object_key) is not None
        gone = (await cases.card(uow, a, old)).recording
        assert gone is not None
        assert (gone.state, gone.provider_ref, gone.object_key) == ("deleted", "", None)
        assert (await cases.card(uow, a, recent)).recording == rec_recent
        # another person of the clinic, and she in another clinic, are untouched
        assert (await cases.card(uow, a, joao)).call.record.caller == JOAO
        assert (await cases.card(uow, b, other_clinic)).call.record.caller == MARIA
        assert await store.head(rec_joao.object_key) is not None
        assert await store.head(rec_b.object_key) is not None
        assert link  # the audit of who opened her recording stays (it is the clinic's record of access)
        assert len(await sql(database_url, "SELECT 1 FROM recording_access WHERE recording_id = $1", rec_old.id)) == 1
    finally:
        await engine.dispose()
