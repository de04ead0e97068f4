"""Mercado Pago's API shape: `POST /checkout/preferences`, `GET /v1/payments/{id}`, `GET /v1/payments/search`,
`POST /v1/payments/{id}/refunds`; the hosted checkout (`init_point`) where a person picks PIX or a card and
pays; and the webhook Mercado Pago then posts to the preference's `notification_url`, signed with
`x-signature` (HMAC-SHA256 of `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`).

`/sandbox/payments/*` is the control and inspect API: send duplicates, deliver out of order, refuse the
next payment, send no webhook, or hold webhooks and release them later (a late webhook after expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import itertools
import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State

from sandbox.payments.pix import brcode, svg

log = logging.getLogger(__name__)

MODES = ("normal", "duplicate", "out_of_order", "none", "hold")
_TYPES = {"pix": "bank_transfer", "credit": "credit_card", "debit": "debit_card"}


class Control(msgspec.Struct, frozen=True, kw_only=True):
    #: normal: one notification per payment; duplicate: the same notification twice; out_of_order: a refused
    #: attempt then the approved payment, notified approved-first; none: no webhook; hold: kept until release.
    mode: str = "normal"
    #: Refuse the next N payments (status rejected).
    fail_next: int = 0


class Book:
    """Everything the sandbox provider knows, in memory."""

    def __init__(self, *, token: str, secret: str, public_url: str, pix_key: str) -> None:
        self.token = token
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.pix_key = pix_key
        self.preferences: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.held: list[tuple[str, dict[str, Any]]] = []
        self.mode = "normal"
        self.fail_next = 0
        self._ids = itertools.count(int(time.time()) * 1000)
        self._tasks: set[asyncio.Task[None]] = set()
        self.http = httpx.AsyncClient(timeout=10.0)

    def next_id(self) -> str:
        return str(next(self._ids))

    def authorised(self, request: Request[Any, Any, Any]) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and (not self.token or hmac.compare_digest(header[7:], self.token))

    # --- webhooks ---------------------------------------------------------------------------
    def notification(self, payment: dict[str, Any], action: str) -> tuple[str, dict[str, Any]]:
        pref = self.preferences[payment["preference_id"]]
        note = {
            "id": int(self.next_id()),
            "live_mode": False,
            "type": "payment",
            "date_created": datetime.now(UTC).isoformat(),
            "user_id": 1000001,
            "api_version": "v1",
            "action": action,
            "data": {"id": payment["id"]},
        }
        return pref["notification_url"], note

    def sign(self, data_id: str, request_id: str, ts: str) -> str:
        manifest = f"id:{data_id};request-id:{request_id};ts:{ts};"
        return f"ts={ts},v1={hmac.new(self.secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()}"

    async def deliver(self, url: str, note: dict[str, Any], *, attempts: int = 4) -> None:
        """POST one notification the way Mercado Pago does; retried (briefly, here) until a 2xx."""
        data_id = str(note["data"]["id"])
        sep = "&" if "?" in url else "?"
        target = f"{url}{sep}{urlencode({'data.id': data_id, 'type': note['type']})}"
        body = msgspec.json.encode(note)
        for attempt in range(1, attempts + 1):
            request_id = str(uuid.uuid4())
            headers = {
                "content-type": "application/json",
                "x-request-id": request_id,
                "x-signature": self.sign(data_id, request_id, str(int(time.time()))),
                "user-agent": "MercadoPago WebHook v1.0 payment",
            }
            record: dict[str, Any] = {"notification_id": note["id"], "payment_id": data_id, "action": note["action"]}
            try:
                answer = await self.http.post(target, content=body, headers=headers)
                record.update(status=answer.status_code, answer=answer.text[:300])
            except httpx.HTTPError as exc:
                record.update(status=0, answer=f"{type(exc).__name__}: {exc}"[:300])
            record.update(attempt=attempt, at=datetime.now(UTC).isoformat())
            self.deliveries.append(record)
            if 200 <= record["status"] < 300:
                return
            await asyncio.sleep(0.5 * attempt)

    def send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        """Deliver in the background, in order, as the provider does after answering the payer."""

        async def run() -> None:
            for url, note in batch:
                await self.deliver(url, note)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.http.aclose()

    # --- payments ---------------------------------------------------------------------------
    def make_payment(self, pref: dict[str, Any], method: str, *, approved: bool) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        item = pref["items"][0]
        payment = {
            "id": self.next_id(),
            "status": "approved" if approved else "rejected",
            "status_detail": "accredited" if approved else "cc_rejected_insufficient_amount",
            "transaction_amount": float(item["unit_price"]),
            "transaction_amount_refunded": 0.0,
            "currency_id": item.get("currency_id", "BRL"),
            "payment_method_id": "pix" if method == "pix" else ("master" if method == "credit" else "debmaster"),
            "payment_type_id": _TYPES[method],
            "external_reference": pref.get("external_reference"),
            "description": item.get("title"),
            "date_created": now,
            "date_approved": now if approved else None,
            "live_mode": False,
            "preference_id": pref["id"],
        }
        self.payments[payment["id"]] = payment
        return payment

    def pay(self, pref: dict[str, Any], method: str) -> dict[str, Any]:
        """The person pressed pay: make the payment(s) and notify as the control mode says."""
        batch: list[tuple[str, dict[str, Any]]] = []
        if self.fail_next > 0:
            self.fail_next -= 1
            payment = self.make_payment(pref, method, approved=False)
            batch.append(self.notification(payment, "payment.created"))
        elif self.mode == "out_of_order":
            refused = self.make_payment(pref, method, approved=False)
            payment = self.make_payment(pref, method, approved=True)
            # The approved payment is notified first, the earlier refusal after it.
            batch += [self.notification(payment, "payment.created"), self.notification(refused, "payment.created")]
        else:
            payment = self.make_payment(pref, method, approved=True)
            note = self.notification(payment, "payment.created")
            batch += [note, note] if self.mode == "duplicate" else [note]
        if self.mode == "hold":
            self.held += batch
        elif self.mode != "none":
            self.send(batch)
        return payment


def _book(state: State) -> Book:
    book: Book = state.mp_book
    return book


def _mp_error(status: int, message: str, error: str) -> Response[dict[str, Any]]:
    return Response({"message": message, "error": error, "status": status, "cause": []}, status_code=status)


def _unauthorised() -> Response[dict[str, Any]]:
    return _mp_error(401, "invalid access token", "unauthorized")


class MercadoPagoApi(Controller):
    tags = ["mercado pago api"]

    @post("/checkout/preferences", status_code=201)
    async def create_preference(self, request: Request[Any, Any, Any], state: State) -> Response[dict[str, Any]]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        try:
            body = msgspec.json.decode(await request.body())
            item = body["items"][0]
            Decimal(str(item["unit_price"]))
            body["notification_url"]
        except (msgspec.DecodeError, KeyError, IndexError, TypeError, ArithmeticError):
            return _mp_error(400, "items, unit_price and notification_url are required", "bad_request")
        key = request.headers.get("x-idempotency-key")
        for pref in book.preferences.values():
            if key and pref.get("_idempotency_key") == key:
                return Response(_public(pref), status_code=201)
        pref_id = f"1000001-{uuid.uuid4()}"
        pref = {
            **body,
            "id": pref_id,
            "init_point": f"{book.public_url}/checkout/v1/redirect?pref_id={pref_id}",
            "sandbox_init_point": f"{book.public_url}/checkout/v1/redirect?pref_id={pref_id}",
            "date_created": datetime.now(UTC).isoformat(),
            "_idempotency_key": key,
        }
        book.preferences[pref_id] = pref
        return Response(_public(pref), status_code=201)

    @get("/v1/payments/search")
    async def search(self, request: Request[Any, Any, Any], state: State) -> Response[dict[str, Any]]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        wanted = request.query_params.get("external_reference")
        results = [p for p in book.payments.values() if wanted is None or p.get("external_reference") == wanted]
        results.sort(key=lambda p: p["date_created"], reverse=request.query_params.get("criteria") == "desc")
        return Response({"paging": {"total": len(results), "limit": 30, "offset": 0}, "results": results[:30]})

    @get("/v1/payments/{payment_id:str}")
    async def payment(self, request: Request[Any, Any, Any], state: State, payment_id: str) -> Response[dict[str, Any]]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        found = book.payments.get(payment_id)
        return Response(found) if found else _mp_error(404, "Payment not found", "not_found")

    @post("/v1/payments/{payment_id:str}/refunds", status_code=201)
    async def refund(self, request: Request[Any, Any, Any], state: State, payment_id: str) -> Response[dict[str, Any]]:
        book = _book(state)
        if not book.authorised(request):
            return _unauthorised()
        payment = book.payments.get(payment_id)
        if payment is None:
            return _mp_error(404, "Payment not found", "not_found")
        raw = await request.body()
        body = msgspec.json.decode(raw) if raw else {}
        left = payment["transaction_amount"] - payment["transaction_amount_refunded"]
        amount = float(body.get("amount", left))
        if payment["status"] != "approved" or amount <= 0 or amount > left + 1e-9:
            return _mp_error(400, "invalid refund amount or payment status", "bad_request")
        key = request.headers.get("x-idempotency-key")
        for done in book.refunds:
            if key and done["_key"] == key:
                return Response({k: v for k, v in done.items() if k != "_key"}, status_code=201)
        payment["transaction_amount_refunded"] = round(payment["transaction_amount_refunded"] + amount, 2)
        if payment["transaction_amount_refunded"] >= payment["transaction_amount"]:
            payment["status"] = "refunded"
        refund = {
            "id": int(book.next_id()),
            "payment_id": int(payment_id),
            "amount": amount,
            "status": "approved",
            "date_created": datetime.now(UTC).isoformat(),
            "_key": key,
        }
        book.refunds.append(refund)
        # Mercado Pago notifies a refund as a change of the payment (ours or one made in its dashboard).
        note = book.notification(payment, "payment.updated")
        if book.mode == "hold":
            book.held.append(note)
        elif book.mode != "none":
            book.send([note])
        return Response({k: v for k, v in refund.items() if k != "_key"}, status_code=201)


def _public(pref: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pref.items() if not k.startswith("_")}


_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto}"
    "label{display:block;margin:.5rem 0}code{word-break:break-all;background:#eee;padding:.5rem;display:block}"
    "</style>"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{_STYLE}</head><body><h1>{html.escape(title)}</h1>{body}<p><small>Sandbox Mercado Pago</small></p>"
        "</body></html>"
    )


def _allowed(pref: dict[str, Any]) -> list[str]:
    excluded = {t["id"] for t in (pref.get("payment_methods") or {}).get("excluded_payment_types", [])}
    return [m for m, t in _TYPES.items() if t not in excluded]


def _expired(pref: dict[str, Any]) -> bool:
    until = pref.get("expiration_date_to")
    if not pref.get("expires") or not until:
        return False
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(str(until).replace("Z", "+00:00")) < datetime.now(UTC)
    return False


class Checkout(Controller):
    """The hosted checkout a patient opens from the payment link."""

    path = "/checkout/v1"
    tags = ["hosted checkout"]

    @get("/redirect", media_type=MediaType.HTML)
    async def start(self, state: State, pref_id: str) -> Response[str]:
        pref = _book(state).preferences.get(pref_id)
        if pref is None:
            return Response(_page("Link inválido", "<p>Este link de pagamento não existe.</p>"), status_code=404)
        item = pref["items"][0]
        options = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}> '
            f"{ {'pix': 'PIX', 'credit': 'Cartão de crédito', 'debit': 'Cartão de débito'}[m] }</label>"
            for i, m in enumerate(_allowed(pref))
        )
        body = (
            f"<p>{html.escape(str(item.get('title', '')))}</p>"
            f"<p><strong>{html.escape(str(item.get('currency_id', 'BRL')))} {Decimal(str(item['unit_price'])):.2f}"
            f"</strong></p>"
            f'<form method="post" action="/checkout/v1/method"><input type="hidden" name="pref_id" value="{pref_id}">'
            f"{options}<button type=submit>Continuar</button></form>"
        )
        return Response(_page("Pagamento", body))

    @post("/method", media_type=MediaType.HTML, status_code=200)
    async def method(self, request: Request[Any, Any, Any], state: State) -> Response[str]:
        form = await request.form()
        book = _book(state)
        pref = book.preferences.get(str(form.get("pref_id", "")))
        method = str(form.get("method", ""))
        if pref is None or method not in _allowed(pref):
            return Response(_page("Erro", "<p>Escolha uma forma de pagamento válida.</p>"), status_code=400)
        hidden = (
            f'<input type="hidden" name="pref_id" value="{pref["id"]}">'
            f'<input type="hidden" name="method" value="{method}">'
        )
        if method == "pix":
            item = pref["items"][0]
            code = brcode(
                key=book.pix_key,
                name="CLINICFLOW SANDBOX",
                city="SAO PAULO",
                amount=Decimal(str(item["unit_price"])),
                txid=str(pref.get("external_reference") or pref["id"]).replace("-", "")[-25:],
            )
            body = (
                "<p>Pix copia e cola:</p>"
                f'<code id="pix-code">{html.escape(code)}</code><div id="pix-qr">{svg(code)}</div>'
                f'<form method="post" action="/checkout/v1/pay">{hidden}'
                "<button type=submit>Já paguei</button></form>"
            )
        else:
            body = (
                f'<form method="post" action="/checkout/v1/pay">{hidden}'
                '<label>Número do cartão <input name="card_number" value="5031 4332 1540 6351"></label>'
                '<label>Nome no cartão <input name="card_holder" value="APRO"></label>'
                '<label>Validade <input name="expiry" value="11/30"></label>'
                '<label>CVV <input name="cvv" value="123"></label>'
                "<button type=submit>Pagar</button></form>"
            )
        return Response(_page("Pagamento", body))

    @post("/pay", media_type=MediaType.HTML, status_code=200)
    async def pay(self, request: Request[Any, Any, Any], state: State) -> Response[str]:
        form = await request.form()
        book = _book(state)
        pref = book.preferences.get(str(form.get("pref_id", "")))
        method = str(form.get("method", ""))
        if pref is None or method not in _allowed(pref):
            return Response(_page("Erro", "<p>Pagamento inválido.</p>"), status_code=400)
        if _expired(pref) and book.mode != "hold":
            return Response(_page("Link expirado", "<p>Este link de pagamento expirou.</p>"), status_code=410)
        payment = book.pay(pref, method)
        approved = payment["status"] == "approved"
        back = html.escape(str((pref.get("back_urls") or {}).get("success", "")))
        body = (
            f'<p id="status">{"Pagamento aprovado" if approved else "Pagamento recusado"}</p>'
            f'<p>Operação nº <span id="payment-id">{payment["id"]}</span></p>'
            + (f'<p><a href="{back}">Voltar à clínica</a></p>' if back else "")
        )
        return Response(_page("Pagamento aprovado" if approved else "Pagamento recusado", body))


class Inspect(Controller):
    path = "/sandbox/payments"
    tags = ["sandbox control"]

    @get("/control")
    async def read_control(self, state: State) -> Control:
        book = _book(state)
        return Control(mode=book.mode, fail_next=book.fail_next)

    @post("/control", status_code=200, summary="How the next payments are notified")
    async def set_control(self, state: State, data: Control) -> Response[Any]:
        if data.mode not in MODES:
            return Response({"detail": f"mode must be one of {', '.join(MODES)}"}, status_code=400)
        book = _book(state)
        book.mode, book.fail_next = data.mode, data.fail_next
        return Response(data)

    @post("/release", status_code=200, summary="Deliver the held notifications now (late webhooks)")
    async def release(self, state: State) -> dict[str, int]:
        book = _book(state)
        batch, book.held = book.held, []
        for url, note in batch:
            await book.deliver(url, note)
        return {"delivered": len(batch)}

    @post("/notify/{payment_id:str}", status_code=200, summary="Send one more notification about a payment")
    async def notify(self, state: State, payment_id: str) -> Response[Any]:
        book = _book(state)
        payment = book.payments.get(payment_id)
        if payment is None:
            return Response({"detail": "no such payment"}, status_code=404)
        url, note = book.notification(payment, "payment.updated")
        await book.deliver(url, note)
        return Response({"notification_id": note["id"]})

    @get("/preferences")
    async def preferences(self, state: State, external_reference: str | None = None) -> dict[str, Any]:
        items = [_public(p) for p in _book(state).preferences.values()]
        if external_reference:
            items = [p for p in items if p.get("external_reference") == external_reference]
        return {"items": items}

    @get("/payments")
    async def payments(self, state: State) -> dict[str, Any]:
        return {"items": list(_book(state).payments.values())}

    @get("/deliveries")
    async def deliveries(self, state: State) -> dict[str, Any]:
        book = _book(state)
        return {"items": book.deliveries, "held": len(book.held)}

    @post("/reset", status_code=200)
    async def reset(self, state: State) -> dict[str, str]:
        book = _book(state)
        book.mode, book.fail_next = "normal", 0
        book.held.clear()
        return {"mode": "normal"}
