"""The in-memory unit of work of telephony (`TelephonyWork`'s protocol stores over plain objects) for the
use-case tests of this tier: provider accounts per clinic and provider (a second connect replaces the first),
tracking numbers unique per clinic and number, the leads read model (an older event never overwrites a newer
one, as the repository's `WHERE updated_at <= at`), each clinic's recording retention. Calls, recordings and the
privacy queries have no in-memory store (telephony.services.work): touching one here fails loudly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devkit.memory import MemoryWork
from telephony.domain import KnownContact, RetentionRule, TrackingNumber
from telephony.providers import Account


@dataclass
class TelephonyState:
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    numbers: dict[str, TrackingNumber] = field(default_factory=dict)
    #: (clinic, phone) -> (lead id, name, updated at)
    contacts: dict[tuple[str, str], tuple[str, str, datetime]] = field(default_factory=dict)
    retention: dict[str, RetentionRule] = field(default_factory=dict)


class MemoryAccounts:
    def __init__(self, state: TelephonyState) -> None:
        self.s = state

    async def account(self, tenant_id: str, provider: str) -> Account | None:
        return self.s.accounts.get((tenant_id, provider))

    async def accounts(self, tenant_id: str) -> list[Account]:
        return sorted((a for (t, _), a in self.s.accounts.items() if t == tenant_id), key=lambda a: a.provider)

    async def save_account(self, account: Account, at: datetime) -> None:
        self.s.accounts[(account.tenant_id, account.provider)] = account

    async def add_number(self, number: TrackingNumber) -> bool:
        if any(n.tenant_id == number.tenant_id and n.number == number.number for n in self.s.numbers.values()):
            return False
        self.s.numbers[number.id] = number
        return True

    async def numbers(self, tenant_id: str) -> list[TrackingNumber]:
        return sorted((n for n in self.s.numbers.values() if n.tenant_id == tenant_id), key=lambda n: n.number)

    async def remove_number(self, tenant_id: str, number_id: str) -> bool:
        found = self.s.numbers.get(number_id)
        if found is None or found.tenant_id != tenant_id:
            return False
        del self.s.numbers[number_id]
        return True


class MemoryContacts:
    def __init__(self, state: TelephonyState) -> None:
        self.s = state

    async def remember_contact(self, tenant_id: str, phone: str, lead_id: str, name: str, at: datetime) -> None:
        current = self.s.contacts.get((tenant_id, phone))
        if current is None or current[2] <= at:
            self.s.contacts[(tenant_id, phone)] = (lead_id, name, at)

    async def forget_lead(self, tenant_id: str, lead_id: str) -> None:
        for key in [k for k, v in self.s.contacts.items() if k[0] == tenant_id and v[0] == lead_id]:
            del self.s.contacts[key]

    async def contact(self, tenant_id: str, phones: list[str]) -> KnownContact | None:
        found = [(v[2], p, v) for (t, p), v in self.s.contacts.items() if t == tenant_id and p in phones]
        if not found:
            return None
        _, phone, (lead_id, name, _) = max(found)
        return KnownContact(lead_id, name, (phone,))


class MemoryRetention:
    def __init__(self, state: TelephonyState) -> None:
        self.s = state

    async def retention(self, tenant_id: str) -> RetentionRule | None:
        return self.s.retention.get(tenant_id)

    async def set_retention(self, tenant_id: str, rule: RetentionRule, user_id: str, at: datetime) -> None:
        self.s.retention[tenant_id] = rule


class _PostgresOnly:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this store is PostgreSQL only (telephony.services.work): {name}")


class MemoryTelephony(MemoryWork[TelephonyState]):
    def opened(self) -> None:
        self.accounts = MemoryAccounts(self.state)
        self.contacts = MemoryContacts(self.state)
        self.retention = MemoryRetention(self.state)
        self.calls = self.recordings = self.privacy = _PostgresOnly()
