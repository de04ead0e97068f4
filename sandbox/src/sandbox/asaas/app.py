"""An Asaas look-alike: `POST /v3/customers`, `POST /v3/payments` (billingType PIX), `GET /v3/payments/{id}`,
`GET /v3/payments?externalReference=`, `GET /v3/payments/{id}/pixQrCode`, `POST /v3/payments/{id}/refund` and
`/v3/webhooks`, all behind the `access_token` header; the invoice page (`invoiceUrl`) with the PIX
copy-and-paste code and its QR; and events (`PAYMENT_CREATED`, `PAYMENT_RECEIVED`, `PAYMENT_REFUNDED`, ...)
posted to the registered webhooks with their `asaas-access-token`. `/sandbox/asaas/*` holds the test controls.
"""

from __future__ import annotations

import base64
import hmac
import html
import io
import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import segno
from litestar import Controller, Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import State

from kit import logging as kit_logging
from kit import web
from kit.settings import load
from sandbox.payments.hooks import Controls, Outgoing, Sender, page
from sandbox.payments.pix import brcode, svg


class AsaasSandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8093
    #: The API key callers must send in `access_token`; empty: any `$aact_` key.
    api_key: str = ""
    #: Where browsers reach the invoice pages (the payments' `invoiceUrl`).
    public_url: str = "http://127.0.0.1:8093"
    pix_key: str = "asaas@clinicflow.local"
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> AsaasSandboxSettings:
    return load(AsaasSandboxSettings, "SANDBOX_ASAAS_")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _png(payload: str) -> str:
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="png", scale=5, border=2)
    return base64.b64encode(out.getvalue()).decode()


class Book:
    def __init__(self, settings: AsaasSandboxSettings) -> None:
        self.key = settings.api_key
        self.public_url = settings.public_url.rstrip("/")
        self.pix_key = settings.pix_key
        self.customers: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.sender = Sender()
        self._n = itertools.count(5_000_000)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._n):012d}"

    def authorised(self, request: Request[Any, Any, Any]) -> bool:
        given = request.headers.get("access_token", "")
        return hmac.compare_digest(given, self.key) if self.key else given.startswith("$aact_")

    def code(self, payment: dict[str, Any]) -> str:
        return brcode(
            key=self.pix_key,
            name="CLINICFLOW ASAAS",
            city="SAO PAULO",
            amount=Decimal(str(payment["value"])),
            txid=payment["id"].replace("_", "")[-25:],
        )

    def event(self, kind: str, payment: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": f"evt_{secrets.token_hex(16)}&{next(self._n)}",
            "event": kind,
            "dateCreated": _now(),
            "payment": {k: v for k, v in payment.items() if not k.startswith("_")},
        }
        self.events[event["id"]] = event
        return event

    def outgoing(self, event: dict[str, Any]) -> list[Outgoing]:
        body = msgspec.json.encode(event)
        items: list[Outgoing] = []
        for hook in self.webhooks.values():
            if not hook["enabled"] or (hook["events"] and event["event"] not in hook["events"]):
                continue
            token = hook.get("authToken") or ""

            def headers(_: bytes, token: str = token) -> dict[str, str]:
                out = {"content-type": "application/json", "user-agent": "Asaas_Hmlg/3.0"}
                if token:
                    out["asaas-access-token"] = token
                return out

            about = {"event_id": event["id"], "event": event["event"], "payment_id": event["payment"]["id"]}
            items.append((hook["url"], body, headers, about))
        return items

    def emit(self, events: list[dict[str, Any]]) -> None:
        self.sender.send([item for event in events for item in self.outgoing(event)])


def _book(state: State) -> Book:
    book: Book = state.asaas_book
    return book


def _error(status: int, code: str, description: str) -> Response[Any]:
    return Response({"errors": [{"code": code, "description": description}]}, status_code=status)


def _unauthorised() -> Response[Any]:
    return _error(401, "invalid_access_token", "A chave de API fornecida é inválida.")


def _public(payment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payment.items() if not k.startswith("_")}


