"""HTTP: charges and payment links, receipts, prices and discounts, the finance view and ledger, the clinic's
provider account, and the providers' webhooks (public, raw body)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from contracts.claims import CRM_ADMIN, CRM_READ, FINANCE_READ, PAYMENTS_REFUND, PAYMENTS_WRITE
from kit import webhooks as kit_webhooks
from kit.web import AuthRequest, Limit, Offset, requires
from payments import pix, receipts
from payments.clock import Clock
from payments.domain.errors import NotFound
from payments.domain.money import fmt
from payments.schemas import (
    AccountIn,
    AccountOut,
    BucketOut,
    CancelIn,
    ChargeIn,
    ChargeList,
    ChargeOut,
    DiscountIn,
    DiscountList,
    DiscountOut,
    FinanceOut,
    FinancePayment,
    LedgerEntryOut,
    LedgerOut,
    PixOut,
    PriceIn,
    PriceList,
    PriceOut,
    RefundIn,
    WebhookAnswer,
)
from payments.services import accounts, catalogue, finance, patient, webhooks
from payments.services import charges as cases
from payments.services.accounts import ProviderBook
from payments.services.work import PaymentsWorkFactory
from payments.settings import PaymentsSettings

#: Provider payloads are a few KiB.
MAX_WEBHOOK_BODY = 256 * 1024

IdempotencyKey = Annotated[str | None, Parameter(header="Idempotency-Key", required=False, max_length=200)]


def _with_pay_url(out: ChargeOut, charge: Any, settings: PaymentsSettings, clock: Clock) -> ChargeOut:
    url = patient.pay_url(settings.link_secret, settings.public_url, charge, clock.now())
    return msgspec.structs.replace(out, pay_url=url)


class ChargeController(Controller):
    path = "/api/v1/payments/payments"
    tags = ["payments"]

    @post("/", guards=[requires(PAYMENTS_WRITE)], summary="Create a charge and its payment link", status_code=201)
    async def create(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        book: ProviderBook,
        clock: Clock,
        data: ChargeIn,
        settings: PaymentsSettings,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ChargeOut]:
        charge, created = await cases.create_charge(
            uow,
            book,
            clock,
            request.user,
            data.to_new(),
            idempotency_key=idempotency_key,
            body_hash=cases.request_hash(msgspec.json.encode(data)),
        )
        out = _with_pay_url(ChargeOut.of(charge), charge, settings, clock)
        return Response(out, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's charges, newest first")
    async def list_charges(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        status: str | None = None,
        lead_id: UUID | None = None,
        patient_id: UUID | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ChargeList:
        items, total = await cases.list_charges(
            uow,
            request.user,
            status=status,
            lead_id=str(lead_id) if lead_id else None,
            patient_id=str(patient_id) if patient_id else None,
            limit=limit,
            offset=offset,
        )
        return ChargeList([ChargeOut.of(c) for c in items], total, limit, offset)

    @get("/{payment_id:uuid}", guards=[requires(CRM_READ)], summary="One charge")
    async def read(
        self, request: AuthRequest, uow: PaymentsWorkFactory, settings: PaymentsSettings, clock: Clock, payment_id: UUID
    ) -> ChargeOut:
        charge = await cases.get_charge(uow, request.user, str(payment_id))
        return _with_pay_url(ChargeOut.of(charge), charge, settings, clock)

    @post(
        "/{payment_id:uuid}/cancel", guards=[requires(PAYMENTS_WRITE)], summary="Cancel an unpaid link", status_code=200
    )
    async def cancel(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        clock: Clock,
        payment_id: UUID,
        data: CancelIn | None = None,
    ) -> ChargeOut:
        reason = data.reason if data else None
        return ChargeOut.of(await cases.cancel_charge(uow, clock, request.user, str(payment_id), reason))

    @post(
        "/{payment_id:uuid}/refunds",
        guards=[requires(PAYMENTS_REFUND)],
        summary="Refund a paid charge, wholly or in part (finance and admins)",
        status_code=200,
    )
    async def refund(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        book: ProviderBook,
        clock: Clock,
        payment_id: UUID,
        data: RefundIn,
    ) -> ChargeOut:
        charge, _ = await cases.refund_charge(uow, book, clock, request.user, str(payment_id), data.amount, data.reason)
        return ChargeOut.of(charge)

    @get("/{payment_id:uuid}/pix", guards=[requires(CRM_READ)], summary="The PIX copy-and-paste code and its QR")
    async def pix_code(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, payment_id: UUID
    ) -> PixOut:
        charge = await cases.get_charge(uow, request.user, str(payment_id))
        code = charge.pix_code
        if code is None:
            account = await book.account(uow, request.user.tenant_id)
            if account.pix_key and "pix" in charge.methods and charge.currency == "BRL":
                code = pix.build(
                    key=account.pix_key,
                    merchant_name=account.merchant_name,
                    merchant_city=account.merchant_city,
                    amount=charge.amount,
                    txid=pix.txid_for(charge.id),
                )
        if code is None:
            raise NotFound("This charge has no PIX code: the patient picks PIX on the checkout page.", field="pix")
        pix.parse(code)  # never hand out a code whose CRC or layout is broken
        return PixOut(code=code, svg=pix.qr_svg(code))

    async def _receipt(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, payment_id: UUID
    ) -> receipts.Receipt:
        charge = await cases.get_charge(uow, request.user, str(payment_id))
        account = await book.account(uow, request.user.tenant_id)
        return receipts.receipt_of(charge, account.merchant_name, clock.now())

    @get("/{payment_id:uuid}/receipt", guards=[requires(CRM_READ)], summary="Receipt of a confirmed payment (JSON)")
    async def receipt(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, payment_id: UUID
    ) -> receipts.Receipt:
        return await self._receipt(request, uow, book, clock, payment_id)

    @get(
        "/{payment_id:uuid}/receipt.html",
        guards=[requires(CRM_READ)],
        media_type=MediaType.HTML,
        summary="Printable receipt",
    )
    async def receipt_html(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, payment_id: UUID
    ) -> str:
        return receipts.html(await self._receipt(request, uow, book, clock, payment_id), request.user.timezone)

    @get("/{payment_id:uuid}/receipt.pdf", guards=[requires(CRM_READ)], summary="Receipt as PDF")
    async def receipt_pdf(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, payment_id: UUID
    ) -> Response[bytes]:
        receipt = await self._receipt(request, uow, book, clock, payment_id)
        return Response(
            receipts.pdf(receipt, request.user.timezone),
            media_type="application/pdf",
            headers={"content-disposition": f'inline; filename="comprovante-{receipt.number}.pdf"'},
        )


class CatalogueController(Controller):
    path = "/api/v1/payments"
    tags = ["prices and discounts"]

    @get("/prices", guards=[requires(CRM_READ)], summary="Procedure prices")
    async def prices(self, request: AuthRequest, uow: PaymentsWorkFactory) -> PriceList:
        return PriceList([PriceOut.of(p) for p in await catalogue.list_prices(uow, request.user)])

    @put("/prices/{procedure_id:uuid}", guards=[requires(CRM_ADMIN)], summary="Set a procedure's price")
    async def set_price(
        self, request: AuthRequest, uow: PaymentsWorkFactory, clock: Clock, procedure_id: UUID, data: PriceIn
    ) -> PriceOut:
        price = await catalogue.set_price(
            uow, clock, request.user, str(procedure_id), name=data.name, amount=data.amount, currency=data.currency
        )
        return PriceOut.of(price)

    @delete("/prices/{procedure_id:uuid}", guards=[requires(CRM_ADMIN)], status_code=HTTP_204_NO_CONTENT)
    async def delete_price(self, request: AuthRequest, uow: PaymentsWorkFactory, procedure_id: UUID) -> None:
        await catalogue.delete_price(uow, request.user, str(procedure_id))

    @get("/discounts", guards=[requires(CRM_READ)], summary="Discount rules")
    async def discounts(self, request: AuthRequest, uow: PaymentsWorkFactory) -> DiscountList:
        return DiscountList([DiscountOut.of(d) for d in await catalogue.list_discounts(uow, request.user)])

    @post("/discounts", guards=[requires(CRM_ADMIN)], summary="Add a discount rule", status_code=201)
    async def add_discount(
        self, request: AuthRequest, uow: PaymentsWorkFactory, clock: Clock, data: DiscountIn
    ) -> DiscountOut:
        rule = await catalogue.add_discount(
            uow,
            clock,
            request.user,
            name=data.name,
            kind=data.kind,
            value=data.value,
            procedure_id=str(data.procedure_id) if data.procedure_id else None,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            active=data.active,
        )
        return DiscountOut.of(rule)

    @put("/discounts/{discount_id:uuid}", guards=[requires(CRM_ADMIN)], summary="Change a discount rule")
    async def update_discount(
        self, request: AuthRequest, uow: PaymentsWorkFactory, discount_id: UUID, data: DiscountIn
    ) -> DiscountOut:
        rule = await catalogue.update_discount(
            uow,
            request.user,
            str(discount_id),
            name=data.name,
            kind=data.kind,
            value=data.value,
            procedure_id=str(data.procedure_id) if data.procedure_id else None,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            active=data.active,
        )
        return DiscountOut.of(rule)

    @delete("/discounts/{discount_id:uuid}", guards=[requires(CRM_ADMIN)], status_code=HTTP_204_NO_CONTENT)
    async def delete_discount(self, request: AuthRequest, uow: PaymentsWorkFactory, discount_id: UUID) -> None:
        await catalogue.delete_discount(uow, request.user, str(discount_id))


def _buckets(groups: dict[str, finance.Bucket]) -> list[BucketOut]:
    return [BucketOut(k, b.count, fmt(b.amount)) for k, b in sorted(groups.items(), key=lambda kv: -kv[1].amount)]


class FinanceController(Controller):
    path = "/api/v1/payments"
    tags = ["finance"]

    @get("/finance", guards=[requires(FINANCE_READ)], summary="Payments received in a period, grouped, with totals")
    async def view(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        start: Annotated[date, Parameter(query="from")],
        end: Annotated[date, Parameter(query="to")],
    ) -> FinanceOut:
        view = await finance.finance_view(uow, request.user, start, end)
        total = sum((b.amount for b in view.currency_totals.values()), finance.ZERO)
        return FinanceOut(
            start=view.start,
            end=view.end,
            count=len(view.payments),
            total=fmt(total),
            refunded=fmt(view.refunded),
            net=fmt(total - view.refunded),
            late=view.late,
            by_currency=_buckets(view.currency_totals),
            by_method=_buckets(view.by_method),
            by_provider=_buckets(view.by_provider),
            by_source=_buckets(view.by_source),
            by_day=sorted(_buckets(view.by_day), key=lambda b: b.key),
            payments=[
                FinancePayment(
                    payment_id=c.id,
                    paid_at=c.paid_at,  # type: ignore[arg-type]
                    amount=fmt(c.paid_amount if c.paid_amount is not None else c.amount),
                    currency=c.currency,
                    method=c.method,
                    provider=c.provider,
                    lead_source=source,
                    person_name=c.person_name,
                    late=c.late,
                    refunded_amount=fmt(c.refunded_amount),
                )
                for c, source in view.payments
            ],
        )

    @get(
        "/ledger",
        guards=[requires(FINANCE_READ)],
        summary="A patient's (or lead's) charges, payments, refunds and debt",
    )
    async def ledger(
        self,
        request: AuthRequest,
        uow: PaymentsWorkFactory,
        patient_id: UUID | None = None,
        lead_id: UUID | None = None,
    ) -> LedgerOut:
        entries, totals = await finance.ledger(
            uow,
            request.user,
            lead_id=str(lead_id) if lead_id else None,
            patient_id=str(patient_id) if patient_id else None,
        )
        return LedgerOut(
            entries=[
                LedgerEntryOut(
                    at=e.at,
                    kind=e.kind,
                    payment_id=e.payment_id,
                    description=e.description,
                    amount=fmt(e.amount),
                    currency=e.currency,
                    method=e.method,
                )
                for e in entries
            ],
            **{k: fmt(v) for k, v in totals.items()},
        )


class AccountController(Controller):
    path = "/api/v1/payments/settings"
    tags = ["provider account"]

    async def _out(self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook) -> AccountOut:
        account = await book.account(uow, request.user.tenant_id)
        public = book.settings.public_url.rstrip("/")
        return AccountOut(
            provider=account.provider,
            own_account=account.own,
            access_token_set=bool(account.credentials.access_token),
            webhook_secret_set=bool(account.credentials.webhook_secret),
            merchant_name=account.merchant_name,
            merchant_city=account.merchant_city,
            pix_key=account.pix_key,
            currency=account.currency,
            webhook_url=f"{public}/webhooks/payments/{account.provider}?clinic={request.user.tenant_id}",
        )

    @get("/", guards=[requires(CRM_ADMIN)], summary="The clinic's payment provider (secrets are never shown)")
    async def read(self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook) -> AccountOut:
        return await self._out(request, uow, book)

    @put("/", guards=[requires(CRM_ADMIN)], summary="Connect the clinic's own provider account")
    async def update(
        self, request: AuthRequest, uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, data: AccountIn
    ) -> AccountOut:
        await accounts.save_account(
            uow,
            book.sealer,
            tenant_id=request.user.tenant_id,
            user_id=request.user.user_id,
            provider=data.provider,
            access_token=data.access_token,
            webhook_secret=data.webhook_secret,
            api_url=data.api_url,
            merchant_name=data.merchant_name,
            merchant_city=data.merchant_city,
            pix_key=data.pix_key,
            currency=data.currency,
            now=clock.now(),
        )
        book.forget(request.user.tenant_id)
        return await self._out(request, uow, book)


class WebhookController(Controller):
    """Public: the gateway forwards `/webhooks/payments/...` with the raw body; the signature authenticates."""

    path = "/webhooks/payments"
    tags = ["webhooks"]

    @post("/{provider:str}", status_code=200, summary="A provider's payment notification", security=[{}])
    async def receive(
        self, request: Request[Any, Any, Any], uow: PaymentsWorkFactory, book: ProviderBook, clock: Clock, provider: str
    ) -> WebhookAnswer:
        # The signature is checked in the use case: Mercado Pago's covers the query, not only body and headers.
        delivery = kit_webhooks.Delivery(
            body=await kit_webhooks.read_body(request, MAX_WEBHOOK_BODY),
            headers={k.lower(): v for k, v in request.headers.items()},
            received_at=datetime.now(UTC),
        )
        handled = await webhooks.receive(
            uow,
            book,
            clock,
            provider_name=provider,
            delivery=delivery,
            query={k: v for k, v in request.query_params.items()},
        )
        return WebhookAnswer(handled.outcome, handled.event_id)


class PublicController(Controller):
    """The patient's Pay page data (a signed `pay` link), and where the provider's checkout sends the patient
    back (no token, no data shown; a browser gets the Pay page there from the gateway, docs/patient-pages.md)."""

    path = "/public/payments"
    tags = ["public"]

    @get("/pay", summary="The Pay page: amount before and after discount, methods, PIX code, checkout", security=[{}])
    async def pay_page(
        self,
        uow: PaymentsWorkFactory,
        book: ProviderBook,
        clock: Clock,
        settings: PaymentsSettings,
        token: Annotated[str, Parameter(query="token", max_length=4096)],
    ) -> dict[str, Any]:
        return await patient.pay_page(uow, book, clock, settings.link_secret, token)

    @get("/{payment_id:uuid}/done", media_type=MediaType.HTML, summary="Thank-you page after checkout", security=[{}])
    async def done(self, payment_id: UUID) -> str:
        return (
            '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Obrigado</title></head>'
            "<body><h1>Obrigado!</h1><p>Recebemos a sua solicitação de pagamento. Assim que o pagamento for "
            "confirmado, a clínica avisará você.</p></body></html>"
        )
