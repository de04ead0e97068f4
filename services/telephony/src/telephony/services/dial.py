"""Click-to-call: the provider rings the staff member's extension and connects the person."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.claims import DEFAULT_COUNTRY
from kit.auth import Principal
from telephony.domain import OUTBOUND, STARTED, CallEvent, InvalidTelephony, NotFound
from telephony.provider_api import DIALS, NotConfigured, ProviderApi
from telephony.providers import ADAPTERS, e164
from telephony.services.common import now
from telephony.services.ingress import apply_events
from telephony.services.work import TelephonyWorkFactory


@dataclass(frozen=True)
class Dialled:
    call_id: str
    provider: str
    provider_call_id: str


async def dial(
    uow: TelephonyWorkFactory,
    api: ProviderApi,
    principal: Principal,
    *,
    public_url: str,
    provider: str,
    extension: str,
    to: str | None,
    line: str | None,
    call_id: str | None,
) -> Dialled:
    """Ask the provider to ring the staff member's extension and connect it to the person (`to`, or the caller
    of the call card `call_id`: calling back). The call's record exists at once (ringing, outbound); the
    provider's events then fold into it."""
    if provider not in ADAPTERS:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    if provider not in DIALS:
        raise InvalidTelephony(
            f"{provider} has no call API ClinicFlow can use; click-to-call works with: {', '.join(DIALS)}.",
            field="provider",
        )
    country = principal.country or DEFAULT_COUNTRY
    async with uow() as work:
        account = await work.accounts.account(principal.tenant_id, provider)
        if account is None:
            raise InvalidTelephony(f"This clinic has not connected {provider}.", field="provider")
        card_call = await work.calls.call(principal.tenant_id, call_id) if call_id else None
        if call_id and card_call is None:
            raise NotFound(f"No call {call_id} in this clinic.", field="call_id")
        numbers = await work.accounts.numbers(principal.tenant_id)
    person = e164(to, country) if to else (card_call.record.caller if card_call else None)
    if not person or not person.startswith("+"):
        raise InvalidTelephony("The number to call is not a phone number.", field="to")
    clinic_line = e164(line, country) if line else (card_call.record.tracking_number if card_call else None)
    if not clinic_line and numbers:
        clinic_line = numbers[0].number
    if not clinic_line or not clinic_line.startswith("+"):
        raise InvalidTelephony("Which of the clinic's numbers calls out? Give line.", field="line")
    callback = f"{public_url.rstrip('/')}/webhooks/telephony/{provider}?clinic={principal.tenant_id}"
    try:
        provider_call_id = await api.dial(
            account, to=person, line=clinic_line, extension=extension, callback_url=callback
        )
    except NotConfigured as exc:
        raise InvalidTelephony(str(exc), field=exc.field) from exc
    dialled = CallEvent(
        provider=provider,
        provider_call_id=provider_call_id,
        event_id=f"{provider_call_id}:dialled",
        seq=0,
        stage=STARTED,
        at=now(),
        direction=OUTBOUND,
        caller=person,
        tracking_number=clinic_line,
    )
    async with uow() as work:
        numbers = await work.accounts.numbers(principal.tenant_id)
        stored = await work.calls.lock_call(principal.tenant_id, provider, provider_call_id)
        new_call_id, _ = await apply_events(
            work, principal.tenant_id, provider, provider_call_id, [dialled], numbers, stored=stored
        )
        await work.commit()
    return Dialled(new_call_id, provider, provider_call_id)