async def _json(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None


class AsaasApi(Controller):
    path = "/v3"
    tags = ["asaas api"]

    @post("/customers", status_code=200)
    async def add_customer(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        body = await _json(request)
        if not body or not str(body.get("name") or "").strip():
            return _error(400, "invalid_name", "O campo name deve ser informado.")
        document = body.get("cpfCnpj")
        if document is not None and len("".join(c for c in str(document) if c.isdigit())) not in (11, 14):
            return _error(400, "invalid_cpfCnpj", "O CPF/CNPJ informado é inválido.")
        customer: dict[str, Any] = {
            "object": "customer",
            "id": book.new_id("cus"),
            "dateCreated": date.today().isoformat(),
            **{k: body.get(k) for k in ("name", "email", "mobilePhone", "cpfCnpj", "externalReference")},
            "deleted": False,
        }
        book.customers[customer["id"]] = customer
        return Response(customer)

    @post("/payments", status_code=200)
    async def add_payment(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        body = await _json(request) or {}
        if body.get("customer") not in book.customers:
            return _error(400, "invalid_customer", "Cliente inexistente ou não informado.")
        if not book.customers[body["customer"]].get("cpfCnpj"):
            # As the real Asaas does: a charge needs the customer's CPF or CNPJ.
            return _error(
                400,
                "invalid_customer.cpfCnpj",
                "Para criar esta cobrança é necessário preencher o CPF ou CNPJ do cliente.",
            )
        if body.get("billingType") not in ("PIX", "BOLETO", "CREDIT_CARD", "UNDEFINED"):
            return _error(400, "invalid_billingType", "Forma de pagamento inválida.")
        try:
            value = Decimal(str(body.get("value")))
            due = date.fromisoformat(str(body.get("dueDate")))
        except (InvalidOperation, ValueError):
            return _error(400, "invalid_value", "Informe value e dueDate (AAAA-MM-DD).")
        if value <= 0:
            return _error(400, "invalid_value", "O valor da cobrança deve ser maior que zero.")
        if due < date.today():
            return _error(400, "invalid_dueDate", "A data de vencimento não pode ser anterior à data atual.")
        payment_id = book.new_id("pay")
        payment: dict[str, Any] = {
            "object": "payment",
            "id": payment_id,
            "dateCreated": date.today().isoformat(),
            "customer": body["customer"],
            "value": float(value),
            "netValue": float(value * Decimal("0.99")),
            "billingType": body["billingType"],
            "status": "PENDING",
            "dueDate": due.isoformat(),
            "description": body.get("description"),
            "externalReference": body.get("externalReference"),
            "invoiceUrl": f"{book.public_url}/i/{payment_id}",
            "invoiceNumber": payment_id[-8:],
            "paymentDate": None,
            "clientPaymentDate": None,
            "confirmedDate": None,
            "deleted": False,
            "refunds": None,
            "_refunded": 0.0,
        }
        book.payments[payment_id] = payment
        created = book.event("PAYMENT_CREATED", payment)
        if book.sender.mode == "out_of_order":
            payment["_created_event"] = created  # delivered after the money, below
        else:
            book.emit([created])
        return Response(_public(payment))

    @get("/payments")
    async def list_payments(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        wanted = request.query_params.get("externalReference")
        items = [_public(p) for p in book.payments.values() if wanted is None or p["externalReference"] == wanted]
        return Response({"object": "list", "hasMore": False, "totalCount": len(items), "data": items})

    @get("/payments/{payment_id:str}")
    async def read_payment(self, request: Request[Any, Any, Any], state: State, payment_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        found = book.payments.get(payment_id)
        return Response(_public(found)) if found else _error(404, "not_found", "Cobrança não encontrada.")

    @get("/payments/{payment_id:str}/pixQrCode")
    async def pix_code(self, request: Request[Any, Any, Any], state: State, payment_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        payment = book.payments.get(payment_id)
        if payment is None or payment["billingType"] != "PIX":
            return _error(404, "not_found", "Cobrança PIX não encontrada.")
        code = book.code(payment)
        return Response(
            {"encodedImage": _png(code), "payload": code, "expirationDate": f"{payment['dueDate']} 23:59:59"}
        )

    @post("/payments/{payment_id:str}/refund", status_code=200)
    async def refund(self, request: Request[Any, Any, Any], state: State, payment_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        payment = book.payments.get(payment_id)
        if payment is None:
            return _error(404, "not_found", "Cobrança não encontrada.")
        body = await _json(request) or {}
        left = round(payment["value"] - payment["_refunded"], 2)
        try:
            value = float(Decimal(str(body.get("value", left))))
        except InvalidOperation:
            return _error(400, "invalid_value", "Valor de estorno inválido.")
        if payment["status"] not in ("RECEIVED", "CONFIRMED") or not 0 < value <= left + 1e-9:
            return _error(400, "invalid_action", "Esta cobrança não pode ser estornada neste valor.")
        payment["_refunded"] = round(payment["_refunded"] + value, 2)
        payment["refunds"] = [*(payment["refunds"] or []), {"dateCreated": _now(), "status": "DONE", "value": value}]
        full = payment["_refunded"] >= payment["value"] - 1e-9
        if full:
            payment["status"] = "REFUNDED"
        book.emit([book.event("PAYMENT_REFUNDED" if full else "PAYMENT_PARTIALLY_REFUNDED", payment)])
        return Response(_public(payment))

    @post("/webhooks", status_code=200, summary="Register a webhook (url, authToken, events)")
    async def add_webhook(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        body = await _json(request) or {}
        if not str(body.get("url", "")).startswith(("http://", "https://")):
            return _error(400, "invalid_url", "Informe a URL do webhook.")
        hook: dict[str, Any] = {
            "id": f"wh_{secrets.token_hex(8)}",
            "name": body.get("name") or "ClinicFlow",
            "url": body["url"],
            "email": body.get("email"),
            "enabled": bool(body.get("enabled", True)),
            "interrupted": False,
            "apiVersion": 3,
            "authToken": body.get("authToken"),
            "sendType": body.get("sendType") or "SEQUENTIALLY",
            "events": list(body.get("events") or []),
        }
        book.webhooks[hook["id"]] = hook
        return Response({k: v for k, v in hook.items() if k != "authToken"})

    @get("/webhooks")
    async def list_webhooks(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        items = [{k: v for k, v in h.items() if k != "authToken"} for h in book.webhooks.values()]
        return Response({"object": "list", "hasMore": False, "totalCount": len(items), "data": items})


class Invoice(Controller):
    """The invoice page of `invoiceUrl`: the PIX code and QR; "Já paguei" stands for the patient's bank."""

    path = "/i"
    tags = ["invoice"]

    @get("/{payment_id:str}", media_type=MediaType.HTML)
    async def show(self, state: State, payment_id: str) -> Response[str]:
        book = _book(state)
        payment = book.payments.get(payment_id)
        if payment is None:
            return Response(page("Cobrança inválida", "<p>Esta cobrança não existe.</p>", "Asaas"), status_code=404)
        if payment["status"] != "PENDING":
            body = f'<p id="status">Cobrança {html.escape(payment["status"].lower())}</p>'
            return Response(page("Cobrança", body, "Asaas"))
        code = book.code(payment)
        body = (
            f"<p>{html.escape(str(payment.get('description') or ''))}</p>"
            f"<p><strong>R$ {Decimal(str(payment['value'])):.2f}</strong> · vence em {payment['dueDate']}</p>"
            f'<p>Pix copia e cola:</p><code id="pix-code">{html.escape(code)}</code><div id="pix-qr">{svg(code)}</div>'
            f'<form method="post" action="/i/{payment_id}/pay"><button type=submit>Já paguei</button></form>'
        )
        return Response(page("Pagamento por PIX", body, "Asaas"))

    @post("/{payment_id:str}/pay", media_type=MediaType.HTML, status_code=200)
    async def pay(self, state: State, payment_id: str) -> Response[str]:
        book = _book(state)
        payment = book.payments.get(payment_id)
        if payment is None or payment["status"] != "PENDING":
            return Response(page("Erro", "<p>Esta cobrança não está aberta.</p>", "Asaas"), status_code=400)
        if book.sender.take_failure():
            body = '<p id="status">PIX não recebido</p><p>O banco não concluiu a transferência.</p>'
            return Response(page("Pagamento não concluído", body, "Asaas"), status_code=402)
        today = date.today().isoformat()
        payment.update(status="RECEIVED", paymentDate=today, clientPaymentDate=today, confirmedDate=today)
        events = [book.event("PAYMENT_RECEIVED", payment)]
        created = payment.pop("_created_event", None)
        if created is not None:
            events.append(created)  # out_of_order: the creation arrives after the money
        book.emit(events)
        body = (
            '<p id="status">Pagamento recebido</p>'
            f'<p>Cobrança nº <span id="payment-id">{html.escape(payment_id)}</span></p>'
        )
        return Response(page("Pagamento recebido", body, "Asaas"))


class Inspect(Controls):
    path = "/sandbox/asaas"
    book_key = "asaas_book"

    @get("/payments")
    async def payments(self, state: State, external_reference: str | None = None) -> dict[str, Any]:
        items = [_public(p) for p in _book(state).payments.values()]
        if external_reference:
            items = [p for p in items if p.get("externalReference") == external_reference]
        return {"items": items}


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox-asaas", settings.log_level, settings.log_format)
    book = Book(settings)

    async def ok() -> None:
        return None

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await book.sender.close()

    return web.create_app(
        service="sandbox-asaas",
        title="ClinicFlow Asaas sandbox",
        description="An Asaas look-alike: PIX charges, the invoice page, token-authenticated webhooks, controls.",
        route_handlers=[AsaasApi, Invoice, Inspect],
        checks={"self": ok},
        lifespan=[lifespan],
        state={"asaas_book": book},
    )
