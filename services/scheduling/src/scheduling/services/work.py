"""The unit of work of scheduling's use cases: kit's (a transaction, the outbox, one commit) with the
repositories hanging off it, so a use case writes `uow.appointments.get(...)`, never
`AppointmentRepository(uow.session)`.

`SchedulingWork` is what the use cases ask for; `SchedulingUnitOfWork` is the PostgreSQL one (kit's app
factories build it, `unit_of_work=SchedulingUnitOfWork`). Scheduling's rules lean on PostgreSQL (the
exclusion constraint against double booking, `SKIP LOCKED` reminders, savepoints), so its use cases are
tested in the integration tier on a migrated database; `session` stays on the protocol for the savepoint a
payment's booking takes. docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import UnitOfWork, Work
from scheduling.repository.anamnesis import AnamnesisRepository
from scheduling.repository.appointments import AppointmentRepository
from scheduling.repository.entitlements import EntitlementRepository
from scheduling.repository.reminders import ReminderRepository
from scheduling.repository.setup import SetupRepository
from scheduling.repository.staff import StaffRepository
from scheduling.repository.waitlist import WaitlistRepository


class SchedulingWork(Work, Protocol):
    anamnesis: AnamnesisRepository
    appointments: AppointmentRepository
    entitlements: EntitlementRepository
    reminders: ReminderRepository
    setup: SetupRepository
    staff: StaffRepository
    waitlist: WaitlistRepository

    @property
    def session(self) -> AsyncSession: ...


SchedulingWorkFactory = Callable[[], SchedulingWork]


class SchedulingUnitOfWork(UnitOfWork):
    """kit's unit of work with scheduling's repositories on its session."""

    anamnesis: AnamnesisRepository
    appointments: AppointmentRepository
    entitlements: EntitlementRepository
    reminders: ReminderRepository
    setup: SetupRepository
    staff: StaffRepository
    waitlist: WaitlistRepository

    def opened(self, session: AsyncSession) -> None:
        self.anamnesis = AnamnesisRepository(session)
        self.appointments = AppointmentRepository(session)
        self.entitlements = EntitlementRepository(session)
        self.reminders = ReminderRepository(session)
        self.setup = SetupRepository(session)
        self.staff = StaffRepository(session)
        self.waitlist = WaitlistRepository(session)
