"""Provider adapters behind one interface, one module per provider: verify the provider's own signature scheme
on the raw body, then map its events onto `domain.CallEvent` (docs/telephony.md).

Each adapter is pure (no IO): the ingress use case gives it the raw bytes, the headers, the URL the provider
called and the clinic's account, and stores what it returns.
"""

from __future__ import annotations

from telephony.providers.asterisk import Asterisk, asterisk_signature
from telephony.providers.base import Account, Adapter, Inbound, e164, form, query_of
from telephony.providers.bitrix24 import (
    BITRIX_FINISH,
    BITRIX_METHODS,
    BITRIX_REGISTER,
    Bitrix24,
    bitrix_call_id,
    bitrix_fields,
    bitrix_method,
)
from telephony.providers.mango import Mango, mango_sign
from telephony.providers.telfin import Telfin
from telephony.providers.twilio import Twilio, twilio_signature
from telephony.providers.zadarma import Zadarma, zadarma_signature, zadarma_signed_string

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (Zadarma(), Twilio(), Mango(), Telfin(), Asterisk(), Bitrix24())}


def adapter(name: str) -> Adapter | None:
    return ADAPTERS.get(name)


__all__ = [
    "ADAPTERS",
    "BITRIX_FINISH",
    "BITRIX_METHODS",
    "BITRIX_REGISTER",
    "Account",
    "Adapter",
    "Asterisk",
    "Bitrix24",
    "Inbound",
    "Mango",
    "Telfin",
    "Twilio",
    "Zadarma",
    "adapter",
    "asterisk_signature",
    "bitrix_call_id",
    "bitrix_fields",
    "bitrix_method",
    "e164",
    "form",
    "mango_sign",
    "query_of",
    "twilio_signature",
    "zadarma_signature",
    "zadarma_signed_string",
]
