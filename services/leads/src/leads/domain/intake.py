"""Intake channels: the clinic's own web form and the Tilda webhook (plain Python, standard library only).

A submission arrives as flat text fields. These rules map them onto a lead (name, phone, e-mail, the
request's reason, UTM attribution, consent), recognise spam (the honeypot) and the Tilda connection probe,
and check a webhook's secret. Nothing here does IO.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from leads.domain.errors import InvalidLead, LeadsError

FORM_KINDS = ("web", "tilda")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
#: A field people never see (hidden with CSS); a bot that fills every input fills it too.
HONEYPOT = "website"
#: What a checkbox sends when ticked (HTML sends "on"; JSON sends true).
TRUTHY = frozenset({"true", "on", "yes", "1", "y", "sim", "si", "da", "да"})
#: Channels a ticked consent box covers (the consent text names them).
CONSENT_CHANNELS = ("phone", "whatsapp", "email")
#: Field names that mean "I agree" in a Tilda form.
TILDA_CONSENT_FIELDS = frozenset({"consent", "agreement", "agree", "lgpd", "gdpr"})
#: Tilda's own fields: they are not the person's answers.
TILDA_TECHNICAL = frozenset({"tranid", "formid", "formname", "cookies", "test", "secret", "api_key", "apikey"})
MESSAGE_FIELDS = ("message", "comment", "comments")

MAX_FIELDS = 60
MAX_KEY = 64
MAX_VALUE = 2000
MAX_REASON = 2000
MAX_FORM_NAME = 120

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Unauthenticated(LeadsError):
    """A webhook without the right secret (401)."""


class UnsupportedMediaType(LeadsError):
    """A body in a format the endpoint does not read (415)."""


class PayloadTooLarge(LeadsError):
    """Too many fields, or a field too long (413)."""


@dataclass(frozen=True)
class Form:
    id: str
    tenant_id: str
    #: Public, in the form's URL; unguessable.
    key: str
    kind: str
    name: str
    #: sha256 hex of a Tilda webhook's secret; None for web forms.
    secret_hash: str | None
    source: str
    treatment: str | None
    country: str
    timezone: str
    locale: str
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Submission:
    """A form submission mapped onto what a lead holds."""

    name: str | None
    phone: str | None
    email: str | None
    #: What they wrote plus any custom fields, as the request's reason.
    reason: str | None
    consent: bool
    attribution: dict[str, str]
    #: The provider's id of the submission (Tilda's tranid), for de-duplication.
    external_id: str | None = None


# --- forms ---------------------------------------------------------------------------------
def check_kind(kind: str) -> str:
    if kind not in FORM_KINDS:
        raise InvalidLead(f"A form is one of: {', '.join(FORM_KINDS)}.", field="kind")
    return kind


def check_form_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_FORM_NAME:
        raise InvalidLead(f"A form's name is 1-{MAX_FORM_NAME} characters.", field="name")
    return cleaned


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(presented: str | None, secret_hash: str | None) -> bool:
    """Constant-time comparison of the presented secret's sha256 with the stored one."""
    if not presented or not secret_hash:
        return False
    return hmac.compare_digest(hash_secret(presented), secret_hash)


def check_secret(presented: str | None, form: Form) -> None:
    if not presented:
        raise Unauthenticated(
            "Send the form's secret as ?secret=... in the webhook URL or in the X-Api-Key header.", field="secret"
        )
    if not secret_matches(presented, form.secret_hash):
        raise Unauthenticated("The secret does not match this form's; rotate it to get a new one.", field="secret")


# --- fields --------------------------------------------------------------------------------
def clean_text(value: str) -> str:
    """Control characters (NUL above all: PostgreSQL refuses it) removed, surrounding space trimmed."""
    return _CONTROL.sub("", value).strip()


def flatten(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Decoded key/value pairs as one dict: repeated keys joined with ', ', `key[]` read as `key`."""
    if len(pairs) > MAX_FIELDS:
        raise PayloadTooLarge(f"A submission holds at most {MAX_FIELDS} fields.", field="body")
    out: dict[str, list[str]] = {}
    for raw_key, raw_value in pairs:
        key = clean_text(raw_key)
        key = key[:-2] if key.endswith("[]") else key
        if not key:
            continue
        if len(key) > MAX_KEY:
            raise PayloadTooLarge(f"Field names are at most {MAX_KEY} characters.", field=key[:MAX_KEY])
        value = clean_text(raw_value)
        if len(value) > MAX_VALUE:
            raise InvalidLead(f"A field holds at most {MAX_VALUE} characters.", field=key)
        out.setdefault(key, []).append(value)
    return {k: ", ".join(v for v in values if v) for k, values in out.items()}


def is_truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TRUTHY


def is_bot(fields: Mapping[str, str]) -> bool:
    """The honeypot was filled: answer as if all went well, store nothing."""
    return bool(fields.get(HONEYPOT, "").strip())


def _lower(fields: Mapping[str, str]) -> dict[str, str]:
    """Field names folded to lower case; when two spellings collide the first non-empty value wins."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        folded = key.lower()
        if not out.get(folded):
            out[folded] = value
    return out


def _attribution(fields: Mapping[str, str]) -> dict[str, str]:
    return {k: fields[k][:200] for k in UTM_FIELDS if fields.get(k)}


def _reason(message: str | None, custom: Mapping[str, str]) -> str | None:
    lines = [message] if message else []
    lines += [f"{key}: {value}" for key, value in custom.items() if value]
    text = "\n".join(lines).strip()
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1] + "…"
    return text or None


