"""Bodies of the assistant's API (docs/funnel.md#the-pre-qualification-assistant)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from kit.inputs import Uuid

_Minutes = Annotated[int, msgspec.Meta(ge=1, le=7 * 24 * 60)]


class OptionIn(msgspec.Struct, forbid_unknown_fields=True):
    #: scheduling's procedure id (procedures) or branch id (regions).
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    #: A procedure's deposit ("150.00"); absent: payments charges the procedure's price.
    amount: str | None = None


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool
    procedures: list[OptionIn] = []
    regions: list[OptionIn] = []
    #: locale (pt-BR, es, ru, en) -> message key -> text; keys and variables as in `defaults`.
    messages: dict[str, dict[str, str]] = {}
    default_locale: str = "pt-BR"
    currency: str = "BRL"
    reply_minutes: _Minutes = 60
    handoff_minutes: _Minutes = 120


class OptionOut(msgspec.Struct):
    id: str
    title: str
    amount: str | None = None


class SettingsOut(msgspec.Struct):
    enabled: bool
    procedures: list[OptionOut]
    regions: list[OptionOut]
    messages: dict[str, dict[str, str]]
    default_locale: str
    currency: str
    reply_minutes: int
    handoff_minutes: int
    #: The built-in texts per locale, and the variables each message may use.
    defaults: dict[str, dict[str, str]]
    variables: dict[str, list[str]]
    updated_at: datetime | None = None


class StartIn(msgspec.Struct, forbid_unknown_fields=True):
    lead_id: Uuid
    #: whatsapp, telegram or instagram.
    channel: str
    #: The patient's address there: E.164 phone, Telegram chat id, Instagram user id.
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: str | None = None
    locale: str | None = None


class StepOut(msgspec.Struct):
    at: datetime
    step: str
    #: assistant, patient, payments, scheduling, timer, agent:<user id>.
    actor: str
    action: str
    detail: str


class ProcessOut(msgspec.Struct):
    id: str
    lead_id: str
    channel: str
    address: str
    locale: str
    step: str
    #: active (the assistant talks), agent (a sales agent has it), completed.
    status: str
    name: str | None
    cpf: str | None
    procedure_id: str | None
    procedure: str | None
    branch_id: str | None
    region: str | None
    payment_id: str | None
    paid: bool
    appointment_id: str | None
    #: When the timer fires next (a reminder or the hand-over) and how many reminders it gave.
    due_at: datetime | None
    nudges: int
    last_reply_at: datetime | None
    created_at: datetime
    updated_at: datetime
    history: list[StepOut] = []
