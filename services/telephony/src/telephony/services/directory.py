"""Per api process: each clinic's provider accounts and tracking numbers, cached."""

from __future__ import annotations

import time
from collections.abc import Callable

from telephony.domain import TrackingNumber
from telephony.providers import Account
from telephony.services.work import AccountStore, TelephonyWorkFactory


class Directory:
    """Per api process: each clinic's provider accounts and tracking numbers, kept `ttl` seconds (the ingress
    reads them for every delivery, and they change only when an admin edits them). An edit through this process
    forgets the clinic at once; another replica sees it within `ttl` seconds."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._accounts: dict[tuple[str, str], tuple[float, Account | None]] = {}
        self._numbers: dict[str, tuple[float, list[TrackingNumber]]] = {}

    def forget(self, tenant_id: str) -> None:
        self._numbers.pop(tenant_id, None)
        for key in [k for k in self._accounts if k[0] == tenant_id]:
            self._accounts.pop(key, None)

    async def account(self, uow: TelephonyWorkFactory, tenant_id: str, provider: str) -> Account | None:
        hit = self._accounts.get((tenant_id, provider))
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        async with uow() as work:
            account = await work.accounts.account(tenant_id, provider)
        if len(self._accounts) > 10_000:
            self._accounts.clear()
        self._accounts[(tenant_id, provider)] = (self.clock(), account)
        return account

    async def numbers(self, accounts: AccountStore, tenant_id: str) -> list[TrackingNumber]:
        hit = self._numbers.get(tenant_id)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        numbers = await accounts.numbers(tenant_id)
        if len(self._numbers) > 10_000:
            self._numbers.clear()
        self._numbers[tenant_id] = (self.clock(), numbers)
        return numbers
