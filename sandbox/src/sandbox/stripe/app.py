"""A Stripe look-alike: the API shape payments uses (`POST /v1/checkout/sessions` form-encoded with bracketed
keys, `GET /v1/checkout/sessions/{id}`, `GET /v1/payment_intents/{id}`, `POST /v1/refunds`,
`/v1/webhook_endpoints`), `Idempotency-Key` (the same key with other parameters is refused), the hosted
Checkout page (card, or PIX as a delayed method), and events posted to the registered endpoints signed with
each endpoint's `whsec_` secret: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

A card payment sends `checkout.session.completed` (paid); PIX sends `checkout.session.completed` (unpaid) then
`checkout.session.async_payment_succeeded` or `..._failed`, as Stripe does for delayed methods.
`/sandbox/stripe/*` holds the test controls (see sandbox.payments.hooks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Litestar, MediaType, Request, Response, delete, get, post
from litestar.datastructures import State

from kit import logging as kit_logging
from kit import web
from kit.settings import load
from sandbox.payments.hooks import Controls, Outgoing, Sender, page
from sandbox.payments.pix import brcode, svg

API_VERSION = "2024-06-20"


class StripeSandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8092
    #: The secret key callers must send (Bearer or Basic); empty: any `sk_` key.
    secret_key: str = ""
    #: Where browsers reach the hosted Checkout (the sessions' `url`).
    public_url: str = "http://127.0.0.1:8092"
    pix_key: str = "stripe@clinicflow.local"
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> StripeSandboxSettings:
    return load(StripeSandboxSettings, "SANDBOX_STRIPE_")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Book:
    """Everything the sandbox knows, in memory."""

    def __init__(self, settings: StripeSandboxSettings) -> None:
        self.key = settings.secret_key
        self.public_url = settings.public_url.rstrip("/")
        self.pix_key = settings.pix_key
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        #: Idempotency-Key -> (the request's parameters, the answer's body and status)
        self.idempotency: dict[str, tuple[dict[str, str], Any, int]] = {}
        self.sender = Sender()
        self._n = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._n):06d}{secrets.token_hex(8)}"

    def authorised(self, request: Request[Any, Any, Any]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                given = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return False
        elif header.startswith("Bearer "):
            given = header[7:]
        else:
            return False
        return hmac.compare_digest(given, self.key) if self.key else given.startswith("sk_")

    # --- events ------------------------------------------------------------------------------------
    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": dict(obj)},
            "livemode": False,
            "pending_webhooks": len(self.endpoints),
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        self.events[event["id"]] = event
        return event

    def outgoing(self, event: dict[str, Any]) -> list[Outgoing]:
        body = msgspec.json.encode(event)
        items: list[Outgoing] = []
        for endpoint in self.endpoints.values():
            wanted = endpoint["enabled_events"]
            if "*" not in wanted and event["type"] not in wanted:
                continue
            secret = endpoint["secret"]

            def headers(raw: bytes, secret: str = secret) -> dict[str, str]:
                return {
                    "content-type": "application/json; charset=utf-8",
                    "stripe-signature": signature(secret, raw, int(time.time())),
                    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                }

            about = {"event_id": event["id"], "type": event["type"], "session": event["data"]["object"].get("id")}
            items.append((endpoint["url"], body, headers, about))
        return items

    def emit(self, events: list[dict[str, Any]]) -> None:
        self.sender.send([item for event in events for item in self.outgoing(event)])

    # --- paying ------------------------------------------------------------------------------------
    def intent(self, session: dict[str, Any], method: str, status: str) -> dict[str, Any]:
        intent: dict[str, Any] = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if status == "succeeded" else 0,
            "currency": session["currency"],
            "status": status,
            "metadata": dict(session["_intent_metadata"]),
            "payment_method_types": [method],
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def pay_card(self, session: dict[str, Any]) -> bool:
        """False: the card was declined (Stripe's page shows it; no event, the patient may try again)."""
        if self.sender.take_failure():
            return False
        self.intent(session, "card", "succeeded")
        session.update(status="complete", payment_status="paid")
        self.emit([self.event("checkout.session.completed", public(session))])
        return True

    def pay_pix(self, session: dict[str, Any]) -> bool:
        """A delayed method: the session completes unpaid, the money (or its failure) comes after."""
        failed = self.sender.take_failure()
        intent = self.intent(session, "pix", "processing")
        session.update(status="complete", payment_status="unpaid")
        completed = self.event("checkout.session.completed", public(session))
        if failed:
            intent["status"] = "requires_payment_method"
            later = self.event("checkout.session.async_payment_failed", public(session))
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            session["payment_status"] = "paid"
            later = self.event("checkout.session.async_payment_succeeded", public(session))
        self.emit([completed, later])
        return not failed


def public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _book(state: State) -> Book:
    book: Book = state.stripe_book
    return book


def _error(
    status: int, message: str, *, param: str | None = None, kind: str = "invalid_request_error"
) -> Response[Any]:
    return Response({"error": {"type": kind, "message": message, "param": param}}, status_code=status)


def _unauthorised() -> Response[Any]:
    return _error(401, "Invalid API Key provided.", kind="authentication_error")


def _nested(form: dict[str, str], prefix: str) -> dict[str, str]:
    """`metadata[charge_id]=x` -> {"charge_id": "x"} for the given prefix."""
    start = f"{prefix}["
    return {k[len(start) : -1]: v for k, v in form.items() if k.startswith(start) and k.endswith("]") and "][" not in k}


def _listed(form: dict[str, str], name: str) -> list[str]:
    items = sorted(
        ((int(k[len(name) + 1 : -1]), v) for k, v in form.items() if k.startswith(f"{name}[") and k[-2:-1].isdigit()),
    )
    return [v for _, v in items]


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


async def _idempotent(
    book: Book, request: Request[Any, Any, Any], form: dict[str, str], make: Callable[[], Response[Any]]
) -> Response[Any]:
    key = request.headers.get("idempotency-key")
    if key and key in book.idempotency:
        params, content, status = book.idempotency[key]
        if params != form:
            return _error(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                kind="idempotency_error",
            )
        return Response(content, status_code=status)
    answer = make()
    status = answer.status_code or 200
    if key and status < 500:
        book.idempotency[key] = (form, answer.content, status)
    return answer


class StripeApi(Controller):
    tags = ["stripe api"]

    @post("/v1/checkout/sessions", status_code=200)
    async def create_session(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        form = await _form(request)

        def make() -> Response[Any]:
            if form.get("mode") != "payment":
                return _error(400, "Only mode=payment is supported here.", param="mode")
            price = "line_items[0][price_data]"
            amount = form.get(f"{price}[unit_amount]", "")
            currency = form.get(f"{price}[currency]", "")
            if not amount.isdigit() or int(amount) <= 0:
                return _error(400, "Invalid integer: unit_amount", param=f"{price}[unit_amount]")
            if len(currency) != 3 or not form.get("success_url"):
                return _error(400, "Missing required param: currency or success_url.", param="currency")
            session_id = book.new_id("cs")
            quantity = int(form.get("line_items[0][quantity]", "1") or 1)
            session: dict[str, Any] = {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": int(amount) * quantity,
                "amount_total": int(amount) * quantity,
                "currency": currency.lower(),
                "client_reference_id": form.get("client_reference_id"),
                "customer_email": form.get("customer_email"),
                "metadata": _nested(form, "metadata"),
                "mode": "payment",
                "payment_intent": None,
                "payment_method_types": _listed(form, "payment_method_types") or ["card"],
                "payment_status": "unpaid",
                "status": "open",
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "expires_at": int(form.get("expires_at") or time.time() + 24 * 3600),
                "created": int(time.time()),
                "livemode": False,
                "url": f"{book.public_url}/c/pay/{session_id}",
                "_name": form.get(f"{price}[product_data][name]", ""),
                "_intent_metadata": _nested(form, "payment_intent_data[metadata]"),
            }
            book.sessions[session_id] = session
            return Response(public(session))

        return await _idempotent(book, request, form, make)

    @get("/v1/checkout/sessions/{session_id:str}")
    async def read_session(self, request: Request[Any, Any, Any], state: State, session_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        found = book.sessions.get(session_id)
        return Response(public(found)) if found else _error(404, f"No such checkout.session: '{session_id}'")

    @get("/v1/payment_intents/{intent_id:str}")
    async def read_intent(self, request: Request[Any, Any, Any], state: State, intent_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        found = book.intents.get(intent_id)
        return Response(found) if found else _error(404, f"No such payment_intent: '{intent_id}'")

    @post("/v1/refunds", status_code=200)
    async def refund(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        form = await _form(request)

        def make() -> Response[Any]:
            intent = book.intents.get(form.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return _error(400, "This PaymentIntent has no successful charge to refund.", param="payment_intent")
            refunded = sum(r["amount"] for r in book.refunds.values() if r["payment_intent"] == intent["id"])
            left = intent["amount_received"] - refunded
            raw = form.get("amount", str(left))
            if not raw.isdigit() or not 0 < int(raw) <= left:
                return _error(400, f"Refund amount ({raw}) is greater than the unrefunded amount.", param="amount")
            refund: dict[str, Any] = {
                "id": book.new_id("re"),
                "object": "refund",
                "amount": int(raw),
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "status": "succeeded",
                "created": int(time.time()),
            }
            book.refunds[refund["id"]] = refund
            # Stripe sends charge.refunded for every refund, its Dashboard's included: the charge's running total.
            total = refunded + int(raw)
            charge = {
                "id": intent["id"].replace("pi_", "ch_", 1),
                "object": "charge",
                "amount": intent["amount_received"],
                "amount_refunded": total,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "refunded": total >= intent["amount_received"],
                "metadata": {},
                "status": "succeeded",
            }
            book.emit([book.event("charge.refunded", charge)])
            return Response(refund)

        return await _idempotent(book, request, form, make)

    @post("/v1/webhook_endpoints", status_code=200, summary="Register an endpoint; its signing secret is returned once")
    async def add_endpoint(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        form = await _form(request)
        events = _listed(form, "enabled_events")
        if not form.get("url", "").startswith(("http://", "https://")) or not events:
            return _error(400, "Missing required param: url or enabled_events.", param="url")
        endpoint: dict[str, Any] = {
            "id": book.new_id("we"),
            "object": "webhook_endpoint",
            "url": form["url"],
            "enabled_events": events,
            "status": "enabled",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "secret": f"whsec_{secrets.token_urlsafe(24)}",
        }
        book.endpoints[endpoint["id"]] = endpoint
        return Response(endpoint)

    @get("/v1/webhook_endpoints")
    async def endpoints(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        items = [{k: v for k, v in e.items() if k != "secret"} for e in book.endpoints.values()]
        return Response({"object": "list", "data": items, "has_more": False})

    @delete("/v1/webhook_endpoints/{endpoint_id:str}", status_code=200)
    async def drop_endpoint(self, request: Request[Any, Any, Any], state: State, endpoint_id: str) -> Response[Any]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        if book.endpoints.pop(endpoint_id, None) is None:
            return _error(404, f"No such webhook endpoint: '{endpoint_id}'")
        return Response({"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})


def _money(session: dict[str, Any]) -> str:
    return f"{session['currency'].upper()} {Decimal(session['amount_total']) / 100:.2f}"


class HostedCheckout(Controller):
    """The page a session's `url` opens: pick a card or PIX (when the session allows it) and pay."""

    path = "/c/pay"
    tags = ["hosted checkout"]

    @get("/{session_id:str}", media_type=MediaType.HTML)
    async def start(self, state: State, session_id: str) -> Response[str]:
        session = _book(state).sessions.get(session_id)
        if session is None:
            return Response(
                page("Link inválido", "<p>Este link de pagamento não existe.</p>", "Stripe"), status_code=404
            )
        if session["status"] != "open":
            return Response(page("Pagamento concluído", "<p>Esta sessão já foi paga.</p>", "Stripe"), status_code=410)
        options = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}> '
            f"{ {'card': 'Cartão', 'pix': 'PIX'}.get(m, m) }</label>"
            for i, m in enumerate(session["payment_method_types"])
        )
        body = (
            f"<p>{html.escape(session['_name'])}</p><p><strong>{_money(session)}</strong></p>"
            f'<form method="post" action="/c/pay/{session_id}/method">{options}'
            "<button type=submit>Continuar</button></form>"
        )
        return Response(page("Pagamento", body, "Stripe"))

    @post("/{session_id:str}/method", media_type=MediaType.HTML, status_code=200)
    async def method(self, request: Request[Any, Any, Any], state: State, session_id: str) -> Response[str]:
        book = _book(state)
        session = book.sessions.get(session_id)
        method = str((await request.form()).get("method", ""))
        if session is None or method not in session["payment_method_types"]:
            return Response(page("Erro", "<p>Escolha uma forma de pagamento válida.</p>", "Stripe"), status_code=400)
        action = f'<form method="post" action="/c/pay/{session_id}/confirm"><input type="hidden" name="method" '
        if method == "pix":
            code = brcode(
                key=book.pix_key,
                name="CLINICFLOW STRIPE",
                city="SAO PAULO",
                amount=Decimal(session["amount_total"]) / 100,
                txid=session_id.replace("_", "")[-25:],
            )
            body = (
                f'<p>Pix copia e cola:</p><code id="pix-code">{html.escape(code)}</code>'
                f'<div id="pix-qr">{svg(code)}</div>'
                f'{action}value="pix"><button type=submit>Já paguei</button></form>'
            )
        else:
            body = (
                f'{action}value="card">'
                '<label>Número do cartão <input name="card_number" value="4242 4242 4242 4242"></label>'
                '<label>Validade <input name="expiry" value="12/34"></label>'
                '<label>CVC <input name="cvc" value="123"></label>'
                "<button type=submit>Pagar</button></form>"
            )
        return Response(page("Pagamento", body, "Stripe"))

    @post("/{session_id:str}/confirm", media_type=MediaType.HTML, status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], state: State, session_id: str) -> Response[str]:
        book = _book(state)
        session = book.sessions.get(session_id)
        method = str((await request.form()).get("method", ""))
        if session is None or method not in session["payment_method_types"] or session["status"] != "open":
            return Response(page("Erro", "<p>Pagamento inválido.</p>", "Stripe"), status_code=400)
        if session["expires_at"] < time.time() and book.sender.mode != "hold":
            session["status"] = "expired"
            return Response(page("Link expirado", "<p>Esta sessão expirou.</p>", "Stripe"), status_code=410)
        approved = book.pay_pix(session) if method == "pix" else book.pay_card(session)
        if not approved and method == "card":
            body = '<p id="status">Cartão recusado</p><p>Tente outro cartão.</p>'
            return Response(page("Pagamento recusado", body, "Stripe"), status_code=402)
        body = (
            f'<p id="status">{"Pagamento aprovado" if approved else "Pagamento recusado"}</p>'
            f'<p>Pagamento nº <span id="payment-id">{session["payment_intent"]}</span></p>'
            f'<p><a href="{html.escape(str(session.get("success_url") or ""))}">Voltar à clínica</a></p>'
        )
        return Response(page("Pagamento aprovado" if approved else "Pagamento recusado", body, "Stripe"))


class Inspect(Controls):
    path = "/sandbox/stripe"
    book_key = "stripe_book"

    @get("/sessions")
    async def sessions(self, state: State, client_reference_id: str | None = None) -> dict[str, Any]:
        items = [public(s) for s in _book(state).sessions.values()]
        if client_reference_id:
            items = [s for s in items if s.get("client_reference_id") == client_reference_id]
        return {"items": items}


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox-stripe", settings.log_level, settings.log_format)
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
        service="sandbox-stripe",
        title="ClinicFlow Stripe sandbox",
        description="A Stripe look-alike: Checkout Sessions, hosted checkout (card, PIX), signed events, controls.",
        route_handlers=[StripeApi, HostedCheckout, Inspect],
        checks={"self": ok},
        lifespan=[lifespan],
        state={"stripe_book": book},
    )
