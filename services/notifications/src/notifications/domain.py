"""Notification rules in plain Python: channels, rules and their matching, message states, retries,
fallback, consent, the WhatsApp 24-hour window, quiet hours, locales and phone numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications import quotes
from notifications.catalog import DEFAULT_TEMPLATES, TEMPLATES, WELCOME

__all__ = ["DEFAULT_TEMPLATES", "TEMPLATES", "WELCOME"]

LOCALES = ("pt-BR", "es", "ru", "en")
DEFAULT_LOCALE = "pt-BR"

WHATSAPP, SMS, EMAIL, TELEGRAM, INSTAGRAM, INAPP = "whatsapp", "sms", "email", "telegram", "instagram", "inapp"
#: Channels that reach a patient or prospect; in-app reaches staff only.
PERSON_CHANNELS = (WHATSAPP, SMS, EMAIL, TELEGRAM, INSTAGRAM)
CHANNELS = (*PERSON_CHANNELS, INAPP)
TEMPLATE_NAMES = tuple(TEMPLATES)
#: Clinics name their own templates with this prefix, so they never clash with built-in ones.
CLINIC_TEMPLATE_PREFIX = "clinic_"

QUEUED, SENDING, SENT, DELIVERED, READ, FAILED, CANCELLED = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "cancelled",
)
MAX_ATTEMPTS = 6
WHATSAPP_WINDOW = timedelta(hours=24)

#: Staff roles of the gateway (it owns them; a rule naming another role is refused when saved).
STAFF_ROLES = ("admin", "manager", "sales_agent", "reception", "professional", "diagnostic_doctor", "finance")
#: Who a rule writes to: the person the event is about, the staff member responsible for them (the lead's
#: owner, else the one who caused the event), the staff member who caused it, every holder of a role, one user.
PERSON, OWNER, ACTOR = "person", "owner", "actor"
ROLE_PREFIX, USER_PREFIX = "role:", "user:"
#: A staff member named by a field of the event, e.g. field:agent_id (the valuation process, notifications.quotes).
FIELD_PREFIX = "field:"
_FIELD = re.compile(r"^[a-z][a-z0-9_]{1,63}_id$")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")

#: Inbound words that withdraw consent for the channel they arrive on (pt, es, en, ru) and give it back.
OPT_OUT_WORDS = frozenset({"STOP", "SAIR", "PARAR", "CANCELAR", "BAJA", "UNSUBSCRIBE", "СТОП"})
OPT_IN_WORDS = frozenset({"START", "VOLTAR", "ALTA", "UNSTOP", "СТАРТ"})  # noqa: RUF001 - Russian


class NotificationsError(Exception):
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTemplate(NotificationsError):
    pass


class TemplateNotFound(NotificationsError):
    pass


class InvalidRule(NotificationsError):
    pass


class InvalidInput(NotificationsError):
    pass


class NotFound(NotificationsError):
    pass


class OutsideWindow(NotificationsError):
    """WhatsApp takes free-form text only within 24 h of the person's last message."""


class AssistantNotConfigured(NotificationsError):
    """409: the clinic has not set up (or has switched off) its reply assistant's model endpoint."""


class AssistantUnavailable(NotificationsError):
    """503: the model endpoint could not be reached, or said it is overloaded / rate-limited."""


class AssistantFailed(NotificationsError):
    """502: the model endpoint answered with an error or with something that is not a usable answer."""


class AssistantTimeout(NotificationsError):
    """504: the model endpoint did not answer in time."""


# --- messages -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    id: str
    tenant_id: str
    lead_id: str | None
    channel: str
    to: str
    template: str
    locale: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    provider: str | None
    provider_message_id: str | None
    correlation_id: str | None
    causation_id: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None = None
    patient_id: str | None = None
    conversation_id: str | None = None
    #: The rule that made it (manual: a staff reply) and who it is for (person, user:<id>, role:<role>).
    rule_key: str = "manual"
    recipient: str = PERSON
    event_type: str | None = None
    #: At most one message per event, rule and recipient (unique with the tenant).
    dedupe_key: str | None = None
    #: The channels to try in order and the one being tried; addresses and texts per channel.
    channels: tuple[str, ...] = ()
    step: int = 0
    addresses: Mapping[str, str] = field(default_factory=dict)
    renders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    subject: str | None = None
    #: What the event was about (payment:<id>, appointment:<id> ...); events of the `cancel_on` types about it
    #: cancel the message while it waits (a delayed rule).
    cancel_key: str | None = None
    cancel_on: tuple[str, ...] = ()
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    #: Held by the dispatcher round sending it (kit.dispatch); free again when the round recorded it or died.
    leased_until: datetime | None = None
    #: A staff reply written from the reply assistant: {"id", "use" (as_is | edited), "model", "tokens"}.
    suggestion: Mapping[str, Any] | None = None


