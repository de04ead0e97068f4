"""What the Stripe and Asaas look-alikes share: the test controls (modes) and the webhook sender that posts
signed deliveries in the background, retries until a 2xx as the real providers do, and keeps a log of every
attempt and answer for the tests to inspect."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import httpx
import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State

log = logging.getLogger(__name__)

#: normal: one delivery per event; duplicate: every event twice; out_of_order: a payment's events in reverse;
#: none: no webhook (reconciliation must find the money); hold: kept until released (late webhooks).
MODES = ("normal", "duplicate", "out_of_order", "none", "hold")


class Control(msgspec.Struct, frozen=True, kw_only=True):
    mode: str = "normal"
    #: Refuse the next N payments.
    fail_next: int = 0


#: A delivery to make: target URL, the body's bytes, and a function giving fresh headers per attempt
#: (a retry is signed again, with a new timestamp, as the providers do).
Outgoing = tuple[str, bytes, Callable[[bytes], dict[str, str]], dict[str, Any]]


class Sender:
    def __init__(self) -> None:
        self.mode = "normal"
        self.fail_next = 0
        self.deliveries: list[dict[str, Any]] = []
        self.held: list[Outgoing] = []
        #: Seconds before the n-th retry, times n (the providers back off too).
        self.retry_delay = 0.5
        self.http = httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()

    def control(self, data: Control) -> None:
        self.mode, self.fail_next = data.mode, data.fail_next

    def take_failure(self) -> bool:
        if self.fail_next > 0:
            self.fail_next -= 1
            return True
        return False

    async def deliver(self, item: Outgoing, *, attempts: int = 4) -> None:
        url, body, headers_for, about = item
        for attempt in range(1, attempts + 1):
            record: dict[str, Any] = {**about, "url": url}
            try:
                answer = await self.http.post(url, content=body, headers=headers_for(body))
                record.update(status=answer.status_code, answer=answer.text[:300])
            except httpx.HTTPError as exc:
                record.update(status=0, answer=f"{type(exc).__name__}: {exc}"[:300])
            record.update(attempt=attempt, at=datetime.now(UTC).isoformat())
            self.deliveries.append(record)
            if 200 <= record["status"] < 300:
                return
            await asyncio.sleep(self.retry_delay * attempt)

    def send(self, batch: list[Outgoing]) -> None:
        """Deliver as the mode says, in the background and in order (the payer's page does not wait)."""
        if self.mode == "duplicate":
            batch = [item for item in batch for _ in (0, 1)]
        elif self.mode == "out_of_order":
            batch = list(reversed(batch))
        if self.mode == "hold":
            self.held += batch
            return
        if self.mode == "none" or not batch:
            return

        async def run() -> None:
            for item in batch:
                await self.deliver(item)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def release(self) -> int:
        batch, self.held = self.held, []
        for item in batch:
            await self.deliver(item)
        return len(batch)

    def reset(self) -> None:
        self.mode, self.fail_next = "normal", 0
        self.held.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.http.aclose()


class EventBook(Protocol):
    """What a look-alike keeps that the shared controls need: its sender, its events, and the deliveries one
    event makes."""

    sender: Sender
    events: dict[str, dict[str, Any]]

    def outgoing(self, event: dict[str, Any]) -> list[Outgoing]: ...


class Controls(Controller):
    """The test controls both card sandboxes answer under their own path (`/sandbox/stripe`, `/sandbox/asaas`):
    the delivery mode, held and resent events, the delivery log and a reset. A subclass sets `path` and
    `book_key` (the app state entry holding its book) and adds its own listings."""

    tags = ["sandbox control"]
    book_key: ClassVar[str]

    def book(self, state: State) -> EventBook:
        book: EventBook = state[self.book_key]
        return book

    @get("/control")
    async def read_control(self, state: State) -> Control:
        sender = self.book(state).sender
        return Control(mode=sender.mode, fail_next=sender.fail_next)

    @post("/control", status_code=200, summary="How the next payments are notified")
    async def set_control(self, state: State, data: Control) -> Response[Any]:
        if data.mode not in MODES:
            return Response({"detail": f"mode must be one of {', '.join(MODES)}"}, status_code=400)
        self.book(state).sender.control(data)
        return Response(data)

    @post("/release", status_code=200, summary="Deliver the held events now (late webhooks)")
    async def release(self, state: State) -> dict[str, int]:
        return {"delivered": await self.book(state).sender.release()}

    @post("/events/{event_id:str}/resend", status_code=200, summary="Deliver one event again (a retry)")
    async def resend(self, state: State, event_id: str) -> Response[Any]:
        book = self.book(state)
        event = book.events.get(event_id)
        if event is None:
            return Response({"detail": "no such event"}, status_code=404)
        for item in book.outgoing(event):
            await book.sender.deliver(item)
        return Response({"event_id": event_id})

    @get("/events")
    async def list_events(self, state: State) -> dict[str, Any]:
        return {"items": list(self.book(state).events.values())}

    @get("/deliveries")
    async def deliveries(self, state: State) -> dict[str, Any]:
        sender = self.book(state).sender
        return {"items": sender.deliveries, "held": len(sender.held)}

    @post("/reset", status_code=200)
    async def reset(self, state: State) -> dict[str, str]:
        self.book(state).sender.reset()
        return {"mode": "normal"}


_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto}"
    "label{display:block;margin:.5rem 0}code{word-break:break-all;background:#eee;padding:.5rem;display:block}"
    "</style>"
)


def page(title: str, body: str, brand: str) -> str:
    return (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{_STYLE}</head><body><h1>{html.escape(title)}</h1>{body}<p><small>Sandbox {html.escape(brand)}</small></p>"
        "</body></html>"
    )
