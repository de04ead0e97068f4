"""HTTP bodies of payments. Money travels as a decimal string ("350.00"); input may be a string or a number."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from payments.domain.charges import METHODS, Charge, NewCharge
from payments.domain.discounts import DiscountRule, ProcedurePrice
from payments.domain.money import fmt

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class PersonIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lead_id: UUID | None = None
    patient_id: UUID | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^\+[1-9][0-9]{7,14}$")] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    #: The payer's CPF, with or without punctuation. Asaas needs it to make a charge; Mercado Pago shows it
    #: on its checkout. Only handed to the provider, never stored.
    cpf: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class ChargeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    person: PersonIn
    description: Text
    #: Omit to charge the procedure's price.
    amount: Decimal | None = None
    #: ISO 4217; omitted: the procedure's or the clinic's currency (BRL).
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] | None = None
    procedure_id: UUID | None = None
    appointment_id: UUID | None = None
    methods: Annotated[list[str], msgspec.Meta(max_length=3)] = msgspec.field(default_factory=lambda: list(METHODS))
    #: Omitted: 24 hours from now.
    expires_at: datetime | None = None

    def to_new(self) -> NewCharge:
        p = self.person
        return NewCharge(
            description=self.description,
            methods=tuple(self.methods),
            lead_id=str(p.lead_id) if p.lead_id else None,
            patient_id=str(p.patient_id) if p.patient_id else None,
            name=p.name,
            phone=p.phone,
            email=p.email,
            locale=p.locale,
            cpf=p.cpf,
            amount=self.amount,
            currency=self.currency,
            procedure_id=str(self.procedure_id) if self.procedure_id else None,
            appointment_id=str(self.appointment_id) if self.appointment_id else None,
            expires_at=self.expires_at,
        )


class ChargeOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str
    amount: str
    amount_before_discount: str
    discount_id: str | None
    currency: str
    description: str
    methods: list[str]
    provider: str
    url: str | None
    expires_at: datetime
    person: dict[str, str | None]
    procedure_id: str | None
    appointment_id: str | None
    method: str | None
    #: The provider's id of the payment that paid it (to find it in the provider's dashboard).
    provider_payment_id: str | None
    paid_amount: str | None
    paid_at: datetime | None
    late: bool
    refunded_amount: str
    failure_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: The patient's Pay page (a signed `pay` link: amount, discount, PIX code, then the checkout) — send this
    #: one to the patient; `url` is the provider's checkout itself.
    pay_url: str | None = None

    @classmethod
    def of(cls, c: Charge) -> ChargeOut:
        return cls(
            id=c.id,
            status=c.status,
            amount=fmt(c.amount),
            amount_before_discount=fmt(c.amount_before_discount),
            discount_id=c.discount_id,
            currency=c.currency,
            description=c.description,
            methods=list(c.methods),
            provider=c.provider,
            url=c.checkout_url,
            expires_at=c.expires_at,
            person={
                "lead_id": c.lead_id,
                "patient_id": c.patient_id,
                "name": c.person_name,
                "phone": c.person_phone,
                "email": c.person_email,
                "locale": c.person_locale,
            },
            procedure_id=c.procedure_id,
            appointment_id=c.appointment_id,
            method=c.method,
            provider_payment_id=c.provider_payment_id,
            paid_amount=fmt(c.paid_amount) if c.paid_amount is not None else None,
            paid_at=c.paid_at,
            late=c.late,
            refunded_amount=fmt(c.refunded_amount),
            failure_reason=c.failure_reason,
            created_by=c.created_by,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class ChargeList(msgspec.Struct, frozen=True):
    items: list[ChargeOut]
    total: int
    limit: int
    offset: int


class CancelIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class RefundIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Omitted: everything not refunded yet.
    amount: Decimal | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class PixOut(msgspec.Struct, frozen=True):
    code: str
    svg: str


class PriceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    amount: Decimal
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] = "BRL"


class PriceOut(msgspec.Struct, frozen=True, kw_only=True):
    procedure_id: str
    name: str
    amount: str
    currency: str

    @classmethod
    def of(cls, p: ProcedurePrice) -> PriceOut:
        return cls(procedure_id=p.procedure_id, name=p.name, amount=fmt(p.amount), currency=p.currency)


class PriceList(msgspec.Struct, frozen=True):
    items: list[PriceOut]


class DiscountIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    #: percentage or fixed
    kind: str
    #: Percent for percentage rules, money for fixed ones.
    value: Decimal
    procedure_id: UUID | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    active: bool = True


class DiscountOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: str
    value: str
    procedure_id: str | None
    valid_from: date | None
    valid_until: date | None
    active: bool

    @classmethod
    def of(cls, d: DiscountRule) -> DiscountOut:
        return cls(
            id=d.id,
            name=d.name,
            kind=d.kind,
            value=fmt(d.value),
            procedure_id=d.procedure_id,
            valid_from=d.valid_from,
            valid_until=d.valid_until,
            active=d.active,
        )


class DiscountList(msgspec.Struct, frozen=True):
    items: list[DiscountOut]


class BucketOut(msgspec.Struct, frozen=True):
    key: str
    count: int
    amount: str


class FinancePayment(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str
    paid_at: datetime
    amount: str
    currency: str
    method: str | None
    provider: str
    lead_source: str | None
    person_name: str | None
    late: bool
    refunded_amount: str


class FinanceOut(msgspec.Struct, frozen=True, kw_only=True):
    #: Days (the clinic's time zone), both included.
    start: date
    end: date
    count: int
    total: str
    refunded: str
    net: str
    late: int
    by_currency: list[BucketOut]
    by_method: list[BucketOut]
    by_provider: list[BucketOut]
    by_source: list[BucketOut]
    by_day: list[BucketOut]
    payments: list[FinancePayment]


class LedgerEntryOut(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    kind: str
    payment_id: str
    description: str
    amount: str
    currency: str
    method: str | None


class LedgerOut(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[LedgerEntryOut]
    charged: str
    paid: str
    refunded: str
    open_debt: str


class AccountIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    provider: str
    #: Mercado Pago access token, Stripe secret key (sk_...), Asaas API key. Write-only.
    access_token: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    #: Mercado Pago webhook secret, Stripe whsec_..., the Asaas webhook token. Write-only.
    webhook_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    api_url: Annotated[str, msgspec.Meta(max_length=300)] = ""
    merchant_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    merchant_city: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    pix_key: Annotated[str, msgspec.Meta(max_length=77)] | None = None
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] = "BRL"


class AccountOut(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    #: False: the deployment's default account is used.
    own_account: bool
    access_token_set: bool
    webhook_secret_set: bool
    merchant_name: str
    merchant_city: str
    pix_key: str | None
    currency: str
    #: Register this URL in the provider's dashboard (Stripe, Asaas); Mercado Pago gets it with each link.
    webhook_url: str


class WebhookAnswer(msgspec.Struct, frozen=True):
    outcome: str
    event_id: str