def mark_sending(message: Message, now: datetime) -> Message:
    return replace(message, status=SENDING, attempts=message.attempts + 1, updated_at=now)


def mark_sent(message: Message, provider: str, provider_message_id: str, now: datetime) -> Message:
    return replace(
        message,
        status=SENT,
        provider=provider,
        provider_message_id=provider_message_id,
        sent_at=now,
        updated_at=now,
        last_error=None,
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s ... capped at 5 minutes."""
    return timedelta(seconds=min(2**attempts, 300))


def next_channel(message: Message) -> str | None:
    later = message.channels[message.step + 1 :] if message.channels else ()
    return next((c for c in later if c in message.addresses), None)


def fall_back(message: Message, error: str, now: datetime) -> Message | None:
    """Switch to the rule's next channel the person can be reached on (WhatsApp failed -> SMS), or None."""
    following = next_channel(message)
    if following is None:
        return None
    step = message.channels.index(following, message.step + 1)
    render = message.renders.get(following, {})
    return replace(
        message,
        channel=following,
        step=step,
        to=message.addresses[following],
        body=str(render.get("body", message.body)),
        subject=render.get("subject"),
        status=QUEUED,
        attempts=0,
        last_error=f"{message.channel}: {error}",
        updated_at=now,
        next_attempt_at=now,
    )


def mark_attempt_failed(message: Message, error: str, *, permanent: bool, now: datetime) -> Message:
    """A transient failure queues the message again until MAX_ATTEMPTS; then (or when permanent) the rule's
    next channel is tried, and when there is none the message has failed."""
    if permanent or message.attempts >= MAX_ATTEMPTS:
        return fall_back(message, error, now) or replace(message, status=FAILED, last_error=error, updated_at=now)
    return replace(
        message, status=QUEUED, last_error=error, updated_at=now, next_attempt_at=now + retry_delay(message.attempts)
    )


_PROGRESS = {QUEUED: 0, SENDING: 1, SENT: 2, DELIVERED: 3, READ: 4}


def apply_status(message: Message, status: str, at: datetime) -> Message | None:
    """A provider receipt moves a sent message forward (sent -> delivered -> read), never back;
    None when it changes nothing (a late or repeated receipt)."""
    if message.status not in (SENT, DELIVERED, READ):
        return None  # failed, cancelled, or already moved on to the rule's next channel
    if status == FAILED:
        return replace(message, status=FAILED, last_error="the provider reported the message undelivered")
    if status not in (DELIVERED, READ) or _PROGRESS.get(message.status, 0) >= _PROGRESS[status]:
        return None
    delivered = message.delivered_at or at
    return replace(message, status=status, delivered_at=delivered, read_at=at if status == READ else message.read_at)


# --- locales, names, phones -----------------------------------------------------------------------
def choose_locale(preferred: str | None, clinic_default: str = DEFAULT_LOCALE) -> str:
    if preferred in LOCALES:
        return preferred  # type: ignore[return-value]
    if preferred:
        language = preferred.split("-")[0].lower()
        for locale in LOCALES:
            if locale.split("-")[0].lower() == language:
                return locale
    return clinic_default if clinic_default in LOCALES else DEFAULT_LOCALE


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def e164(address: str) -> str:
    """+digits, whatever the channel wrote (WhatsApp's wa_id has no plus)."""
    digits = re.sub(r"\D", "", address)
    return f"+{digits}" if digits else address


def phone_variants(phone: str) -> tuple[str, ...]:
    """A Brazilian mobile with and without the ninth digit: older WhatsApp ids lack it."""
    number = e164(phone)
    digits = number[1:]
    if digits.startswith("55") and len(digits) == 12 and digits[4] in "6789":
        return (number, f"+{digits[:4]}9{digits[4:]}")
    if digits.startswith("55") and len(digits) == 13 and digits[4] == "9":
        return (number, f"+{digits[:4]}{digits[5:]}")
    return (number,)


def check_template_key(name: str, locale: str) -> None:
    if name not in TEMPLATE_NAMES and not is_clinic_template(name):
        raise TemplateNotFound(
            f"Unknown template {name!r}; known: {', '.join(TEMPLATE_NAMES)}, or a name of the clinic's own "
            f"starting with {CLINIC_TEMPLATE_PREFIX!r}.",
            field="name",
        )
    if locale not in LOCALES:
        raise InvalidTemplate(f"Unsupported locale {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")


def is_clinic_template(name: str) -> bool:
    return name.startswith(CLINIC_TEMPLATE_PREFIX) and bool(_KEY.match(name)) and len(name) > len("clinic_")


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(f"Unknown channel {channel!r}; use one of: {', '.join(CHANNELS)}.", field="channel")


# --- templates sent by hand from a conversation ------------------------------------------------------
#: The rule key of a template a staff member sent by hand from a conversation (a staff reply is "manual").
MANUAL_TEMPLATE = "manual-template"


def check_sendable_template(name: str, *, audience: str, channel: str, wa_template: str | None) -> None:
    """A template staff may send a person by hand: one for people (not a staff notification), and on WhatsApp one
    with the name of its approved WhatsApp template (what goes out outside the 24-hour window)."""
    if audience != PERSON:
        raise InvalidInput(f"{name!r} is a staff notification, not a message to a person.", field="template")
    if channel == INAPP:
        raise InvalidInput("In-app notifications are for staff; pick a channel of the person.", field="channel")
    if channel == WHATSAPP and not wa_template:
        raise InvalidInput(
            f"{name!r} has no approved WhatsApp template; set its wa_template, or pick another channel.",
            field="template",
        )


def missing_variables(needed: tuple[str, ...], values: Mapping[str, Any]) -> list[str]:
    """The variables a template uses that have no value (an empty text counts as none), in the template's order."""
    return [v for v in needed if values.get(v) is None or str(values.get(v)).strip() == ""]


def check_variables(needed: tuple[str, ...], values: Mapping[str, Any]) -> None:
    missing = missing_variables(needed, values)
    if missing:
        raise InvalidInput(f"The template needs a value for {missing[0]!r}.", field=f"variables.{missing[0]}")


def manual_dedupe_key(conversation_id: str, idempotency_key: str) -> str:
    """One message per conversation and key: a double click or a retried request sends once."""
    return f"{MANUAL_TEMPLATE}:{conversation_id}:{idempotency_key}"


# --- consent and limits -----------------------------------------------------------------------------
def consent_change(text: str | None) -> bool | None:
    """False: the person opted out (STOP, SAIR, PARAR, СТОП ...); True: back in; None: an ordinary message."""
    word = (text or "").strip().strip(".!").upper()
    if word in OPT_OUT_WORDS:
        return False
    if word in OPT_IN_WORDS:
        return True
    return None


def within_whatsapp_window(last_inbound: datetime | None, now: datetime) -> bool:
    return last_inbound is not None and now - last_inbound < WHATSAPP_WINDOW


@dataclass(frozen=True)
class QuietHours:
    """Local times between which patients get no messages; `start` after `end` spans midnight."""

    start: time
    end: time

    def covers(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Unknown time zone {name!r}; use an IANA name.", field="timezone") from exc


def defer_for_quiet_hours(when: datetime, quiet: QuietHours | None, tz: str | None) -> datetime:
    """The first moment at or after `when` outside the clinic's quiet hours, in its time zone: deferred,
    never dropped."""
    if quiet is None:
        return when
    local = when.astimezone(zone(tz))
    if not quiet.covers(local.time().replace(tzinfo=None)):
        return when
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(when.tzinfo)


# --- rules ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """event type (+ conditions on its fields) -> template, channels in fallback order, recipient."""

    key: str
    event_type: str
    template: str
    channels: tuple[str, ...]
    recipient: str = PERSON
    #: field -> wanted value (or any of a list); dotted names reach into the event (person.locale).
    conditions: Mapping[str, Any] = field(default_factory=dict)
    delay_seconds: int = 0
    quiet_hours: bool = True
    #: Events about the same thing (payment, appointment) that cancel a message of this rule still waiting.
    cancel_on: tuple[str, ...] = ()
    enabled: bool = True
    builtin: bool = False


def _field(values: Mapping[str, Any], path: str) -> Any:
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def matches(rule: Rule, event_type: str, values: Mapping[str, Any]) -> bool:
    if not rule.enabled or rule.event_type != event_type:
        return False
    for path, wanted in rule.conditions.items():
        actual = _field(values, path)
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if actual not in allowed:
            return False
    return True


def is_staff_recipient(recipient: str) -> bool:
    return recipient in (OWNER, ACTOR) or recipient.startswith((ROLE_PREFIX, USER_PREFIX, FIELD_PREFIX))


def check_rule(rule: Rule, known_events: tuple[str, ...]) -> None:
    """Refuse a rule that could never send: unknown event, recipient role or channel; staff on a patient
    channel or a person in-app."""
    if not _KEY.match(rule.key):
        raise InvalidRule("A rule key is 2-64 lower-case letters, digits, '_', '.', '-'.", field="key")
    if rule.event_type not in known_events:
        raise InvalidRule(
            f"Unknown event type {rule.event_type!r}; use one of: {', '.join(known_events)}.", field="event_type"
        )
    if rule.recipient.startswith(ROLE_PREFIX):
        role = rule.recipient[len(ROLE_PREFIX) :]
        if role not in STAFF_ROLES:
            raise InvalidRule(f"Unknown staff role {role!r}; use one of: {', '.join(STAFF_ROLES)}.", field="recipient")
    elif rule.recipient.startswith(USER_PREFIX):
        if not _UUID.match(rule.recipient[len(USER_PREFIX) :]):
            raise InvalidRule("user:<id> needs a staff member's UUID.", field="recipient")
    elif rule.recipient.startswith(FIELD_PREFIX):
        if not _FIELD.match(rule.recipient[len(FIELD_PREFIX) :]):
            raise InvalidRule("field:<name> names an id field of the event, e.g. field:agent_id.", field="recipient")
    elif rule.recipient not in (PERSON, OWNER, ACTOR):
        raise InvalidRule(
            "The recipient is person, owner, actor, role:<role>, user:<staff id> or field:<id field>.",
            field="recipient",
        )
    if not rule.channels:
        raise InvalidRule("A rule needs at least one channel.", field="channels")
    for channel in rule.channels:
        if channel not in CHANNELS:
            raise InvalidRule(f"Unknown channel {channel!r}; use one of: {', '.join(CHANNELS)}.", field="channels")
    if len(set(rule.channels)) != len(rule.channels):
        raise InvalidRule("A channel appears twice.", field="channels")
    staff = is_staff_recipient(rule.recipient)
    if staff and rule.channels != (INAPP,):
        raise InvalidRule("Staff recipients are reached in-app: channels must be ['inapp'].", field="channels")
    if not staff and INAPP in rule.channels:
        raise InvalidRule(
            "In-app notifications are for staff; the person is reached on other channels.", field="channels"
        )
    if not 0 <= rule.delay_seconds <= 30 * 24 * 3600:
        raise InvalidRule("The delay is between 0 and 30 days (in seconds).", field="delay_seconds")
    for event_type in rule.cancel_on:
        if event_type not in known_events:
            raise InvalidRule(f"Unknown event type {event_type!r} in cancel_on.", field="cancel_on")


_CANCEL_APPOINTMENT = ("appointment.confirmed", "appointment.cancelled", "appointment.rescheduled")
_CANCEL_PAYMENT = ("payment.confirmed", "payment.cancelled", "payment.expired")

#: The flows' messages, on unless a clinic switches them off (a clinic row with the same key overrides one).
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("welcome", "lead.created", WELCOME, (WHATSAPP,), builtin=True, quiet_hours=False),
    Rule("payment-link", "payment.link_created", "payment_link", (WHATSAPP, SMS, EMAIL), builtin=True),
    Rule("payment-receipt", "payment.confirmed", "payment_receipt", (EMAIL, WHATSAPP), builtin=True),
    Rule(
        "payment-nudge",
        "payment.link_created",
        "payment_nudge",
        (INAPP,),
        recipient=OWNER,
        delay_seconds=24 * 3600,
        quiet_hours=False,
        cancel_on=_CANCEL_PAYMENT,
        builtin=True,
    ),
    Rule("booking-confirmation", "appointment.booked", "appointment_booked", (WHATSAPP, EMAIL, SMS), builtin=True),
    Rule("reminder", "reminder.due", "appointment_reminder", (WHATSAPP, SMS), builtin=True, quiet_hours=False),
    # Escalation: no confirmation 2 h after the reminder -> SMS; 4 h after -> reception calls.
    Rule(
        "reminder-sms",
        "reminder.due",
        "appointment_reminder",
        (SMS,),
        delay_seconds=2 * 3600,
        cancel_on=_CANCEL_APPOINTMENT,
        builtin=True,
    ),
    Rule(
        "reminder-call-task",
        "reminder.due",
        "staff_call_patient",
        (INAPP,),
        recipient="role:reception",
        delay_seconds=4 * 3600,
        quiet_hours=False,
        cancel_on=_CANCEL_APPOINTMENT,
        builtin=True,
    ),
    Rule(
        "staff-patient-confirmed",
        "appointment.confirmed",
        "staff_patient_confirmed",
        (INAPP,),
        recipient="role:reception",
        quiet_hours=False,
        builtin=True,
    ),
    Rule(
        "anamnesis-link",
        "patient.arrived",
        "anamnesis_link",
        (WHATSAPP, SMS, EMAIL),
        conditions={"has_anamnesis": True},
        quiet_hours=False,
        builtin=True,
    ),
    *(Rule(**r, builtin=True) for r in quotes.RULES),  # the valuation -> quote process (docs/quotes.md)
)
