"""Which provider account a clinic uses: its own (PUT /api/v1/payments/settings) or the deployment's default."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from kit.db import UnitOfWorkFactory
from payments.domain.errors import InvalidInput, NotFound
from payments.domain.money import DEFAULT_CURRENCY, check_currency
from payments.providers import PROVIDERS, make
from payments.providers.base import Credentials, PaymentProvider
from payments.repository import AccountRepository
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
    """Resolves accounts and keeps one adapter (one HTTP connection pool) per distinct account."""

    def __init__(self, settings: PaymentsSettings) -> None:
        self.settings = settings
        self._adapters: dict[str, PaymentProvider] = {}

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

    async def account(self, uow_factory: UnitOfWorkFactory, tenant_id: str) -> Account:
        async with uow_factory() as uow:
            row = await AccountRepository(uow.session).get(tenant_id)
        if row is None:
            return self.default_account(tenant_id)
        default = self.default_account(tenant_id)
        return Account(
            tenant_id=tenant_id,
            provider=row.provider,
            credentials=Credentials(row.access_token, row.webhook_secret, row.api_url),
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


def check_provider(name: str) -> str:
    if name not in PROVIDERS:
        raise NotFound(f"Unknown payment provider {name!r}; known: {', '.join(PROVIDERS)}.", field="provider")
    return name


async def save_account(
    uow_factory: UnitOfWorkFactory,
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
        await AccountRepository(uow.session).upsert(
            {
                "tenant_id": tenant_id,
                "provider": provider,
                "access_token": access_token,
                "webhook_secret": webhook_secret,
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
