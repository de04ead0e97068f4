"""Thin controllers of telephony: decode, one use case, a schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from kit import webhooks
from kit.objects import ObjectStore
from kit.paging import Page
from kit.web import AuthRequest, Limit, Offset, requires
from telephony import services as cases
from telephony.domain import InvalidTelephony
from telephony.provider_api import ProviderApi
from telephony.providers import Account, Inbound
from telephony.schemas import (
    AccessOut,
    AccountIn,
    AccountOut,
    BitrixAnswer,
    BitrixResult,
    CallOut,
    CardOut,
    ConnectionOut,
    DialIn,
    DialOut,
    NumberIn,
    NumberOut,
    RecordingLinkOut,
    RetentionIn,
    RetentionOut,
    WebhookAnswer,
)
from telephony.services.work import TelephonyWorkFactory
from telephony.settings import TelephonySettings

Disposition = Annotated[str | None, Parameter(query="disposition", pattern="^(answered|missed|busy|failed)$")]
CallState = Annotated[str | None, Parameter(query="state", pattern="^(ringing|in_progress|completed)$")]
Caller = Annotated[str | None, Parameter(query="caller", max_length=40)]


def _public_root(request: Request[Any, Any, Any]) -> str:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return f"{proto}://{host}"


def webhook_url(root: str, account: Account) -> str:
    """The URL the clinic registers at the provider (docs/telephony.md, "Connecting a provider")."""
    base = f"{root}/webhooks/telephony/{account.provider}"
    if account.provider == "bitrix24":  # the REST root: the app appends <method>.json and sends `auth`
        return f"{base}/{account.tenant_id}/"
    if account.provider == "mango":  # Mango Office appends /events/call, /events/record/added, ...
        return f"{base}/{account.tenant_id}"
    url = f"{base}?clinic={account.tenant_id}"
    if account.provider == "telfin":  # Telfin signs nothing: the secret travels in the URL
        url += "&" + urlencode({"token": account.secret})
    return url


class AccountController(Controller):
    path = "/api/v1/telephony/providers"
    tags = ["telephony"]

    @put("/{provider:str}", guards=[requires(CRM_ADMIN)], summary="Connect the clinic's telephony provider")
    async def connect(
        self, request: AuthRequest, uow: TelephonyWorkFactory, provider: str, data: AccountIn
    ) -> AccountOut:
        account = await cases.connect(
            uow,
            request.user,
            provider,
            secret=data.secret,
            api_key=data.api_key,
            timezone=data.timezone,
            api_url=data.api_url,
            directory=_directory(request),
        )
        return AccountOut(provider=account.provider, webhook_url=webhook_url(_public_root(request), account))

    @get("/", guards=[requires(CRM_ADMIN)], summary="Every provider and whether the clinic connected it (no secrets)")
    async def connections(self, request: AuthRequest, uow: TelephonyWorkFactory) -> Page[ConnectionOut]:
        root = _public_root(request)
        return Page.all(
            ConnectionOut(
                provider=provider,
                connected=account is not None,
                secret_set=bool(account and account.secret),
                api_key_set=bool(account and account.api_key),
                timezone=account.timezone if account else None,
                webhook_url=webhook_url(root, account)
                if account is not None
                else f"{root}/webhooks/telephony/{provider}?clinic={request.user.tenant_id}",
            )
            for provider, account in await cases.connections(uow, request.user)
        )


class NumberController(Controller):
    path = "/api/v1/telephony/tracking-numbers"
    tags = ["telephony"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(CRM_ADMIN)], summary="Add a tracking number")
    async def add(self, request: AuthRequest, uow: TelephonyWorkFactory, data: NumberIn) -> NumberOut:
        return NumberOut.of(
            await cases.add_number(
                uow,
                request.user,
                number=data.number,
                source=data.source,
                label=data.label,
                directory=_directory(request),
            )
        )

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's tracking numbers and their sources")
    async def list(self, request: AuthRequest, uow: TelephonyWorkFactory) -> Page[NumberOut]:
        return Page.all(NumberOut.of(n) for n in await cases.list_numbers(uow, request.user))

    @delete("/{number_id:uuid}", status_code=HTTP_204_NO_CONTENT, guards=[requires(CRM_ADMIN)], summary="Remove one")
    async def remove(self, request: AuthRequest, uow: TelephonyWorkFactory, number_id: UUID) -> None:
        await cases.remove_number(uow, request.user, str(number_id), _directory(request))


class CallController(Controller):
    path = "/api/v1/telephony/calls"
    tags = ["telephony"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's calls, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: TelephonyWorkFactory,
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

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        guards=[requires(CRM_WRITE)],
        summary="Click-to-call: the provider rings the staff member's extension and connects the person",
    )
    async def dial(
        self, request: AuthRequest, uow: TelephonyWorkFactory, provider_api: ProviderApi, data: DialIn
    ) -> DialOut:
        if not data.to and not data.call_id:
            raise InvalidTelephony("Give the number to call (to) or the call card to call back (call_id).", field="to")
        settings: TelephonySettings = request.app.state.settings
        dialled = await cases.dial(
            uow,
            provider_api,
            request.user,
            public_url=settings.public_url,
            provider=data.provider,
            extension=data.extension,
            to=data.to,
            line=data.line,
            call_id=data.call_id,
        )
        return DialOut(dialled.call_id, dialled.provider, dialled.provider_call_id)

    @get("/{call_id:uuid}", guards=[requires(CRM_READ)], summary="A call card: the call and the matched contact")
    async def card(self, request: AuthRequest, uow: TelephonyWorkFactory, call_id: UUID) -> CardOut:
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


RecordingId = Annotated[UUID | None, Parameter(query="recording_id")]


def _client(request: Request[Any, Any, Any]) -> str | None:
    forwarded = request.headers.get("x-forwarded-for", "")
    return forwarded.split(",")[0].strip() or (request.client.host if request.client else None) or None


class RecordingController(Controller):
    path = "/api/v1/telephony/recordings"
    tags = ["telephony"]

    @get(
        "/{recording_id:uuid}/link",
        guards=[requires(CRM_READ)],
        summary="A signed playback URL of a call's recording, valid a few minutes (audited)",
    )
    async def link(self, request: AuthRequest, uow: TelephonyWorkFactory, recording_id: UUID) -> RecordingLinkOut:
        playback: cases.PlaybackLinks = request.app.state.playback
        url, expires = await cases.recording_link(
            uow, playback, request.user, str(recording_id), client=_client(request)
        )
        return RecordingLinkOut(url=url, expires_at=expires)

    @get("/access", guards=[requires(CRM_ADMIN)], summary="Who opened and played which recording, newest first")
    async def access(
        self,
        request: AuthRequest,
        uow: TelephonyWorkFactory,
        recording_id: RecordingId = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AccessOut]:
        found, total = await cases.recording_accesses(
            uow, request.user, recording_id=str(recording_id) if recording_id else None, limit=limit, offset=offset
        )
        return Page.of([AccessOut.of(a) for a in found], total=total, limit=limit, offset=offset)

    @get("/retention", guards=[requires(CRM_ADMIN)], summary="How many days the clinic's recordings are kept")
    async def get_retention(self, request: AuthRequest, uow: TelephonyWorkFactory) -> RetentionOut:
        settings: TelephonySettings = request.app.state.settings
        rule, custom = await cases.retention(uow, request.user, settings.recording_retention_days)
        return RetentionOut(days=rule.days, custom=custom, hold_on_erasure_days=rule.hold_on_erasure_days)

    @put(
        "/retention",
        guards=[requires(CRM_ADMIN)],
        summary="Keep the clinic's recordings this many days (1-3650); hold the youngest on erasure",
    )
    async def put_retention(self, request: AuthRequest, uow: TelephonyWorkFactory, data: RetentionIn) -> RetentionOut:
        rule = await cases.set_retention(uow, request.user, data.days, data.hold_on_erasure_days)
        return RetentionOut(days=rule.days, custom=True, hold_on_erasure_days=rule.hold_on_erasure_days)


class PublicRecordingController(Controller):
    """Public: the signed link is the credential (kit.links, purpose call-recording, one recording, minutes)."""

    path = "/public/telephony/recordings"
    tags = ["telephony"]

    @get("/{recording_id:uuid}", summary="Play a recording through its signed link", security=[{}])
    async def play(
        self,
        request: Request[Any, Any, Any],
        uow: TelephonyWorkFactory,
        objects: ObjectStore,
        recording_id: UUID,
        token: Annotated[str, Parameter(query="token", min_length=10, max_length=2000)],
    ) -> Response[bytes]:
        playback: cases.PlaybackLinks = request.app.state.playback
        data, content_type = await cases.play(uow, playback, objects, str(recording_id), token, client=_client(request))
        return Response(
            data,
            media_type=content_type,
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )


class WebhookController(Controller):
    """Public: the gateway forwards `/webhooks/telephony/...` with the raw body; the signature authenticates."""

    path = "/webhooks/telephony"
    tags = ["webhooks"]

    @post("/{provider:str}", status_code=HTTP_200_OK, summary="A provider's call event", security=[{}])
    async def receive(
        self,
        request: Request[Any, Any, Any],
        uow: TelephonyWorkFactory,
        redis: Redis,
        provider: str,
        clinic: Annotated[UUID, Parameter(query="clinic")],
    ) -> WebhookAnswer:
        inbound = await _inbound(request)
        handled = await cases.receive(
            uow, redis, provider=provider, tenant_id=str(clinic), request=inbound, directory=_directory(request)
        )
        return WebhookAnswer(handled.outcome, handled.call_ids)

    @post(
        "/bitrix24/{clinic:uuid}/{method:str}",
        status_code=HTTP_200_OK,
        summary="Bitrix24-style REST: telephony.externalcall.register.json / telephony.externalcall.finish.json",
        security=[{}],
    )
    async def bitrix24(
        self, request: Request[Any, Any, Any], uow: TelephonyWorkFactory, redis: Redis, clinic: UUID, method: str
    ) -> BitrixAnswer:
        inbound = await _inbound(request)
        handled = await cases.receive(
            uow, redis, provider="bitrix24", tenant_id=str(clinic), request=inbound, directory=_directory(request)
        )
        call_id = handled.provider_call_ids[0] if handled.provider_call_ids else None
        return BitrixAnswer(result=BitrixResult(CALL_ID=call_id, outcome=handled.outcome))

    @post(
        "/mango/{clinic:uuid}/events/{kind:path}",
        status_code=HTTP_200_OK,
        summary="Mango Office events: the clinic's address + /events/call, /events/record/added, /events/summary",
        security=[{}],
    )
    async def mango(
        self, request: Request[Any, Any, Any], uow: TelephonyWorkFactory, redis: Redis, clinic: UUID, kind: str
    ) -> WebhookAnswer:
        inbound = await _inbound(request)
        handled = await cases.receive(
            uow, redis, provider="mango", tenant_id=str(clinic), request=inbound, directory=_directory(request)
        )
        return WebhookAnswer(handled.outcome, handled.call_ids)


def _directory(request: Request[Any, Any, Any]) -> cases.Directory:
    directory: cases.Directory = request.app.state.directory
    return directory


async def _inbound(request: Request[Any, Any, Any]) -> Inbound:
    body = await webhooks.read_body(request)
    query = request.url.query
    return Inbound(
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        url=f"{_public_root(request)}{request.url.path}" + (f"?{query}" if query else ""),
        received_at=datetime.now(UTC),
    )
