"""The unit of work of notifications' use cases: kit's (a transaction, the outbox, one commit) with the
repositories hanging off it, so a use case writes `uow.messages.add(...)`, never `MessageRepository(uow.session)`.

`NotificationsWork` is what the use cases ask for; `NotificationsUnitOfWork` is the PostgreSQL one (kit's app
factories build it, `unit_of_work=NotificationsUnitOfWork`). The clinic's configuration (rules, templates,
settings) and the channel opt-outs are protocols, so the use cases over them also run against the in-memory unit
of work of the unit tests (services/notifications/tests/unit/memory.py); messages, conversations, inbound
messages and the rest lean on PostgreSQL (`SKIP LOCKED` leases, upserts keyed by dedupe keys, trigram search) and
are tested in the integration and e2e tiers. `memo` is the per-transaction read cache (`services._once`).
docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kit import webhooks
from kit.db import UnitOfWork, Work
from notifications.domain import QuietHours, Rule
from notifications.repository.accounts import AccountRepository
from notifications.repository.assistant import AssistantRepository
from notifications.repository.confirmations import ConfirmationRepository
from notifications.repository.contacts import ContactRepository
from notifications.repository.conversations import ConversationRepository
from notifications.repository.inapp import InAppRepository
from notifications.repository.inbound import InboundRepository
from notifications.repository.messages import MessageRepository
from notifications.repository.opt_outs import OptOutRepository
from notifications.repository.privacy import ConsentCopyRepository, PrivacyRepository, RetentionRepository
from notifications.repository.rules import RuleRepository
from notifications.repository.settings import SettingsRepository
from notifications.repository.templates import TemplateRepository


class RuleStore(Protocol):
    async def for_tenant(self, tenant_id: str) -> dict[str, Rule]: ...
    async def upsert(self, tenant_id: str, rule: Rule, user_id: str, now: datetime) -> None: ...
    async def delete(self, tenant_id: str, key: str) -> bool: ...


class TemplateStore(Protocol):
    async def find(self, tenant_id: str, name: str, locales: Sequence[str], channel: str) -> dict[str, Any] | None: ...
    async def all_for(self, tenant_id: str) -> list[dict[str, Any]]: ...
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
    ) -> None: ...
    async def delete(self, *, tenant_id: str, name: str, locale: str, channel: str) -> bool: ...


class SettingsStore(Protocol):
    async def get(self, tenant_id: str) -> dict[str, Any] | None: ...
    async def upsert(
        self, tenant_id: str, *, timezone: str, locale: str, quiet: QuietHours | None, now: datetime
    ) -> None: ...


class OptOutStore(Protocol):
    async def add(self, tenant_id: str, channel: str, address: str, source: str, now: datetime) -> None: ...
    async def remove(self, tenant_id: str, channel: str, address: str) -> bool: ...
    async def list(self, tenant_id: str) -> list[dict[str, Any]]: ...
    async def opted_out(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]: ...


class ReceiptRepository:
    """kit's webhook receipt store in this transaction (a redelivered provider event does nothing)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, delivery: webhooks.Delivery, *, provider: str, scope: str, event_id: str) -> bool:
        return await webhooks.record_receipt(self.session, delivery, provider=provider, scope=scope, event_id=event_id)


class NotificationsWork(Work, Protocol):
    rules: RuleStore
    templates: TemplateStore
    settings: SettingsStore
    opt_outs: OptOutStore
    #: Reads kept for the rest of the transaction (a consumer batch reads a clinic's rules once).
    memo: dict[tuple[str, ...], Any]
    # PostgreSQL only (see the module's docstring).
    messages: MessageRepository
    contacts: ContactRepository
    conversations: ConversationRepository
    inbound: InboundRepository
    inapp: InAppRepository
    accounts: AccountRepository
    confirmations: ConfirmationRepository
    assistant: AssistantRepository
    consents: ConsentCopyRepository
    privacy: PrivacyRepository
    retention: RetentionRepository
    receipts: ReceiptRepository


NotificationsWorkFactory = Callable[[], NotificationsWork]


class NotificationsUnitOfWork(UnitOfWork):
    """kit's unit of work with notifications' repositories on its session."""

    rules: RuleStore
    templates: TemplateStore
    settings: SettingsStore
    opt_outs: OptOutStore
    memo: dict[tuple[str, ...], Any]
    messages: MessageRepository
    contacts: ContactRepository
    conversations: ConversationRepository
    inbound: InboundRepository
    inapp: InAppRepository
    accounts: AccountRepository
    confirmations: ConfirmationRepository
    assistant: AssistantRepository
    consents: ConsentCopyRepository
    privacy: PrivacyRepository
    retention: RetentionRepository
    receipts: ReceiptRepository

    def opened(self, session: AsyncSession) -> None:
        self.memo = {}
        self.rules = RuleRepository(session)
        self.templates = TemplateRepository(session)
        self.settings = SettingsRepository(session)
        self.opt_outs = OptOutRepository(session)
        self.messages = MessageRepository(session)
        self.contacts = ContactRepository(session)
        self.conversations = ConversationRepository(session)
        self.inbound = InboundRepository(session)
        self.inapp = InAppRepository(session)
        self.accounts = AccountRepository(session)
        self.confirmations = ConfirmationRepository(session)
        self.assistant = AssistantRepository(session)
        self.consents = ConsentCopyRepository(session)
        self.privacy = PrivacyRepository(session)
        self.retention = RetentionRepository(session)
        self.receipts = ReceiptRepository(session)
