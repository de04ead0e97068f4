"""Channel opt-outs reaching the consent ledger, on a real migrated PostgreSQL: notifications'
channel_consent.changed (a STOP word, an opt-in word, staff) becomes one ledger entry (marketing on the channel,
how = stop_word, the words as the text) however often it is delivered, announced with consent.withdrawn /
consent.given; a number not yet linked to a lead is matched to the clinic's person with that phone (not another
clinic's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from contracts import EventMeta
from contracts.claims import CRM_READ, PRIVACY_READ
from contracts.leads import LeadCreatedV1
from contracts.notifications import ChannelConsentChangedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from privacy import services as cases
from privacy.models import consents

NOW = datetime.now(UTC)
PHONE = "+5511955554444"


@pytest.fixture
def database_url(infra: Infra) -> str:
    return fresh_database(infra, "privacy")


def meta(tenant_id: str, event_type: str) -> EventMeta:
    return EventMeta(
        id=new_id(), source="clinicflow/notifications", type=event_type, time=NOW, subject="s", tenant_id=tenant_id,
        correlation_id="c",
    )  # fmt: skip


def reader(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id, email="dpo@clinic.test", permissions=frozenset({CRM_READ, PRIVACY_READ})
    )


def change(**values: object) -> ChannelConsentChangedV1:
    base: dict[str, object] = {
        "change_id": new_id(), "channel": "whatsapp", "address": PHONE, "opted_in": False, "how": "stop_word",
        "text": "STOP", "message_id": new_id(), "conversation_id": new_id(), "at": NOW,
    }  # fmt: skip
    return ChannelConsentChangedV1(**(base | values))  # type: ignore[arg-type]


async def test_a_stop_word_is_one_ledger_entry_on_the_person_and_is_announced(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    tenant, other = new_id(), new_id()
    lead_id, others_lead = new_id(), new_id()
    try:
        async with uow() as work:  # the clinic's person with that phone, and another clinic's with the same one
            for t, lead in ((tenant, lead_id), (other, others_lead)):
                created = LeadCreatedV1(lead_id=lead, name="Ana", phone=PHONE, source="whatsapp", created_at=NOW)
                await cases.remember_person(work, created, meta(t, created.TYPE))
            await work.commit()

        stop = change(text="STOP")  # notifications had not linked the number to her lead yet
        for _ in range(2):  # delivered twice (a replay past the inbox): recorded once
            async with uow() as work:
                await cases.record_channel_consent(work, stop, meta(tenant, stop.TYPE))
                await work.commit()

        found = await cases.person_consents(
            uow, reader(tenant), lead_id=lead_id, patient_id=None, phone=None, email=None
        )
        assert [(e.purpose, e.channel, e.granted, e.source, e.text) for e in found.entries] == [
            ("marketing", "whatsapp", False, "stop_word", "STOP")
        ]
        assert found.entries[0].id == stop.change_id
        assert found.entries[0].phone == PHONE
        assert found.allows("marketing", "whatsapp") is False
        assert found.allows("marketing", "sms") is None  # only the channel she wrote STOP on
        # the other clinic's person with the same phone has no entry
        theirs = await cases.person_consents(
            uow, reader(other), lead_id=others_lead, patient_id=None, phone=None, email=None
        )
        assert theirs.entries == []

        # an opt-in word gives it back; staff lifting an opt-out is not her consent (no entry)
        start = change(opted_in=True, how="start_word", text="VOLTAR", lead_id=lead_id, at=NOW + timedelta(minutes=1))
        staff = change(opted_in=True, how="staff", text=None, staff_id=new_id(), at=NOW + timedelta(minutes=2))
        for event in (start, staff):
            async with uow() as work:
                await cases.record_channel_consent(work, event, meta(tenant, event.TYPE))
                await work.commit()
        found = await cases.person_consents(
            uow, reader(tenant), lead_id=lead_id, patient_id=None, phone=None, email=None
        )
        assert [(e.granted, e.source, e.text) for e in found.entries] == [
            (False, "stop_word", "STOP"),
            (True, "start_word", "VOLTAR"),
        ]
        assert found.allows("marketing", "whatsapp") is True

        # a Telegram sender who is no lead yet: nothing to key an entry by (notifications' opt-out still holds)
        telegram = change(channel="telegram", address="123456789")
        async with uow() as work:
            await cases.record_channel_consent(work, telegram, meta(tenant, telegram.TYPE))
            await work.commit()

        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(consents))).scalar_one() == 2
            announced = (
                await conn.execute(
                    select(outbox_table.c.event_type, outbox_table.c.payload).order_by(outbox_table.c.id)
                )
            ).all()
        assert [r.event_type for r in announced] == [
            "clinicflow.privacy.consent.withdrawn.v1",
            "clinicflow.privacy.consent.given.v1",
        ]
        withdrawn = json.loads(announced[0].payload)
        assert (withdrawn["source"], withdrawn["lead_id"], withdrawn["text"]) == ("stop_word", lead_id, "STOP")
    finally:
        await engine.dispose()
