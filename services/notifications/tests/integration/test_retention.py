"""The clinic's `messages` retention applied by notifications, on a real migrated PostgreSQL and object store
(docs/privacy.md, "How long"): privacy's retention.set is kept per clinic; the timer anonymises the settled
messages sent and the messages received before the clinic's cutoff (texts, addresses, names; the files people
sent are deleted), leaves newer ones, a message still waiting to be sent and other clinics alone, and reports
each run (retention.applied, with the counts); a second run finds nothing more."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from contracts import EventMeta
from contracts.privacy import RetentionSetV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.objects import ObjectNotFound, ObjectStore
from kit.outbox import outbox_table
from kit.privacy import ERASED_TEXT
from notifications.domain import QUEUED, SENT, WHATSAPP, Message
from notifications.models import inbound_messages, messages
from notifications.services import consent
from notifications.services.work import NotificationsUnitOfWork

NOW = datetime.now(UTC)


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    objects = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"notif-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
        create_bucket=True,
    )
    await objects.open()
    yield objects
    await objects.close()


def meta(tenant_id: str, event_type: str) -> EventMeta:
    return EventMeta(
        id=new_id(), source="clinicflow/privacy", type=event_type, time=NOW, subject="messages", tenant_id=tenant_id,
        correlation_id="c",
    )  # fmt: skip


def message(tenant_id: str, age_days: float, *, status: str = SENT, recipient: str = "person") -> Message:
    at = NOW - timedelta(days=age_days)
    return Message(
        id=new_id(), tenant_id=tenant_id, lead_id=new_id(), channel=WHATSAPP, to="+5511987650000",
        template="lead_welcome", locale="pt-BR", body="Olá, Maria!", status=status, attempts=1, last_error=None,
        provider="whatsapp" if status == SENT else None, provider_message_id=None, correlation_id=None,
        causation_id=None, created_at=at, updated_at=at, next_attempt_at=at, recipient=recipient,
        addresses={WHATSAPP: "+5511987650000"}, renders={WHATSAPP: {"body": "Olá, Maria!"}},
        dedupe_key=new_id(),
    )  # fmt: skip


async def test_old_messages_are_anonymised_by_the_clinic_rule_and_each_run_is_reported(
    infra: Infra, store: ObjectStore
) -> None:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")
    engine = make_engine(url, pool_size=2)
    uow = uow_factory(engine, "notifications", NotificationsUnitOfWork)
    clinic, other = new_id(), new_id()
    try:
        photo = await store.put("notifications/media/whatsapp/old/0", b"jpeg bytes", content_type="image/jpeg")
        old, new, waiting, staff = message(clinic, 40), message(clinic, 5), message(clinic, 40, status=QUEUED), None
        staff = replace(message(clinic, 40, recipient="role:reception"), to="role:reception")
        theirs = message(other, 400)
        async with uow() as work:
            # the rule as privacy announced it; a late, older announcement changes nothing
            for days, at in ((30, NOW), (7, NOW - timedelta(days=1))):
                rule = RetentionSetV1(kind="messages", days=days, set_by=new_id(), at=at)
                await consent.remember_retention(work, rule, meta(clinic, rule.TYPE))
            other_rule = RetentionSetV1(kind="read_audit", days=1, at=NOW)  # not notifications' kind
            await consent.remember_retention(work, other_rule, meta(other, other_rule.TYPE))
            for m in (old, new, waiting, staff, theirs):
                assert await work.messages.add(m)
            conversation = new_id()
            await work.conversations.create(conversation, clinic, lead_id=None, patient_id=None, name="Maria", now=NOW)
            for mid, age, media in (("old", 40, [{"kind": "image", "object_key": photo.key}]), ("new", 2, [])):
                await work.inbound.add(
                    id=new_id(), tenant_id=clinic, conversation_id=conversation, channel=WHATSAPP,
                    sender="+5511987650000", sender_name="Maria", text=f"foto {mid}", button_id=None,
                    reply_to_message_id=None, provider="whatsapp", provider_message_id=f"wamid.{mid}.{new_id()}",
                    received_at=NOW - timedelta(days=age), media=media,
                )  # fmt: skip
            await work.commit()

        assert await consent.retention_round(uow, store, at=NOW) == 4  # 2 sent, 1 received, 1 file

        async with engine.connect() as conn:
            rows = {r.id: r for r in (await conn.execute(select(messages))).all()}
            inbound = {r.text: r for r in (await conn.execute(select(inbound_messages))).all()}
            reports = [
                (json.dumps(r.headers), json.loads(r.payload))
                for r in (
                    await conn.execute(
                        select(outbox_table.c.headers, outbox_table.c.payload).where(
                            outbox_table.c.event_type == "clinicflow.notifications.retention.applied.v1"
                        )
                    )
                ).all()
            ]
        gone = rows[old.id]
        assert (gone.body, gone.to, gone.addresses, gone.renders) == (ERASED_TEXT, "", {}, {})
        assert (gone.status, gone.channel, gone.template, gone.created_at) == (SENT, WHATSAPP, "lead_welcome",
                                                                              old.created_at)  # fmt: skip
        assert (rows[staff.id].body, rows[staff.id].to) == (ERASED_TEXT, "role:reception")  # staff keep their address
        for kept in (new, waiting, theirs):  # newer, still waiting to be sent, another clinic's (no rule)
            assert rows[kept.id].body == "Olá, Maria!"
        assert (inbound[ERASED_TEXT].sender, inbound[ERASED_TEXT].sender_name, inbound[ERASED_TEXT].media) == (
            "", None, []
        )  # fmt: skip
        assert inbound["foto new"].sender == "+5511987650000"
        with pytest.raises(ObjectNotFound):
            await store.get(photo.key)

        assert len(reports) == 1
        headers, report = reports[0]
        assert clinic in headers  # the clinic's own event
        assert (report["kind"], report["removed"]) == ("messages", 4)
        assert report["counts"] == {"messages": 2, "inbound_messages": 1, "media": 1}
        assert report["cutoff"].startswith((NOW - timedelta(days=30)).date().isoformat())

        assert await consent.retention_round(uow, store, at=NOW) == 0  # nothing more to remove; still reported
    finally:
        await engine.dispose()
