"""The in-memory unit of work of notifications (`NotificationsWork`'s configuration stores and channel opt-outs
over plain objects) for the use-case tests of this tier: the clinic's rules (one row per key), templates (one per
name, locale and channel), settings, and opt-outs (one per channel and address), each behind the tenant boundary.
Messages, conversations and the other PostgreSQL-only repositories have no in-memory store
(notifications.services.work): touching one here fails loudly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devkit.memory import MemoryWork
from notifications.domain import QuietHours, Rule


@dataclass
class ConfigState:
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    templates: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    opt_outs: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)


class MemoryRules:
    def __init__(self, state: ConfigState) -> None:
        self.s = state

    async def for_tenant(self, tenant_id: str) -> dict[str, Rule]:
        return {key: rule for (t, key), rule in self.s.rules.items() if t == tenant_id}

    async def upsert(self, tenant_id: str, rule: Rule, user_id: str, now: datetime) -> None:
        self.s.rules[(tenant_id, rule.key)] = rule

    async def delete(self, tenant_id: str, key: str) -> bool:
        return self.s.rules.pop((tenant_id, key), None) is not None


class MemoryTemplates:
    def __init__(self, state: ConfigState) -> None:
        self.s = state

    async def find(self, tenant_id: str, name: str, locales: Sequence[str], channel: str) -> dict[str, Any] | None:
        return next(
            (row for loc in locales if (row := self.s.templates.get((tenant_id, name, loc, channel))) is not None),
            None,
        )

    async def all_for(self, tenant_id: str) -> list[dict[str, Any]]:
        return [dict(row) for (t, *_), row in self.s.templates.items() if t == tenant_id]

    async def upsert(
        self,
        *,
        tenant_id: str,
        name: str,
        locale: str,
        channel: str,
        body: str,
        user_id: str,
        now: datetime,
        subject: str | None = None,
        wa_template: str | None = None,
    ) -> None:
        self.s.templates[(tenant_id, name, locale, channel)] = {
            "tenant_id": tenant_id, "name": name, "locale": locale, "channel": channel, "body": body,
            "subject": subject, "wa_template": wa_template, "updated_by": user_id, "updated_at": now,
        }  # fmt: skip

    async def delete(self, *, tenant_id: str, name: str, locale: str, channel: str) -> bool:
        return self.s.templates.pop((tenant_id, name, locale, channel), None) is not None


class MemorySettings:
    def __init__(self, state: ConfigState) -> None:
        self.s = state

    async def get(self, tenant_id: str) -> dict[str, Any] | None:
        row = self.s.settings.get(tenant_id)
        return dict(row) if row else None

    async def upsert(
        self, tenant_id: str, *, timezone: str, locale: str, quiet: QuietHours | None, now: datetime
    ) -> None:
        self.s.settings[tenant_id] = {
            "tenant_id": tenant_id, "timezone": timezone, "locale": locale,
            "quiet_start": quiet.start.strftime("%H:%M") if quiet else None,
            "quiet_end": quiet.end.strftime("%H:%M") if quiet else None, "updated_at": now,
        }  # fmt: skip


class MemoryOptOuts:
    def __init__(self, state: ConfigState) -> None:
        self.s = state

    async def add(self, tenant_id: str, channel: str, address: str, source: str, now: datetime) -> None:
        self.s.opt_outs.setdefault(
            (tenant_id, channel, address),
            {"tenant_id": tenant_id, "channel": channel, "address": address, "source": source, "created_at": now},
        )

    async def remove(self, tenant_id: str, channel: str, address: str) -> bool:
        return self.s.opt_outs.pop((tenant_id, channel, address), None) is not None

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        mine = [dict(r) for (t, *_), r in self.s.opt_outs.items() if t == tenant_id]
        return sorted(mine, key=lambda r: r["created_at"])

    async def opted_out(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return {k for k in keys if k in self.s.opt_outs}


class _PostgresOnly:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this store is PostgreSQL only (notifications.services.work): {name}")


class MemoryNotifications(MemoryWork[ConfigState]):
    def opened(self) -> None:
        self.memo: dict[tuple[str, ...], Any] = {}
        self.rules = MemoryRules(self.state)
        self.templates = MemoryTemplates(self.state)
        self.settings = MemorySettings(self.state)
        self.opt_outs = MemoryOptOuts(self.state)
        self.messages = self.contacts = self.conversations = self.inbound = self.inapp = _PostgresOnly()
        self.accounts = self.confirmations = self.assistant = self.consents = self.privacy = _PostgresOnly()
        self.receipts = self.retention = _PostgresOnly()