def web_submission(fields: Mapping[str, str]) -> Submission:
    """The clinic's own form: name, phone, e-mail?, message?, consent (required), utm_*; others kept as notes."""
    folded = _lower(fields)
    if not is_truthy(folded.get("consent", "")):
        raise InvalidLead("Tick the consent box: we may only contact you with your consent.", field="consent")
    name = folded.get("name") or None
    if not name:
        raise InvalidLead("Tell us your name.", field="name")
    phone = folded.get("phone") or None
    if not phone:
        raise InvalidLead("Tell us your phone number.", field="phone")
    message = folded.get("message") or None
    known = {"name", "phone", "email", "message", "consent", HONEYPOT, *UTM_FIELDS}
    custom = {k: v for k, v in fields.items() if k.lower() not in known}
    return Submission(
        name=name,
        phone=phone,
        email=folded.get("email") or None,
        reason=_reason(message, custom),
        consent=True,
        attribution=_attribution(folded),
    )


def is_tilda_test(fields: Mapping[str, str]) -> bool:
    """Tilda's connection probe: `test=test` and nothing a person typed."""
    folded = _lower(fields)
    return folded.get("test") == "test" and not any(folded.get(k) for k in ("name", "phone", "email"))


def tilda_submission(fields: Mapping[str, str]) -> Submission:
    """Tilda's classic webhook: Name/Phone/Email in any case, tranid, formid, utm_*, custom fields.

    A phone or an e-mail is required; a lead also needs a phone (it is called back), so an e-mail alone is
    refused too, naming the phone: the clinic makes Phone a required field of its Tilda form.
    """
    folded = _lower(fields)
    phone = folded.get("phone") or None
    email = folded.get("email") or None
    if not phone and not email:
        raise InvalidLead("The submission has neither a phone nor an e-mail.", field="phone")
    if not phone:
        raise InvalidLead(
            "The submission has no phone; leads are called back, so make Phone a required field of the form.",
            field="phone",
        )
    name = folded.get("name") or None
    known = {"name", "phone", "email", *UTM_FIELDS, *TILDA_TECHNICAL, *TILDA_CONSENT_FIELDS}
    custom = {k: v for k, v in fields.items() if k.lower() not in known and k.lower() not in MESSAGE_FIELDS}
    message = next((folded[k] for k in MESSAGE_FIELDS if folded.get(k)), None)
    attribution = _attribution(folded)
    if folded.get("formid"):
        attribution["tilda_formid"] = folded["formid"][:100]
    return Submission(
        name=name,
        phone=phone,
        email=email,
        reason=_reason(message, custom),
        consent=any(is_truthy(folded.get(k, "")) for k in TILDA_CONSENT_FIELDS),
        attribution=attribution,
        external_id=(folded.get("tranid") or None),
    )


def display_name(submission: Submission) -> str:
    """A nameless submission is shown by its e-mail or phone until staff learn the name."""
    return submission.name or submission.email or submission.phone or "?"


def consents(submission: Submission) -> dict[str, bool]:
    return dict.fromkeys(CONSENT_CHANNELS, True) if submission.consent else {}


def default_reason(form: Form) -> str:
    return f"Sent the form “{form.name}”"


# --- what a web form shows -----------------------------------------------------------------
_LABELS: dict[str, dict[str, str]] = {
    "pt-BR": {
        "name": "Nome",
        "phone": "Telefone (WhatsApp)",
        "email": "E-mail",
        "message": "Mensagem",
        "consent": "Autorizo a clínica a entrar em contato comigo sobre o meu pedido por telefone, WhatsApp ou "
        "e-mail e a tratar os meus dados pessoais para essa finalidade, conforme a LGPD.",
    },
    "es": {
        "name": "Nombre",
        "phone": "Teléfono (WhatsApp)",
        "email": "Correo electrónico",
        "message": "Mensaje",
        "consent": "Autorizo a la clínica a contactarme sobre mi solicitud por teléfono, WhatsApp o correo "
        "electrónico y a tratar mis datos personales con ese fin.",
    },
    "ru": {
        "name": "Имя",
        "phone": "Телефон (WhatsApp)",
        "email": "E-mail",
        "message": "Сообщение",
        "consent": "Я согласен(на), что клиника свяжется со мной по моему обращению по телефону, WhatsApp или "  # noqa: RUF001 - Russian text
        "e-mail и обработает мои персональные данные для этой цели.",
    },
    "en": {
        "name": "Name",
        "phone": "Phone (WhatsApp)",
        "email": "E-mail",
        "message": "Message",
        "consent": "I agree that the clinic contacts me about my request by phone, WhatsApp or e-mail and "
        "processes my personal data for that purpose.",
    },
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    required: bool
    label: str


def labels(locale: str) -> dict[str, str]:
    return _LABELS.get(locale) or _LABELS.get(locale.split("-")[0]) or _LABELS["en"]


def web_fields(locale: str) -> list[FieldSpec]:
    text = labels(locale)
    return [
        FieldSpec("name", "text", True, text["name"]),
        FieldSpec("phone", "tel", True, text["phone"]),
        FieldSpec("email", "email", False, text["email"]),
        FieldSpec("message", "textarea", False, text["message"]),
        FieldSpec("consent", "checkbox", True, text["consent"]),
    ]


def consent_text(locale: str) -> str:
    return labels(locale)["consent"]
