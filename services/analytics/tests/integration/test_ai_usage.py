"""The AI usage report on a real, migrated PostgreSQL: reply.suggested and the message.sent that used them, in a
shuffled order with redeliveries -> exact figures per staff member, channel and model; scopes, tenants, exports,
and the bookings and payments that followed a used suggestion."""

from __future__ import annotations

import asyncio
import csv
import io
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from analytics import exports
from analytics.domain import InvalidAnalytics
from analytics.services import rebuild
from analytics.services import reports as cases
from analytics.services.work import AnalyticsUnitOfWork, AnalyticsWorkFactory
from contracts import Event, EventMeta
from contracts import identity as ie
from contracts import leads as le
from contracts import notifications as ne
from contracts import payments as pe
from contracts import scheduling as se
from contracts.claims import ANALYTICS_ALL, ANALYTICS_READ
from contracts.people import Person
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory

TZ = "America/Sao_Paulo"
NOV = cases.Query(first=date(2026, 11, 1), last=date(2026, 11, 30))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def uow(infra: Infra) -> AsyncIterator[AnalyticsWorkFactory]:
    engine = make_engine(await asyncio.to_thread(fresh_database, infra, "analytics"))  # alembic runs its own loop
    try:
        yield uow_factory(engine, "analytics", AnalyticsUnitOfWork)
    finally:
        await engine.dispose()


def staff(tenant: str, *perms: str, user: str | None = None) -> Principal:
    return Principal(
        user_id=user or new_id(), tenant_id=tenant, email="s@clinic.test", permissions=frozenset(perms), timezone=TZ
    )


def meta(tenant: str, event: Event) -> EventMeta:
    return EventMeta(
        id=new_id(),
        source="test",
        type=event.TYPE,
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        tenant_id=tenant,
        correlation_id=new_id(),
    )


