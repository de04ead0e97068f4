"""The unit of work of telephony's use cases: kit's (a transaction, the outbox, one commit) with the
repositories hanging off it, so a use case writes `work.calls.call(...)`, never `CallRepository(work.session)`.

`TelephonyWork` is what the use cases ask for; `TelephonyUnitOfWork` is the PostgreSQL one (kit's app factories
build it, `unit_of_work=TelephonyUnitOfWork`). The clinic's provider accounts and tracking numbers, the leads read
model and the recordings' retention are protocols (`AccountStore`, `ContactStore`, `RetentionStore`), so the use
cases over them also run against the in-memory unit of work of the unit tests
(services/telephony/tests/unit/memory.py); calls (one locking statement per delivery, the race on the call's
unique key), recordings (`SKIP LOCKED`) and the privacy queries lean on PostgreSQL and are tested in the
integration and e2e tiers. docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from kit.db import UnitOfWork, Work, uow_factory
from telephony.domain import KnownContact, RetentionRule, TrackingNumber
from telephony.providers import Account
from telephony.repository import (
    AccountRepository,
    CallRepository,
    ContactRepository,
    PrivacyRepository,
    RecordingRepository,
)


class AccountStore(Protocol):
    async def account(self, tenant_id: str, provider: str) -> Account | None: ...
    async def accounts(self, tenant_id: str) -> list[Account]: ...
    async def save_account(self, account: Account, at: datetime) -> None: ...
    async def add_number(self, number: TrackingNumber) -> bool: ...
    async def numbers(self, tenant_id: str) -> list[TrackingNumber]: ...
    async def remove_number(self, tenant_id: str, number_id: str) -> bool: ...


class ContactStore(Protocol):
    async def remember_contact(self, tenant_id: str, phone: str, lead_id: str, name: str, at: datetime) -> None: ...
    async def forget_lead(self, tenant_id: str, lead_id: str) -> None: ...
    async def contact(self, tenant_id: str, phones: list[str]) -> KnownContact | None: ...


class RetentionStore(Protocol):
    async def retention(self, tenant_id: str) -> RetentionRule | None: ...
    async def set_retention(self, tenant_id: str, rule: RetentionRule, user_id: str, at: datetime) -> None: ...


class TelephonyWork(Work, Protocol):
    accounts: AccountStore
    contacts: ContactStore
    retention: RetentionStore
    # PostgreSQL only (see the module's docstring).
    calls: CallRepository
    recordings: RecordingRepository
    privacy: PrivacyRepository


TelephonyWorkFactory = Callable[[], TelephonyWork]


class TelephonyUnitOfWork(UnitOfWork):
    """kit's unit of work with telephony's repositories on its session."""

    accounts: AccountStore
    contacts: ContactStore
    retention: RetentionStore
    calls: CallRepository
    recordings: RecordingRepository
    privacy: PrivacyRepository

    def opened(self, session: AsyncSession) -> None:
        self.accounts = AccountRepository(session)
        self.contacts = ContactRepository(session)
        self.calls = CallRepository(session)
        self.recordings = self.retention = RecordingRepository(session)
        self.privacy = PrivacyRepository(session)


def telephony_uow(engine: AsyncEngine) -> TelephonyWorkFactory:
    """The PostgreSQL unit-of-work factory of telephony on `engine` (scripts and the integration tests)."""
    return cast(TelephonyWorkFactory, uow_factory(engine, "telephony", TelephonyUnitOfWork))
