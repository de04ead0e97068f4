"""Which provider account a clinic uses: its own (PUT /api/v1/payments/settings) or the deployment's default."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime

from kit.sealing import Sealer, SealingError
from payments.domain.errors import InvalidInput, NotConfigured, NotFound
from payments.domain.money import DEFAULT_CURRENCY, check_currency
from payments.providers import PROVIDERS, make
from payments.providers.base import Credentials, PaymentProvider
from payments.services.work import PaymentsWorkFactory
from payments.settings import PaymentsSettings


@dataclass(frozen=True)
class Account:
    tenant_id: str
    provider: str
    credentials: Credentials
    merchant_name: str
    merchant_city: str
    pix_key: str | None
    currency: str
    own: bool

    @property
    def fingerprint(self) -> str:
        c = self.credentials
        return hashlib.sha256(f"{self.provider}|{c.access_token}|{c.webhook_secret}|{c.api_url}".encode()).hexdigest()


class ProviderBook:
    """Resolves accounts and keeps one adapter (one HTTP connection pool) per distinct account.

    Accounts are cached for `ttl` seconds (every webhook and every create needs one): a clinic's new keys
    apply at once in the process that saved them and within `ttl` in the others.
    """

    def __init__(self, settings: PaymentsSettings, *, ttl: float = 5.0) -> None:
        self.settings = settings
        self.ttl = ttl
        self.sealer = sealer_of(settings)
        self._adapters: dict[str, PaymentProvider] = {}
        self._accounts: dict[str, tuple[float, Account]] = {}

    def default_account(self, tenant_id: str) -> Account:
        s = self.settings
        credentials = {
            "mercadopago": Credentials(s.mercadopago_access_token, s.mercadopago_webhook_secret, s.mercadopago_api_url),
            "stripe": Credentials(s.stripe_secret_key, s.stripe_webhook_secret, s.stripe_api_url),
            "asaas": Credentials(s.asaas_api_key, s.asaas_webhook_token, s.asaas_api_url),
        }[s.default_provider]
        return Account(
            tenant_id=tenant_id,
            provider=s.default_provider,
            credentials=credentials,
            merchant_name=s.merchant_name,
            merchant_city=s.merchant_city,
            pix_key=None,
            currency=DEFAULT_CURRENCY,
            own=False,
        )

    def forget(self, tenant_id: str) -> None:
        self._accounts.pop(tenant_id, None)

    async def account(self, uow_factory: PaymentsWorkFactory, tenant_id: str) -> Account:
        cached = self._accounts.get(tenant_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        account = await self._load(uow_factory, tenant_id)
        if len(self._accounts) > 10_000:
            self._accounts.clear()
        self._accounts[tenant_id] = (time.monotonic(), account)
        return account

    async def _load(self, uow_factory: PaymentsWorkFactory, tenant_id: str) -> Account:
        async with uow_factory() as uow:
            row = await uow.accounts.get(tenant_id)
        if row is None:
            return self.default_account(tenant_id)
        default = self.default_account(tenant_id)
        return Account(
            tenant_id=tenant_id,
            provider=row.provider,
            credentials=Credentials(
                unseal(self.sealer, row.access_token, tenant_id, "access_token"),
                unseal(self.sealer, row.webhook_secret, tenant_id, "webhook_secret"),
                row.api_url,
            ),
            merchant_name=row.merchant_name or default.merchant_name,
            merchant_city=row.merchant_city or default.merchant_city,
            pix_key=row.pix_key,
            currency=row.currency,
            own=True,
        )

    def adapter(self, account: Account) -> PaymentProvider:
        key = account.fingerprint
        if key not in self._adapters:
            self._adapters[key] = make(
                account.provider, account.credentials, tolerance_seconds=self.settings.webhook_tolerance_seconds
            )
        return self._adapters[key]

    async def close(self) -> None:
        for adapter in self._adapters.values():
            await adapter.close()
        self._adapters.clear()


def sealer_of(settings: PaymentsSettings) -> Sealer | None:
    return Sealer.from_setting(settings.sealing_keys) if settings.sealing_keys.strip() else None


def _context(tenant_id: str, column: str) -> str:
    # Bound to the row and the column: a sealed token copied to another clinic or column does not open.
    return f"payments.accounts/{tenant_id}/{column}"


def seal(sealer: Sealer | None, value: str, tenant_id: str, column: str) -> str:
    if not value:
        return ""
    if sealer is None:
        raise NotConfigured(
            "Provider credentials cannot be stored: this deployment has no sealing key (PAYMENTS_SEALING_KEYS).",
            field=column,
        )
    return sealer.seal(value, context=_context(tenant_id, column))


def unseal(sealer: Sealer | None, value: str, tenant_id: str, column: str) -> str:
    if sealer is None:
        if value.startswith("sealed:"):
            raise NotConfigured("The clinic's provider credentials are sealed and no sealing key is configured.")
        return value
    try:
        return sealer.open(value, context=_context(tenant_id, column))
    except SealingError as exc:
        raise NotConfigured(f"The clinic's provider credentials do not open: {exc}") from exc


async def reseal(uow_factory: PaymentsWorkFactory, sealer: Sealer | None, *, limit: int = 200) -> int:
    """Seal credentials still stored in the clear (rows from before sealing) or under an older key, so an old
    key can be dropped after a rotation. Returns how many accounts were re-sealed."""
    if sealer is None:
        return 0
    changed = 0
    async with uow_factory() as uow:
        repo = uow.accounts
        for tenant_id, access_token, webhook_secret in await repo.secrets_for_update(sealer.current_prefix, limit):
            if not (sealer.needs_reseal(access_token) or sealer.needs_reseal(webhook_secret)):
                continue
            values = {}
            for column, stored in (("access_token", access_token), ("webhook_secret", webhook_secret)):
                values[column] = seal(sealer, unseal(sealer, stored, tenant_id, column), tenant_id, column)
            await repo.set_secrets(tenant_id, **values)
            changed += 1
        await uow.commit()
    return changed


def check_provider(name: str) -> str:
    if name not in PROVIDERS:
        raise NotFound(f"Unknown payment provider {name!r}; known: {', '.join(PROVIDERS)}.", field="provider")
    return name


async def save_account(
    uow_factory: PaymentsWorkFactory,
    sealer: Sealer | None,
    *,
    tenant_id: str,
    user_id: str,
    provider: str,
    access_token: str,
    webhook_secret: str,
    api_url: str,
    merchant_name: str | None,
    merchant_city: str | None,
    pix_key: str | None,
    currency: str,
    now: datetime,
) -> None:
    if provider not in PROVIDERS:
        raise InvalidInput(f"Unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}.", field="provider")
    if api_url and not api_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise InvalidInput("api_url must be an https:// address.", field="api_url")
    async with uow_factory() as uow:
        await uow.accounts.upsert(
            {
                "tenant_id": tenant_id,
                "provider": provider,
                "access_token": seal(sealer, access_token, tenant_id, "access_token"),
                "webhook_secret": seal(sealer, webhook_secret, tenant_id, "webhook_secret"),
                "api_url": api_url,
                "merchant_name": merchant_name,
                "merchant_city": merchant_city,
                "pix_key": pix_key,
                "currency": check_currency(currency),
                "updated_by": user_id,
                "updated_at": now,
            }
        )
        await uow.commit()
