"""Notification rules in plain Python: message states, retries, template choice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

LOCALES = ("pt-BR", "es", "ru", "en")
DEFAULT_LOCALE = "pt-BR"
CHANNELS = ("whatsapp",)
WELCOME = "lead_welcome"
TEMPLATE_NAMES = (WELCOME,)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
MAX_ATTEMPTS = 6

#: Built-in texts a clinic may override per locale. Jinja2 syntax; `first_name`, `name` given.
DEFAULT_TEMPLATES: dict[tuple[str, str], str] = {
    (WELCOME, "pt-BR"): "Olá, {{ first_name }}! Recebemos o seu contato e em breve nossa equipe vai "
    "falar com você por aqui. Se preferir, responda com o melhor horário para conversarmos.",
    (WELCOME, "es"): "¡Hola, {{ first_name }}! Recibimos tu mensaje y muy pronto alguien de nuestro equipo "
    "te escribirá por aquí. Si prefieres, responde con el mejor horario para hablar.",
    (WELCOME, "ru"): "Здравствуйте, {{ first_name }}! Мы получили вашу заявку, и скоро администратор "
    "свяжется с вами здесь. Если удобно, ответьте, в какое время вам лучше позвонить.",  # noqa: RUF001 - Russian text
    (WELCOME, "en"): "Hello {{ first_name }}! We have received your enquiry and someone from our team "
    "will write to you here shortly. Feel free to reply with the best time to reach you.",
}


class NotificationsError(Exception):
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTemplate(NotificationsError):
    pass


class TemplateNotFound(NotificationsError):
    pass


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


def check_template_key(name: str, locale: str) -> None:
    if name not in TEMPLATE_NAMES:
        raise TemplateNotFound(f"Unknown template {name!r}; known: {', '.join(TEMPLATE_NAMES)}.", field="name")
    if locale not in LOCALES:
        raise InvalidTemplate(f"Unsupported locale {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s ... capped at 5 minutes."""
    return timedelta(seconds=min(2**attempts, 300))


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


def mark_attempt_failed(message: Message, error: str, *, permanent: bool, now: datetime) -> Message:
    """A transient failure queues the message again until MAX_ATTEMPTS; a permanent one ends it."""
    if permanent or message.attempts >= MAX_ATTEMPTS:
        return replace(message, status=FAILED, last_error=error, updated_at=now)
    return replace(
        message, status=QUEUED, last_error=error, updated_at=now, next_attempt_at=now + retry_delay(message.attempts)
    )
