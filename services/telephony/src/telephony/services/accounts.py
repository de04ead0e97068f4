"""Provider accounts and tracking numbers (clinic admins)."""

from __future__ import annotations

from contracts.claims import DEFAULT_COUNTRY, DEFAULT_TIMEZONE
from kit.auth import Principal
from kit.context import new_id
from telephony.domain import Conflict, InvalidTelephony, NotFound, TrackingNumber, clean_label, clean_source
from telephony.providers import ADAPTERS, Account, e164
from telephony.services.common import now
from telephony.services.directory import Directory
from telephony.services.work import TelephonyWorkFactory


async def connect(
    uow: TelephonyWorkFactory,
    principal: Principal,
    provider: str,
    *,
    secret: str,
    api_key: str,
    timezone: str | None,
    api_url: str = "",
    directory: Directory | None = None,
) -> Account:
    if provider not in ADAPTERS:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    if not secret.strip():
        raise InvalidTelephony("The secret must not be empty.", field="secret")
    if provider == "mango" and not api_key.strip():
        raise InvalidTelephony("Mango Office needs the vpbx_api_key.", field="api_key")
    api_url = api_url.strip()
    if api_url and not (api_url.startswith("https://") or api_url.startswith("http://")):
        raise InvalidTelephony("The api_url is an http(s) address.", field="api_url")
    account = Account(
        tenant_id=principal.tenant_id,
        provider=provider,
        secret=secret.strip(),
        api_key=api_key.strip(),
        country=principal.country or DEFAULT_COUNTRY,
        timezone=timezone or principal.timezone or DEFAULT_TIMEZONE,
        api_url=api_url,
    )
    async with uow() as work:
        await work.accounts.save_account(account, now())
        await work.commit()
    if directory is not None:
        directory.forget(principal.tenant_id)
    return account


async def connections(uow: TelephonyWorkFactory, principal: Principal) -> list[tuple[str, Account | None]]:
    """Every provider the service knows, with the clinic's account for it when connected."""
    async with uow() as work:
        found = {a.provider: a for a in await work.accounts.accounts(principal.tenant_id)}
    return [(provider, found.get(provider)) for provider in ADAPTERS]


async def add_number(
    uow: TelephonyWorkFactory,
    principal: Principal,
    *,
    number: str,
    source: str,
    label: str | None,
    directory: Directory | None = None,
) -> TrackingNumber:
    phone = e164(number, principal.country or DEFAULT_COUNTRY)
    if not phone or not phone.startswith("+"):
        raise InvalidTelephony("The number is not a phone number.", field="number")
    tracking = TrackingNumber(
        id=new_id(),
        tenant_id=principal.tenant_id,
        number=phone,
        source=clean_source(source),
        label=clean_label(label),
        created_at=now(),
    )
    async with uow() as work:
        if not await work.accounts.add_number(tracking):
            raise Conflict(f"{phone} is a tracking number of this clinic already.", field="number")
        await work.commit()
    if directory is not None:
        directory.forget(principal.tenant_id)
    return tracking


async def list_numbers(uow: TelephonyWorkFactory, principal: Principal) -> list[TrackingNumber]:
    async with uow() as work:
        return await work.accounts.numbers(principal.tenant_id)


async def remove_number(
    uow: TelephonyWorkFactory, principal: Principal, number_id: str, directory: Directory | None = None
) -> None:
    async with uow() as work:
        if not await work.accounts.remove_number(principal.tenant_id, number_id):
            raise NotFound(f"No tracking number {number_id} in this clinic.")
        await work.commit()
    if directory is not None:
        directory.forget(principal.tenant_id)
