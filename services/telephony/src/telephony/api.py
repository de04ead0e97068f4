"""Thin controllers of telephony: decode, one use case, a schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from contracts.claims import CRM_ADMIN, CRM_READ
from kit import webhooks
from kit.db import UnitOfWorkFactory
from kit.paging import Page
from kit.web import AuthRequest, Limit, Offset, requires
from telephony import services as cases
from telephony.providers import Inbound
from telephony.schemas import (
    AccountIn,
    AccountOut,
    CallOut,
    CardOut,
    ConnectionOut,
    NumberIn,
    NumberOut,
    WebhookAnswer,
)

Disposition = Annotated[str | None, Parameter(query="disposition", pattern="^(answered|missed|busy|failed)$")]
CallState = Annotated[str | None, Parameter(query="state", pattern="^(ringing|in_progress|completed)$")]
Caller = Annotated[str | None, Parameter(query="caller", max_length=40)]


def _public_root(request: Request[Any, Any, Any]) -> str:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return f"{proto}://{host}"


class AccountController(Controller):
    path = "/api/v1/telephony/providers"
    tags = ["telephony"]

    @put("/{provider:str}", guards=[requires(CRM_ADMIN)], summary="Connect the clinic's telephony provider")
    async def connect(self, request: AuthRequest, uow: UnitOfWorkFactory, provider: str, data: AccountIn) -> AccountOut:
        account = await cases.connect(
            uow, request.user, provider, secret=data.secret, api_key=data.api_key, timezone=data.timezone
        )
        url = f"{_public_root(request)}/webhooks/telephony/{account.provider}?clinic={account.tenant_id}"
        return AccountOut(provider=account.provider, webhook_url=url)

    @get("/", guards=[requires(CRM_ADMIN)], summary="Every provider and whether the clinic connected it (no secrets)")
    async def connections(self, request: AuthRequest, uow: UnitOfWorkFactory) -> list[ConnectionOut]:
        root = _public_root(request)
        return [
            ConnectionOut(
                provider=provider,
                connected=account is not None,
                secret_set=bool(account and account.secret),
                api_key_set=bool(account and account.api_key),
                timezone=account.timezone if account else None,
                webhook_url=f"{root}/webhooks/telephony/{provider}?clinic={request.user.tenant_id}",
            )
            for provider, account in await cases.connections(uow, request.user)
        ]


class NumberController(Controller):
    path = "/api/v1/telephony/tracking-numbers"
    tags = ["telephony"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(CRM_ADMIN)], summary="Add a tracking number")
    async def add(self, request: AuthRequest, uow: UnitOfWorkFactory, data: NumberIn) -> NumberOut:
        return NumberOut.of(
            await cases.add_number(uow, request.user, number=data.number, source=data.source, label=data.label)
        )

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's tracking numbers and their sources")
    async def list(self, request: AuthRequest, uow: UnitOfWorkFactory) -> list[NumberOut]:
        return [NumberOut.of(n) for n in await cases.list_numbers(uow, request.user)]

    @delete("/{number_id:uuid}", status_code=HTTP_204_NO_CONTENT, guards=[requires(CRM_ADMIN)], summary="Remove one")
    async def remove(self, request: AuthRequest, uow: UnitOfWorkFactory, number_id: UUID) -> None:
        await cases.remove_number(uow, request.user, str(number_id))


class CallController(Controller):
    path = "/api/v1/telephony/calls"
    tags = ["telephony"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's calls, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: UnitOfWorkFactory,
        disposition: Disposition = None,
        call_state: CallState = None,
        caller: Caller = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[CallOut]:
        found, total = await cases.list_calls(
            uow, request.user, disposition=disposition, state=call_state, caller=caller, limit=limit, offset=offset
        )
        return Page.of([CallOut.of(c) for c in found], total=total, limit=limit, offset=offset)

    @get("/{call_id:uuid}", guards=[requires(CRM_READ)], summary="A call card: the call and the matched contact")
    async def card(self, request: AuthRequest, uow: UnitOfWorkFactory, call_id: UUID) -> CardOut:
        return CardOut.of(await cases.card(uow, request.user, str(call_id)))

    @get(
        "/stream",
        guards=[requires(CRM_READ)],
        summary="Server-sent events: each incoming `call` card as it starts (Redis pub/sub, every replica sees it)",
    )
    async def stream(self, request: AuthRequest, redis: Redis) -> ServerSentEvent:
        channel = cases.live_channel(request.user.tenant_id)

        async def feed() -> AsyncIterator[ServerSentEventMessage]:
            pubsub = redis.pubsub()
            await pubsub.subscribe(channel)
            try:
                yield ServerSentEventMessage(event="ready", data="{}")
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=15.0)
                    if message is None:
                        yield ServerSentEventMessage(comment="keep-alive")
                        continue
                    data = json.loads(message["data"])
                    yield ServerSentEventMessage(event="call", data=json.dumps(data), id=data["id"])
            finally:
                await pubsub.unsubscribe()
                await pubsub.aclose()  # type: ignore[no-untyped-call]

        return ServerSentEvent(feed(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class WebhookController(Controller):
    """Public: the gateway forwards `/webhooks/telephony/...` with the raw body; the signature authenticates."""

    path = "/webhooks/telephony"
    tags = ["webhooks"]

    @post("/{provider:str}", status_code=HTTP_200_OK, summary="A provider's call event", security=[{}])
    async def receive(
        self,
        request: Request[Any, Any, Any],
        uow: UnitOfWorkFactory,
        redis: Redis,
        provider: str,
        clinic: Annotated[UUID, Parameter(query="clinic")],
    ) -> WebhookAnswer:
        body = await webhooks.read_body(request)
        query = request.url.query
        inbound = Inbound(
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            url=f"{_public_root(request)}{request.url.path}" + (f"?{query}" if query else ""),
            received_at=datetime.now(UTC),
        )
        handled = await cases.receive(uow, redis, provider=provider, tenant_id=str(clinic), request=inbound)
        return WebhookAnswer(handled.outcome, handled.call_ids)
