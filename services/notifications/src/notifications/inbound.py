"""Provider webhooks in plain Python: signature checks and what a delivery says (messages, receipts).

Formats: ../shared/PROVIDERS.md. Signatures are checked over the raw bytes before anything is parsed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notifications.domain import DELIVERED, FAILED, INSTAGRAM, READ, SENT, SMS, TELEGRAM, WHATSAPP, e164


def whatsapp_signature(app_secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def check_meta_signature(app_secret: str, raw: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 (WhatsApp and Instagram): sha256=<hex HMAC-SHA256(app secret, raw body)>."""
    return bool(app_secret and header) and hmac.compare_digest(whatsapp_signature(app_secret, raw), header or "")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Base64(HMAC-SHA1(auth token, full URL + each POST parameter's name and value, sorted by name))."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def check_twilio_signature(auth_token: str, url: str, params: dict[str, str], header: str | None) -> bool:
    return bool(auth_token and header) and hmac.compare_digest(twilio_signature(auth_token, url, params), header or "")


def check_telegram_secret(secret: str, header: str | None) -> bool:
    return bool(secret and header) and hmac.compare_digest(secret, header or "")


@dataclass(frozen=True)
class InboundMedia:
    """A medium that came with a message: the provider's id until it is fetched, then where our copy is."""

    #: image, audio, video, document.
    kind: str
    provider_media_id: str
    content_type: str
    sha256: str | None = None
    caption: str | None = None
    size: int | None = None
    #: Our stored copy (notifications' key in the object store) once fetched; None: not fetched.
    object_key: str | None = None
    #: A presigned URL to that copy, for the consumers of message.received, and when it stops working.
    url: str | None = None
    url_expires_at: datetime | None = None


@dataclass(frozen=True)
class Inbound:
    channel: str
    provider: str
    #: The clinic's account the message came to (phone number id, SMS number, page id, bot).
    account_id: str | None
    sender: str
    sender_name: str | None
    provider_message_id: str
    text: str | None
    button_id: str | None
    #: The provider's id of our message this one answers.
    reply_to: str | None
    received_at: datetime
    media: tuple[InboundMedia, ...] = ()


@dataclass(frozen=True)
class Receipt:
    provider: str
    provider_message_id: str
    status: str
    at: datetime
    error: str | None = None


def _ts(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


_WA_STATUS = {"sent": SENT, "delivered": DELIVERED, "read": READ, "failed": FAILED}


#: WhatsApp message types that carry a medium (a sticker is an image; a voice note is audio).
_WA_MEDIA = {"image": "image", "sticker": "image", "audio": "audio", "video": "video", "document": "document"}


def _wa_media(kind: str | None, part: Any) -> tuple[InboundMedia, ...]:
    if kind is None or not isinstance(part, dict) or not part.get("id"):
        return ()
    caption = part.get("caption")
    return (
        InboundMedia(
            kind=_WA_MEDIA[kind],
            provider_media_id=str(part["id"]),
            content_type=str(part.get("mime_type") or "application/octet-stream").split(";")[0].strip(),
            sha256=part.get("sha256"),
            caption=caption if isinstance(caption, str) and caption.strip() else None,
        ),
    )


def parse_whatsapp(body: dict[str, Any]) -> tuple[list[Inbound], list[Receipt]]:
    messages: list[Inbound] = []
    receipts: list[Receipt] = []
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            account = (value.get("metadata") or {}).get("phone_number_id")
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in value.get("contacts") or []}
            for m in value.get("messages") or []:
                kind = m.get("type")
                text = button = None
                if kind == "text":
                    text = (m.get("text") or {}).get("body")
                elif kind == "interactive":
                    tapped_in = m.get("interactive") or {}
                    reply = tapped_in.get("button_reply") or tapped_in.get("list_reply") or {}
                    button, text = reply.get("id"), reply.get("title")
                elif kind == "button":
                    tapped = m.get("button") or {}
                    button, text = tapped.get("payload"), tapped.get("text")
                media = _wa_media(kind, m.get(kind) if kind in _WA_MEDIA else None)
                if media:
                    text = media[0].caption
                if not m.get("id") or not m.get("from"):
                    continue
                messages.append(
                    Inbound(
                        WHATSAPP,
                        "whatsapp_cloud",
                        account,
                        e164(m["from"]),
                        names.get(m["from"]),
                        m["id"],
                        text,
                        button,
                        (m.get("context") or {}).get("id"),
                        _ts(m.get("timestamp")),
                        media,
                    )
                )
            for s in value.get("statuses") or []:
                status = _WA_STATUS.get(s.get("status", ""))
                if status and s.get("id"):
                    errors = s.get("errors") or []
                    error = errors[0].get("title") if errors and isinstance(errors[0], dict) else None
                    receipts.append(Receipt("whatsapp_cloud", s["id"], status, _ts(s.get("timestamp")), error))
    return messages, receipts


_TWILIO_STATUS = {"sent": SENT, "delivered": DELIVERED, "read": READ, "undelivered": FAILED, "failed": FAILED}


def parse_twilio_inbound(form: dict[str, str]) -> Inbound | None:
    if not form.get("MessageSid") or not form.get("From"):
        return None
    return Inbound(
        SMS,
        "twilio",
        form.get("To"),
        e164(form["From"]),
        None,
        form["MessageSid"],
        form.get("Body"),
        None,
        None,
        datetime.now(UTC),
    )


def parse_twilio_status(form: dict[str, str]) -> Receipt | None:
    status = _TWILIO_STATUS.get(form.get("MessageStatus", ""))
    if not status or not form.get("MessageSid"):
        return None
    return Receipt("twilio", form["MessageSid"], status, datetime.now(UTC), form.get("ErrorCode"))


def parse_telegram(update: dict[str, Any], bot: str | None) -> Inbound | None:
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        origin = callback.get("message") or {}
        chat = (origin.get("chat") or {}).get("id") or (callback.get("from") or {}).get("id")
        if chat is None:
            return None
        return Inbound(
            TELEGRAM,
            "telegram",
            bot,
            str(chat),
            (callback.get("from") or {}).get("first_name"),
            f"cb:{callback.get('id')}",
            None,
            callback.get("data"),
            str(origin["message_id"]) if "message_id" in origin else None,
            datetime.now(UTC),
        )
    message = update.get("message") or update.get("edited_message")
    if not isinstance(message, dict) or (message.get("chat") or {}).get("id") is None:
        return None
    reply = message.get("reply_to_message") or {}
    return Inbound(
        TELEGRAM,
        "telegram",
        bot,
        str(message["chat"]["id"]),
        (message.get("from") or {}).get("first_name"),
        f"{message['chat']['id']}:{message.get('message_id')}",
        message.get("text"),
        None,
        str(reply["message_id"]) if "message_id" in reply else None,
        _ts(message.get("date")),
    )


def parse_instagram(body: dict[str, Any]) -> list[Inbound]:
    out: list[Inbound] = []
    for entry in body.get("entry") or []:
        for event in entry.get("messaging") or []:
            sender = (event.get("sender") or {}).get("id")
            message = event.get("message") or {}
            postback = event.get("postback") or {}
            mid = message.get("mid") or postback.get("mid")
            if not sender or not mid or message.get("is_echo"):
                continue
            reply = (message.get("reply_to") or {}).get("mid")
            out.append(
                Inbound(
                    INSTAGRAM,
                    "instagram",
                    str(entry.get("id") or (event.get("recipient") or {}).get("id")),
                    str(sender),
                    None,
                    mid,
                    message.get("text") or postback.get("title"),
                    postback.get("payload"),
                    reply,
                    _ts((event.get("timestamp") or 0) // 1000),
                )
            )
    return out
