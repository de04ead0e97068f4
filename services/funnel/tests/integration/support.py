"""What funnel's integration tests share: a settable clock, staff principals, the staff directory, delivering an
event as the worker does (one unit of work, then its commit), a booking event, a deal's stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import Event, EventMeta
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1
from funnel import services as cases
from funnel.services.work import FunnelWorkFactory
from kit.auth import Principal
from kit.context import new_id

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
PROC = "proc-implant"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def staff(tenant_id: str, *perms: str) -> Principal:
    granted = frozenset(perms or ("funnel:read", "funnel:write", "funnel:admin"))
    return Principal(user_id=new_id(), tenant_id=tenant_id, email="staff@clinic.test", permissions=granted)


async def in_directory(uow: FunnelWorkFactory, member: Principal, *, active: bool = True) -> None:
    """What the gateway's staff events leave in funnel's directory (the consumer is tested in the e2e tier)."""
    async with uow() as work:
        await work.valuation.put_staff(
            member.tenant_id, member.user_id, full_name="Staff", roles=["sales_agent"], active=active, changed_at=T0
        )
        await work.commit()


def meta_of(tenant: str, event: Event, at: datetime) -> EventMeta:
    return EventMeta(
        id=new_id(), source="test", type=event.TYPE, time=at, subject=event.aggregate_id(), tenant_id=tenant,
        correlation_id=new_id(),
    )  # fmt: skip


async def deliver(uow: FunnelWorkFactory, tenant: str, event: Event, clock: Clock) -> None:
    async with uow() as work:
        await cases.handle_event(work, event, meta_of(tenant, event, clock()), clock=clock)
        await work.commit()


def booked(appt: str, person: Person, starts: datetime, at: datetime) -> AppointmentBookedV1:
    return AppointmentBookedV1(
        appointment_id=appt, person=person, branch_id="b", branch_name="Centro", professional_id="p",
        professional_name="Dr. Ana", procedure_id=PROC, procedure_name="Implant", starts_at=starts,
        ends_at=starts + timedelta(hours=1), timezone="America/Sao_Paulo", source="staff", booked_by="u", booked_at=at,
    )  # fmt: skip


async def stage_of(uow: FunnelWorkFactory, tenant: str, deal_id: str) -> str:
    async with uow() as work:
        deal = await work.funnel.deal(tenant, deal_id)
        assert deal is not None
        return str(deal.stage_key)
