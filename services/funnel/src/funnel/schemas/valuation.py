"""Bodies of the valuation → quote process (docs/quotes.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from kit.inputs import Uuid
from kit.patch import UNSET, Patch, UnsetType

Text200 = Annotated[str, msgspec.Meta(max_length=200)]
Text2000 = Annotated[str, msgspec.Meta(max_length=2000)]


class ValuationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Text200
    phone: Text200 | None = None
    email: Text200 | None = None
    #: pt-BR, es, ru, en; None: the clinic's default.
    locale: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    lead_id: Uuid | None = None
    #: The sales agent; default the caller.
    agent_id: Uuid | None = None


class DetailsPatch(Patch):
    name: Text200 | UnsetType = UNSET
    phone: Text200 | UnsetType | None = UNSET
    email: Text200 | UnsetType | None = UNSET
    locale: Annotated[str, msgspec.Meta(max_length=16)] | UnsetType | None = UNSET


class AgentIn(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: Uuid


class DoctorIn(msgspec.Struct, forbid_unknown_fields=True):
    doctor_id: Uuid


class RecordIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    summary: Annotated[str, msgspec.Meta(max_length=2000)]
    grafts: int | None = None
    notes: Annotated[str, msgspec.Meta(max_length=8000)] | None = None


class QuoteItemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cost_id: Uuid
    quantity: int = 1
    discount_id: Uuid | None = None


class QuoteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    items: list[QuoteItemIn]
    #: Applies to every item without a discount of its own.
    discount_id: Uuid | None = None
    note: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    #: true: send it to the prospect now; false: keep it to send later (POST .../quote/send).
    send: bool = False


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Text2000 | None = None


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class CostIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Text200
    price: Decimal
    currency: Annotated[str, msgspec.Meta(max_length=3)]


class CostPatch(Patch):
    name: Text200 | UnsetType = UNSET
    price: Decimal | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class DiscountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Text200
    percent: Decimal


class DiscountPatch(Patch):
    name: Text200 | UnsetType = UNSET
    percent: Decimal | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CostOut(msgspec.Struct):
    id: str
    name: str
    price: str
    currency: str
    active: bool


class DiscountOut(msgspec.Struct):
    id: str
    name: str
    percent: str
    active: bool


class ValuationOut(msgspec.Struct, kw_only=True):
    id: str
    state: str
    lead_id: str | None
    name: str | None
    phone: str | None
    email: str | None
    locale: str | None
    agent_id: str | None
    doctor_id: str | None
    photos_received: int
    photos_required: int
    quote_id: str | None
    waiting_for: str | None
    answer_due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PhotoOut(msgspec.Struct):
    slot: str
    source: str
    content_type: str
    size: int
    received_at: datetime
    #: A presigned URL (15 minutes) to view it.
    url: str


class StepOut(msgspec.Struct):
    at: datetime
    kind: str
    by: str
    text: str


class QuoteLineOut(msgspec.Struct, kw_only=True):
    description: str
    cost_id: str | None
    quantity: int
    unit_price: str
    discount_percent: str
    total: str


class QuoteOut(msgspec.Struct, kw_only=True):
    id: str
    status: str
    currency: str
    subtotal: str
    total: str
    items: list[QuoteLineOut]
    note: str | None
    created_at: datetime
    sent_at: datetime | None


class ValuationCard(msgspec.Struct, kw_only=True):
    valuation: ValuationOut
    summary: str | None
    grafts: int | None
    notes: str | None
    photos: list[PhotoOut]
    missing: list[str]
    quotes: list[QuoteOut]
    history: list[StepOut]


class PhotoPageOut(msgspec.Struct, kw_only=True):
    """What the patient's upload page shows."""

    name: str | None
    received: list[str]
    missing: list[str]
    complete: bool
    #: The prospect's language, for the page (pt-BR, es, ru, en); None: the phone's.
    locale: str | None = None


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    #: Why (reject) or what the prospect wants to talk about (question).
    message: Text2000 | None = None


class QuotePageOut(msgspec.Struct, kw_only=True):
    """What the patient's quote page shows, and where the process stands."""

    name: str | None
    currency: str
    subtotal: str
    total: str
    items: list[QuoteLineOut]
    note: str | None
    #: sent (waiting for the answer), superseded (a newer quote was sent).
    status: str
    #: The prospect's answer: accept, reject, question, or None.
    answer: str | None
    state: str
    #: The prospect's language, for the page (pt-BR, es, ru, en); None: the phone's.
    locale: str | None = None
    #: The diagnostic doctor's valuation the quote rests on (their summary and the grafts planned).
    valuation: str | None = None
    grafts: int | None = None


class ValuationSettingsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    #: Slugs of the leads' treatment list (e.g. hair_transplant): a request for one opens a valuation.
    treatments: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=50)]
    #: The sales agent of a prospect whose lead has no owner; None: the process opens without one.
    agent_id: Uuid | None = None


class ValuationSettingsOut(msgspec.Struct, kw_only=True):
    treatments: list[str]
    agent_id: str | None
    updated_at: datetime | None