class Assisted:
    """Agent A asks three times (one used as is and followed by a booking and a payment, one edited, one
    ignored), agent B once on Instagram with another model (edited, twice: the first reply counts), and one
    request falls outside November."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.a, self.b = new_id(), new_id()
        self.l1, self.l2 = new_id(), new_id()
        self.conversations: dict[str, str] = {}
        self.events: list[Event] = [
            ie.StaffCreatedV1(
                user_id=self.a,
                full_name="Ana Agente",
                email="a@x",
                roles=["sales_agent"],
                active=True,
                changed_at=at(1, 9),
            ),
            le.LeadCreatedV1(
                lead_id=self.l1,
                name="Maria",
                phone="+5511900000001",
                source="whatsapp",
                created_at=at(10, 9),
                channel="message",
            ),
        ]
        self.s1 = self._asked(self.a, self.l1, at(10, 10), "whatsapp", "gpt-4o-mini", (300, 60), "0.0010")
        self._sent(self.s1, self.l1, at(10, 10, 2), "as_is")
        self.events.append(
            se.AppointmentBookedV1(
                appointment_id=new_id(),
                person=Person(lead_id=self.l1),
                branch_id=new_id(),
                branch_name="b",
                professional_id=new_id(),
                professional_name="d",
                procedure_id=new_id(),
                procedure_name="p",
                starts_at=at(20, 10),
                ends_at=at(20, 11),
                timezone=TZ,
                source="staff",
                booked_by=self.a,
                booked_at=at(10, 11),
            )
        )
        self.events.append(
            pe.PaymentConfirmedV1(
                payment_id=new_id(),
                person=Person(lead_id=self.l1),
                amount="150.00",
                currency="BRL",
                method="pix",
                provider="sandbox",
                provider_payment_id="x",
                paid_at=at(10, 12),
            )
        )
        self._wrote(self.s1, self.l1, at(10, 10, 1))  # before the reply: not an answer to it
        self._wrote(self.s1, self.l1, at(10, 10, 30))  # the person answered the reply
        s2 = self._asked(self.a, self.l2, at(11, 10), "whatsapp", "gpt-4o-mini", (200, 50), "0.0007")
        self._sent(s2, self.l2, at(11, 10, 5), "edited")
        self._wrote(s2, self.l2, at(11, 10, 4))  # wrote before the reply only
        self._asked(self.a, self.l2, at(12, 10), "whatsapp", "gpt-4o-mini", (250, 55), "0.0008")  # ignored
        s4 = self._asked(self.b, None, at(13, 10), "instagram", "llama-3", (100, 40), None)
        self._sent(s4, None, at(13, 10, 1), "edited")
        self._sent(s4, None, at(13, 10, 9), "as_is")
        self._asked(
            self.a, self.l2, datetime(2026, 12, 3, 10, tzinfo=UTC), "whatsapp", "gpt-4o-mini", (999, 99), "0.01"
        )

    def _asked(
        self,
        who: str,
        lead: str | None,
        when: datetime,
        channel: str,
        model: str,
        tokens: tuple[int, int],
        cost: str | None,
    ) -> str:
        suggestion = new_id()
        self.conversations[suggestion] = new_id()
        self.events.append(
            ne.ReplySuggestedV1(
                suggestion_id=suggestion,
                conversation_id=self.conversations[suggestion],
                lead_id=lead,
                staff_id=who,
                channel=channel,
                model=model,
                count=3,
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
                cost=cost,
                suggested_at=when,
            )
        )
        return suggestion

    def _wrote(self, suggestion: str, lead: str | None, when: datetime) -> None:
        self.events.append(
            ne.MessageReceivedV1(
                conversation_id=self.conversations[suggestion], message_id=new_id(), lead_id=lead,
                channel="whatsapp", sender="+5511900000001", text="Obrigada!", provider="whatsapp_cloud",
                provider_message_id=new_id(), received_at=when,
            )
        )  # fmt: skip

    def _sent(self, suggestion: str, lead: str | None, when: datetime, use: str) -> None:
        self.events.append(
            ne.MessageSentV1(
                message_id=new_id(),
                lead_id=lead,
                channel="whatsapp",
                to="+5511900000001",
                template="staff_reply",
                locale="pt-BR",
                provider="whatsapp_cloud",
                provider_message_id=new_id(),
                sent_at=when,
                suggestion_id=suggestion,
                suggestion_use=use,
                suggestion_model="m",
                suggestion_tokens=1,
            )
        )

    async def deliver(self, uow: AnalyticsWorkFactory, seed: int) -> None:
        tagged = [(e, meta(self.tenant, e)) for e in self.events]
        rnd = random.Random(seed)
        replay = tagged + rnd.sample(tagged, len(tagged) // 2)
        rnd.shuffle(replay)
        for item in replay:
            await rebuild.apply(uow, "analytics.test", [item])


async def test_ai_usage_per_staff_member_channel_and_model(uow: AnalyticsWorkFactory) -> None:
    clinic = Assisted(new_id())
    await clinic.deliver(uow, seed=7)
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)

    report = await cases.ai_usage(uow, manager, NOV)

    assert report.scope == "clinic"
    rows = {r["staff"]: r for r in report.rows}
    a, b = rows[clinic.a], rows[clinic.b]
    assert a["staff_name"] == "Ana Agente"
    assert (a["requests"], a["suggestions"], a["used"], a["as_is"], a["edited"], a["ignored"]) == (3, 9, 2, 1, 1, 1)
    assert (a["prompt_tokens"], a["completion_tokens"], a["tokens"]) == (750, 165, 915)
    assert a["cost"] == Decimal("0.0025")
    assert (a["use_rate"], a["edit_rate"]) == (66.7, 50.0)
    assert (a["booked"], a["paid"]) == (1, 1)  # only the first one's lead booked and paid after it was used
    assert (a["replied"], b["replied"]) == (1, 0)  # the person wrote again after the first reply only
    assert (b["requests"], b["used"], b["as_is"], b["edited"], b["ignored"], b["cost"]) == (1, 1, 0, 1, 0, None)
    assert [r["staff"] for r in report.rows] == [clinic.a, clinic.b]  # most requests first
    assert report.totals["requests"] == 4
    assert report.totals["used"] == 3
    assert report.totals["tokens"] == 915 + 140
    assert report.totals["cost"] == Decimal("0.0025")

    by_channel = await cases.ai_usage(
        uow, manager, cases.Query(first=NOV.first, last=NOV.last, group_by=("channel", "model"))
    )
    assert {(r["channel"], r["model"]): r["requests"] for r in by_channel.rows} == {
        ("whatsapp", "gpt-4o-mini"): 3,
        ("instagram", "llama-3"): 1,
    }
    december = await cases.ai_usage(uow, manager, cases.Query(first=date(2026, 12, 1), last=date(2026, 12, 31)))
    assert [(r["requests"], r["ignored"]) for r in december.rows] == [(1, 1)]

    text = exports.to_csv(report).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == report.columns
    assert lines[0][:3] == ["staff", "staff_name", "requests"]
    assert lines[1][2] == "3"
    assert lines[-1][0] == "total"
    assert exports.to_xlsx(report)[:2] == b"PK"


async def test_agents_see_their_own_and_clinics_nothing_of_each_other(uow: AnalyticsWorkFactory) -> None:
    clinic, other = Assisted(new_id()), Assisted(new_id())
    await clinic.deliver(uow, seed=1)
    await other.deliver(uow, seed=2)

    own = await cases.ai_usage(uow, staff(clinic.tenant, ANALYTICS_READ, user=clinic.b), NOV)
    assert own.scope == "own"
    assert [(r["staff"], r["requests"]) for r in own.rows] == [(clinic.b, 1)]
    stranger = await cases.ai_usage(uow, staff(new_id(), ANALYTICS_READ, ANALYTICS_ALL), NOV)
    assert stranger.rows == []
    assert stranger.totals["requests"] == 0
    mine = await cases.ai_usage(uow, staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL), NOV)
    assert mine.totals["requests"] == 4  # the other clinic's identical events are not counted

    with pytest.raises(InvalidAnalytics) as err:
        await cases.ai_usage(uow, staff(clinic.tenant, ANALYTICS_READ), cases.Query(group_by=("doctor",)))
    assert err.value.field == "group_by"


async def test_the_same_events_in_another_order_give_the_same_report(uow: AnalyticsWorkFactory) -> None:
    clinic = Assisted(new_id())
    await clinic.deliver(uow, seed=3)
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
    first = await cases.ai_usage(uow, manager, NOV)
    await rebuild.clear(uow, ["analytics.test"])
    assert (await cases.ai_usage(uow, manager, NOV)).rows == []
    await clinic.deliver(uow, seed=99)
    again = await cases.ai_usage(uow, manager, NOV)
    assert (again.rows, again.totals) == (first.rows, first.totals)
    assert first.period.first == NOV.first
    assert first.period.last - first.period.first == timedelta(days=29)
