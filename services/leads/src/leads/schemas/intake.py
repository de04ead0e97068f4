"""HTTP bodies for the intake channels: clinic forms (admin API) and public submissions (raw bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl

import msgspec

from leads.domain.errors import InvalidLead
from leads.domain.intake import (
    HONEYPOT,
    MAX_FIELDS,
    UTM_FIELDS,
    Form,
    PayloadTooLarge,
    UnsupportedMediaType,
    consent_text,
    flatten,
    web_fields,
)

FORM_URLENCODED = "application/x-www-form-urlencoded"
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class FormIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120, examples=["Site: agende sua avaliação"])]
    kind: Annotated[str, msgspec.Meta(description="web | tilda", examples=["tilda"])] = "web"
    #: A slug of the clinic's source list; leads from this form get it.
    source: Annotated[str, msgspec.Meta(max_length=63)] = "website_form"
    #: A slug of the clinic's treatment list, recorded on each request from this form.
    treatment: Annotated[str, msgspec.Meta(max_length=63)] | None = None


class FormPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only what is sent changes; treatment null clears it."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    source: Annotated[str, msgspec.Meta(max_length=63)] | UnsetType = UNSET
    treatment: Annotated[str, msgspec.Meta(max_length=63)] | UnsetType | None = UNSET

    def changes(self) -> dict[str, object]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class FormOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: str
    #: Public and unguessable: it is in the form's URL.
    key: str
    source: str
    treatment: str | None
    active: bool
    locale: str
    created_by: str
    created_at: datetime
    #: Where submissions go: the web form's action, or the webhook URL to paste into Tilda (without the secret).
    url: str
    #: Tilda only, and only in the answer that creates the form or rotates its secret: it is never shown again.
    secret: str | None = None
    #: Tilda only, with `secret`: the complete URL to paste into Tilda's webhook settings.
    webhook_url: str | None = None

    @classmethod
    def of(cls, form: Form, base_url: str, secret: str | None = None) -> FormOut:
        url = public_url(form, base_url)
        return cls(
            id=form.id,
            name=form.name,
            kind=form.kind,
            key=form.key,
            source=form.source,
            treatment=form.treatment,
            active=form.active,
            locale=form.locale,
            created_by=form.created_by,
            created_at=form.created_at,
            url=url,
            secret=secret,
            webhook_url=f"{url}?secret={secret}" if secret else None,
        )


def public_url(form: Form, base_url: str) -> str:
    path = f"/webhooks/tilda/{form.key}" if form.kind == "tilda" else f"/public/forms/{form.key}"
    return base_url.rstrip("/") + path


class FieldOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str
    required: bool
    label: str


class PublicFormOut(msgspec.Struct, frozen=True, kw_only=True):
    """What a clinic's website needs to render the form."""

    name: str
    locale: str
    submit_url: str
    fields: list[FieldOut]
    consent_text: str
    #: Render this input hidden from people (CSS); bots fill it and their submissions are dropped.
    honeypot: str
    #: Copy these from the page's query string into hidden inputs: they become the lead's attribution.
    utm_fields: list[str]

    @classmethod
    def of(cls, form: Form, base_url: str) -> PublicFormOut:
        return cls(
            name=form.name,
            locale=form.locale,
            submit_url=public_url(form, base_url),
            fields=[
                FieldOut(name=f.name, type=f.type, required=f.required, label=f.label) for f in web_fields(form.locale)
            ],
            consent_text=consent_text(form.locale),
            honeypot=HONEYPOT,
            utm_fields=list(UTM_FIELDS),
        )


class Received(msgspec.Struct, frozen=True):
    status: str = "received"


# --- raw bodies ----------------------------------------------------------------------------
def _scalar(value: object) -> str:
    """Text as is; true/false and numbers as text; a nested object (Tilda's `payment`) as its JSON text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return msgspec.json.encode(value).decode()


def fields_from_body(content_type: str | None, body: bytes) -> dict[str, str]:
    """Form-urlencoded or JSON-object bodies as flat text fields; anything else is refused, never a 500."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    pairs: list[tuple[str, str]] = []
    if media == FORM_URLENCODED:
        text = body.decode("utf-8", errors="replace")
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS * 4, errors="replace")
        except ValueError as exc:
            raise PayloadTooLarge(f"A submission holds at most {MAX_FIELDS} fields.", field="body") from exc
    elif media == "application/json" or media.endswith("+json"):  # Tilda can send JSON too
        try:
            data = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise InvalidLead(f"The body is not valid JSON: {exc}.", field="body") from exc
        if not isinstance(data, dict):
            raise InvalidLead("Send a JSON object of fields.", field="body")
        if len(data) > MAX_FIELDS * 4:
            raise PayloadTooLarge(f"A submission holds at most {MAX_FIELDS} fields.", field="body")
        for key, value in data.items():
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            pairs += [(str(key), _scalar(v)) for v in values if v is not None]
    else:
        raise UnsupportedMediaType(
            f"Send the fields as {FORM_URLENCODED} or application/json, not {media or 'an untyped body'}.",
            field="content-type",
        )
    return flatten(pairs)
