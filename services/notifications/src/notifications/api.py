"""HTTP: messages, templates (+ preview), rules, clinic settings, consent, conversations, the staff's in-app
notifications with their live stream, and the providers' webhooks (through the gateway's public ingress)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from kit import webhooks
from kit.objects import ObjectStore
from kit.web import AuthRequest, problem, requires
from notifications import events, inbound, rendering, services
from notifications.schemas import (
    AccountIn,
    AccountList,
    AccountOut,
    AddressOut,
    AssistantSettingsIn,
    AssistantSettingsOut,
    ConversationDetail,
    ConversationItem,
    ConversationList,
    ConversationOut,
    Enabled,
    InAppList,
    InAppOut,
    Marked,
    MarkReadIn,
    MessageList,
    MessageOut,
    OptOutIn,
    OptOutList,
    OptOutOut,
    PreviewIn,
    PreviewOut,
    ReplyIn,
    RuleIn,
    RuleList,
    RuleOut,
    SettingsIn,
    SettingsOut,
    SuggestionsOut,
    TemplateChoices,
    TemplateIn,
    TemplateList,
    TemplateMessageIn,
    TemplateOut,
    TemplatePreviewOut,
    TemplateSendIn,
    Unread,
)
from notifications.services.work import NotificationsWorkFactory
from notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)
Channel = Annotated[str, Parameter(query="channel", description="whatsapp, sms, email, telegram, instagram, inapp")]


class MessageController(Controller):
    path = "/api/v1/notifications/messages"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="Messages sent to a lead, with their status")
    async def for_lead(self, request: AuthRequest, uow: NotificationsWorkFactory, lead_id: UUID) -> MessageList:
        items = await services.messages_for_lead(uow, request.user, str(lead_id))
        return MessageList([MessageOut.of(m) for m in items])


class TemplateController(Controller):
    path = "/api/v1/notifications/templates"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's message templates per locale and channel")
    async def list(self, request: AuthRequest, uow: NotificationsWorkFactory) -> TemplateList:
        rows = await services.list_templates(uow, request.user)
        return TemplateList([msgspec.convert(r, TemplateOut) for r in rows], list(rendering.VARIABLES))

    @put("/{name:str}/{locale:str}", guards=[requires(CRM_ADMIN)], summary="Set the clinic's own text")
    async def put(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        name: str,
        locale: str,
        data: TemplateIn,
        channel: Channel = services.CHANNEL,
    ) -> TemplateOut:
        await services.set_template(
            uow,
            request.user,
            name,
            locale,
            data.body,
            channel=channel,
            subject=data.subject,
            wa_template=data.wa_template,
        )
        return TemplateOut(
            name=name,
            locale=locale,
            channel=channel,
            body=data.body,
            customised=True,
            subject=data.subject,
            wa_template=data.wa_template,
            variables=list(rendering.variables_of(name)),
        )

    @delete(
        "/{name:str}/{locale:str}",
        guards=[requires(CRM_ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Go back to the built-in text",
    )
    async def reset(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        name: str,
        locale: str,
        channel: Channel = services.CHANNEL,
    ) -> None:
        await services.reset_template(uow, request.user, name, locale, channel)

    @post(
        "/{name:str}/{locale:str}/preview",
        guards=[requires(CRM_READ)],
        status_code=HTTP_200_OK,
        summary="Render the template (or a draft) with sample data, as the channel would send it",
    )
    async def preview(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        name: str,
        locale: str,
        data: PreviewIn,
        channel: Channel = services.CHANNEL,
    ) -> PreviewOut:
        out = await services.preview(uow, request.user, name, locale, channel, data.body, data.subject)
        return msgspec.convert(out, PreviewOut)


class RuleController(Controller):
    path = "/api/v1/notifications/rules"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's rules: seeded defaults and its own")
    async def list(self, request: AuthRequest, uow: NotificationsWorkFactory) -> RuleList:
        rules = await services.list_rules(uow, request.user)
        return RuleList([RuleOut.of(r) for r in rules], list(events.EVENT_TYPES))

    @put("/{key:str}", guards=[requires(CRM_ADMIN)], summary="Add a rule or change one (a default included)")
    async def save(self, request: AuthRequest, uow: NotificationsWorkFactory, key: str, data: RuleIn) -> RuleOut:
        return RuleOut.of(await services.put_rule(uow, request.user, key, msgspec.structs.asdict(data)))

    @put("/{key:str}/enabled", guards=[requires(CRM_ADMIN)], summary="Switch a rule on or off")
    async def enable(self, request: AuthRequest, uow: NotificationsWorkFactory, key: str, data: Enabled) -> RuleOut:
        return RuleOut.of(await services.set_rule_enabled(uow, request.user, key, data.enabled))

    @delete(
        "/{key:str}",
        guards=[requires(CRM_ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove the clinic's own rule, or go back to the default of that key",
    )
    async def remove(self, request: AuthRequest, uow: NotificationsWorkFactory, key: str) -> None:
        await services.delete_rule(uow, request.user, key)


def _settings_out(c: services.ClinicConfig) -> SettingsOut:
    return SettingsOut(
        timezone=c.timezone,
        locale=c.locale,
        quiet_start=c.quiet.start.strftime("%H:%M") if c.quiet else None,
        quiet_end=c.quiet.end.strftime("%H:%M") if c.quiet else None,
    )


class SettingsController(Controller):
    path = "/api/v1/notifications/settings"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="Time zone, default locale and quiet hours of the clinic")
    async def read(self, request: AuthRequest, uow: NotificationsWorkFactory) -> SettingsOut:
        return _settings_out(await services.get_settings(uow, request.user))

    @put("/", guards=[requires(CRM_ADMIN)], summary="Set them (quiet hours defer patient messages, never drop them)")
    async def save(self, request: AuthRequest, uow: NotificationsWorkFactory, data: SettingsIn) -> SettingsOut:
        config = await services.put_settings(
            uow,
            request.user,
            timezone=data.timezone,
            locale=data.locale,
            quiet_start=data.quiet_start,
            quiet_end=data.quiet_end,
        )
        return _settings_out(config)


class ConsentController(Controller):
    path = "/api/v1/notifications/opt-outs"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="People who opted out, per channel")
    async def list(self, request: AuthRequest, uow: NotificationsWorkFactory) -> OptOutList:
        rows = await services.list_opt_outs(uow, request.user)
        return OptOutList([msgspec.convert(r, OptOutOut, from_attributes=True) for r in rows])

    @post("/", guards=[requires(CRM_WRITE)], summary="Record an opt-out (checked before every send)")
    async def add(self, request: AuthRequest, uow: NotificationsWorkFactory, data: OptOutIn) -> OptOutOut:
        address = await services.opt_out(uow, request.user, data.channel, data.address)
        return OptOutOut(
            channel=data.channel, address=address, source=f"staff:{request.user.user_id}", created_at=services.clock()
        )

    @delete(
        "/{channel:str}/{address:str}",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_204_NO_CONTENT,
        summary="The person agreed again",
    )
    async def remove(self, request: AuthRequest, uow: NotificationsWorkFactory, channel: str, address: str) -> None:
        await services.opt_in(uow, request.user, channel, address)


class AccountController(Controller):
    path = "/api/v1/notifications/channels"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's connected provider accounts")
    async def list(self, request: AuthRequest, uow: NotificationsWorkFactory) -> AccountList:
        rows = await services.list_accounts(uow, request.user)
        return AccountList([AccountOut(r["channel"], r["account_id"]) for r in rows])

    @put("/{channel:str}", guards=[requires(CRM_ADMIN)], summary="Route a provider account's inbound to the clinic")
    async def connect(
        self, request: AuthRequest, uow: NotificationsWorkFactory, channel: str, data: AccountIn
    ) -> AccountOut:
        await services.connect_account(uow, request.user, channel, data.account_id)
        return AccountOut(channel, data.account_id)


def _conversation_out(c: dict[str, Any]) -> ConversationOut:
    return ConversationOut(
        id=str(c["id"]),
        lead_id=str(c["lead_id"]) if c["lead_id"] else None,
        patient_id=str(c["patient_id"]) if c["patient_id"] else None,
        name=c["name"],
        last_message_at=c["last_message_at"],
    )


class ConversationController(Controller):
    path = "/api/v1/notifications/conversations"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="Conversations of a lead or patient (or the latest ones)")
    async def list(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        lead_id: UUID | None = None,
        patient_id: UUID | None = None,
    ) -> ConversationList:
        rows = await services.conversations_of(
            uow,
            request.user,
            lead_id=str(lead_id) if lead_id else None,
            patient_id=str(patient_id) if patient_id else None,
        )
        return ConversationList([_conversation_out(r) for r in rows])

    @get("/{conversation_id:uuid}", guards=[requires(CRM_READ)], summary="One person's history across channels")
    async def detail(
        self, request: AuthRequest, uow: NotificationsWorkFactory, objects: ObjectStore, conversation_id: UUID
    ) -> ConversationDetail:
        found = await services.conversation(uow, request.user, str(conversation_id), objects)
        return ConversationDetail(
            conversation=_conversation_out(found["conversation"]),
            addresses=[
                AddressOut(channel=a["channel"], address=a["address"], last_inbound_at=a["last_inbound_at"])
                for a in found["addresses"]
            ],
            items=[msgspec.convert(i, ConversationItem) for i in found["items"]],
        )

    @post(
        "/{conversation_id:uuid}/messages",
        guards=[requires(CRM_WRITE)],
        summary="Reply to the person (within the channel's rules)",
    )
    async def reply(
        self, request: AuthRequest, uow: NotificationsWorkFactory, state: State, conversation_id: UUID, data: ReplyIn
    ) -> MessageOut:
        suggestion = str(data.suggestion_id) if data.suggestion_id else None
        sent = await services.reply(uow, request.user, str(conversation_id), data.text, data.channel, suggestion)
        await services.announce_conversation(
            state.redis, sent.tenant_id, str(conversation_id), sent.channel, "outbound"
        )
        return MessageOut.of(sent)

    @get(
        "/{conversation_id:uuid}/templates",
        guards=[requires(CRM_READ)],
        summary="The clinic's templates the person may be sent by hand on a channel (on WhatsApp the approved ones)",
    )
    async def templates(
        self, request: AuthRequest, uow: NotificationsWorkFactory, conversation_id: UUID, channel: str | None = None
    ) -> TemplateChoices:
        out = await services.template_choices(uow, request.user, str(conversation_id), channel)
        return msgspec.convert(out, TemplateChoices)

    @post(
        "/{conversation_id:uuid}/templates/preview",
        guards=[requires(CRM_READ)],
        status_code=HTTP_200_OK,
        summary="A template as the person of the conversation would get it (missing variables listed)",
    )
    async def preview_template(
        self, request: AuthRequest, uow: NotificationsWorkFactory, conversation_id: UUID, data: TemplateMessageIn
    ) -> TemplatePreviewOut:
        out = await services.preview_template(
            uow, request.user, str(conversation_id), data.template, data.channel, data.variables
        )
        return msgspec.convert(out, TemplatePreviewOut)

    @post(
        "/{conversation_id:uuid}/templates",
        guards=[requires(CRM_WRITE)],
        summary="Send the person one of the clinic's approved templates (once per idempotency_key)",
    )
    async def send_template(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        state: State,
        conversation_id: UUID,
        data: TemplateSendIn,
    ) -> MessageOut:
        """422 naming the field: an unknown template or one not approved for the channel (`template`), a variable
        without a value (`variables.<name>`), a person who opted out or withdrew consent (`channel`)."""
        sent = await services.send_template(
            uow,
            request.user,
            str(conversation_id),
            data.template,
            data.channel,
            data.variables,
            data.idempotency_key,
        )
        await services.announce_conversation(
            state.redis, sent.tenant_id, str(conversation_id), sent.channel, "outbound"
        )
        return MessageOut.of(sent)

    @post(
        "/{conversation_id:uuid}/suggestions",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Suggested replies from the clinic's model (personal data redacted before it leaves)",
    )
    async def suggestions(
        self, request: AuthRequest, uow: NotificationsWorkFactory, state: State, conversation_id: UUID
    ) -> SuggestionsOut:
        """409 when the clinic has not set the assistant up; 502 when its model answered with an error, 503 when
        it cannot be reached or is busy, 504 when it did not answer in time."""
        out = await services.suggest_replies(uow, request.user, state.sealer, state.llm, str(conversation_id))
        return msgspec.convert(out, SuggestionsOut)


class AssistantController(Controller):
    path = "/api/v1/notifications/assistant"
    tags = ["notifications"]

    @get("/settings", guards=[requires(CRM_READ)], summary="The reply assistant's endpoint and model (no key shown)")
    async def read(self, request: AuthRequest, uow: NotificationsWorkFactory) -> AssistantSettingsOut:
        return msgspec.convert(await services.assistant_settings(uow, request.user), AssistantSettingsOut)

    @put("/settings", guards=[requires(CRM_ADMIN)], summary="Set the OpenAI-compatible endpoint, model, key, prices")
    async def save(
        self, request: AuthRequest, uow: NotificationsWorkFactory, state: State, data: AssistantSettingsIn
    ) -> AssistantSettingsOut:
        out = await services.put_assistant_settings(
            uow,
            request.user,
            state.sealer,
            enabled=data.enabled,
            endpoint_url=data.endpoint_url,
            model=data.model,
            api_key=data.api_key,
            prompt_price=data.prompt_price,
            completion_price=data.completion_price,
        )
        return msgspec.convert(out, AssistantSettingsOut)


class InAppController(Controller):
    path = "/api/v1/notifications/inapp"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="The staff member's notifications, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: NotificationsWorkFactory,
        unread: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> InAppList:
        rows, count = await services.inapp_list(uow, request.user, unread_only=unread, limit=limit)
        return InAppList([msgspec.convert(r, InAppOut) for r in rows], count)

    @get("/unread", guards=[requires(CRM_READ)], summary="How many are unread")
    async def unread(self, request: AuthRequest, uow: NotificationsWorkFactory) -> Unread:
        return Unread(await services.inapp_unread(uow, request.user))

    @post("/read", guards=[requires(CRM_READ)], status_code=HTTP_200_OK, summary="Mark some (or all) read")
    async def mark_read(self, request: AuthRequest, uow: NotificationsWorkFactory, data: MarkReadIn) -> Marked:
        ids = [str(i) for i in data.ids] if data.ids is not None else None
        return Marked(await services.inapp_mark_read(uow, request.user, ids))

    @get(
        "/stream",
        guards=[requires(CRM_READ)],
        summary="Server-sent events: `unread` at once, then each new "
        "`notification` for this staff member as it happens, and `conversation` when a conversation changes "
        "(Redis pub/sub, so every api replica sees it)",
    )
    async def stream(self, request: AuthRequest, uow: NotificationsWorkFactory, state: State) -> ServerSentEvent:
        principal = request.user
        redis = state.redis

        async def feed() -> AsyncIterator[ServerSentEventMessage]:
            pubsub = redis.pubsub()
            await pubsub.subscribe(services.inapp_channel(principal.tenant_id))
            try:
                # Subscribed before counting, so nothing falls between the count and the first push.
                count = await services.inapp_unread(uow, principal)
                yield ServerSentEventMessage(event="unread", data=json.dumps({"unread": count}))
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=15.0)
                    if message is None:
                        yield ServerSentEventMessage(comment="keep-alive")
                        continue
                    data = json.loads(message["data"])
                    if data.get("kind") == "conversation":  # a conversation changed: staff with crm:read see all
                        yield ServerSentEventMessage(event="conversation", data=json.dumps(data))
                    elif services.inapp_visible(principal, data):
                        yield ServerSentEventMessage(event="notification", data=json.dumps(data), id=data["id"])
            finally:
                await pubsub.unsubscribe()
                await pubsub.aclose()

        return ServerSentEvent(feed(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class StatsController(Controller):
    path = "/api/v1/notifications/stats"
    tags = ["notifications"]

    @get("/confirmations", guards=[requires(CRM_READ)], summary="Reminders sent and confirmed, per step and channel")
    async def confirmations(self, request: AuthRequest, uow: NotificationsWorkFactory) -> dict[str, Any]:
        return await services.confirmation_stats(uow, request.user)


# --- provider webhooks: public, authenticated by the provider's signature (kit.webhooks) --------------
Raw = Request[Any, Any, Any]


def _configured(secret: str, verifier: webhooks.Verifier) -> webhooks.Verifier:
    """An unset secret refuses every delivery (an empty HMAC key would let anyone sign)."""

    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        if not secret:
            raise webhooks.SignatureInvalid("This webhook's secret is not configured.")
        verifier(body, headers)

    return verify


def _meta(settings: NotificationsSettings) -> webhooks.Verifier:
    secret = settings.whatsapp_app_secret
    return _configured(secret, webhooks.hmac_sha256_header(secret, "X-Hub-Signature-256"))


def _twilio(settings: NotificationsSettings, url: str) -> webhooks.Verifier:
    """X-Twilio-Signature over the public URL and the sorted form fields."""

    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not inbound.check_twilio_signature(settings.twilio_auth_token, url, form, headers.get("x-twilio-signature")):
            raise webhooks.SignatureInvalid(field="X-Twilio-Signature")

    return verify


def _object(delivery: webhooks.Delivery) -> dict[str, Any]:
    body = delivery.json()
    if not isinstance(body, dict):
        raise webhooks.MalformedWebhook("The body is not a JSON object.")
    return body


def _digest(delivery: webhooks.Delivery) -> str:
    """Meta sends no delivery id; a redelivery repeats the body, so its hash is one."""
    return hashlib.sha256(delivery.body).hexdigest()


def _public_url(request: Raw, base: str) -> str:
    """The URL the provider called (Twilio signs it): the configured public base, else what the gateway saw."""
    if base:
        root = base.rstrip("/")
    else:
        proto = request.headers.get("x-forwarded-proto") or request.url.scheme
        host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
        root = f"{proto}://{host}"
    query = request.url.query
    return f"{root}{request.url.path}" + (f"?{query}" if query else "")


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @get("/whatsapp", media_type="text/plain", summary="Meta's subscription check (hub.challenge)")
    async def whatsapp_verify(self, request: Raw, state: State) -> Response[Any]:
        return _verify(request, state.settings)

    @post("/whatsapp", status_code=HTTP_200_OK, summary="WhatsApp messages, taps and statuses (X-Hub-Signature-256)")
    async def whatsapp(self, request: Raw, state: State, uow: NotificationsWorkFactory) -> dict[str, int]:
        # Media are not fetched here (a slow Graph API would slow this answer): the worker does
        # (services.fetch_media_due).
        delivery = await webhooks.receive(request, _meta(state.settings))
        messages, receipts = inbound.parse_whatsapp(_object(delivery))
        handled = await services.receive(
            uow,
            messages,
            receipts,
            delivery=delivery,
            receipt_key=("whatsapp_cloud", "-", _digest(delivery)),
            announce=state.redis,
        )
        return {"handled": handled}

    @get("/instagram", media_type="text/plain", summary="Meta's subscription check (hub.challenge)")
    async def instagram_verify(self, request: Raw, state: State) -> Response[Any]:
        return _verify(request, state.settings)

    @post("/instagram", status_code=HTTP_200_OK, summary="Instagram direct messages (X-Hub-Signature-256)")
    async def instagram(self, request: Raw, state: State, uow: NotificationsWorkFactory) -> dict[str, int]:
        delivery = await webhooks.receive(request, _meta(state.settings))
        messages = inbound.parse_instagram(_object(delivery))
        handled = await services.receive(
            uow, messages, delivery=delivery, receipt_key=("instagram", "-", _digest(delivery)), announce=state.redis
        )
        return {"handled": handled}

    @post(
        ["/telegram", "/telegram/{bot:str}"],
        status_code=HTTP_200_OK,
        summary="Telegram updates (X-Telegram-Bot-Api-Secret-Token)",
    )
    async def telegram(
        self, request: Raw, state: State, uow: NotificationsWorkFactory, bot: str | None = None
    ) -> dict[str, int]:
        secret = state.settings.telegram_secret_token
        verify = _configured(secret, webhooks.shared_token_header(secret, "X-Telegram-Bot-Api-Secret-Token"))
        delivery = await webhooks.receive(request, verify)
        update = _object(delivery)
        if update.get("update_id") is None:
            raise webhooks.MalformedWebhook("An update carries an update_id.", field="update_id")
        message = inbound.parse_telegram(update, bot)
        handled = await services.receive(
            uow,
            [message] if message else [],
            delivery=delivery,
            receipt_key=("telegram", bot or "-", str(update["update_id"])),
            announce=state.redis,
        )
        return {"handled": handled}

    @post(
        ["/twilio", "/twilio/status"],
        status_code=HTTP_200_OK,
        summary="Twilio inbound SMS and status callbacks (X-Twilio-Signature)",
    )
    async def twilio(self, request: Raw, state: State, uow: NotificationsWorkFactory) -> Response[str]:
        settings: NotificationsSettings = state.settings
        delivery = await webhooks.receive(request, _twilio(settings, _public_url(request, settings.public_base_url)))
        form = dict(parse_qsl(delivery.body.decode("utf-8", "replace"), keep_blank_values=True))
        sid = form.get("MessageSid", "")
        if request.url.path.endswith("/status"):
            status = inbound.parse_twilio_status(form)
            handled = await services.receive(
                uow,
                [],
                [status] if status else [],
                delivery=delivery,
                receipt_key=("twilio", "status", f"{sid}:{form.get('MessageStatus')}"),
                announce=state.redis,
            )
        else:
            message = inbound.parse_twilio_inbound(form)
            handled = await services.receive(
                uow,
                [message] if message else [],
                delivery=delivery,
                receipt_key=("twilio", "inbound", sid),
                announce=state.redis,
            )
        # Twilio reads TwiML from the answer; an empty <Response> sends nothing back.
        return Response(f"<Response><!-- {handled} --></Response>", media_type="application/xml")


def _verify(request: Raw, settings: NotificationsSettings) -> Response[Any]:
    params = request.query_params
    token = params.get("hub.verify_token")
    expected = settings.whatsapp_verify_token
    if params.get("hub.mode") == "subscribe" and expected and token == expected:
        return Response(str(params.get("hub.challenge", "")), media_type="text/plain")
    # Meta reads only the status of a failed verification; the body is a problem document like every error.
    return problem(403, "The verify token does not match.", slug="verification-failed")
