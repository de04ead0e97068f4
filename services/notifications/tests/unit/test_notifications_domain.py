"""Notification rules and template rendering, in plain Python."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notifications import rendering
from notifications.domain import (
    DEFAULT_LOCALE,
    DEFAULT_TEMPLATES,
    FAILED,
    LOCALES,
    MAX_ATTEMPTS,
    QUEUED,
    SENDING,
    SENT,
    WELCOME,
    InvalidTemplate,
    Message,
    TemplateNotFound,
    check_template_key,
    choose_locale,
    first_name,
    mark_attempt_failed,
    mark_sending,
    mark_sent,
    retry_delay,
)

CREATED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def _message(**overrides: object) -> Message:
    message = Message(
        id="msg-1",
        tenant_id="clinic-1",
        lead_id="lead-1",
        channel="whatsapp",
        to="+5511987654321",
        template=WELCOME,
        locale="pt-BR",
        body="Olá, Maria!",
        status=QUEUED,
        attempts=0,
        last_error=None,
        provider=None,
        provider_message_id=None,
        correlation_id="corr-1",
        causation_id="event-1",
        created_at=CREATED,
        updated_at=CREATED,
        next_attempt_at=CREATED,
    )
    return replace(message, **overrides)


# --- locale and names ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        ("pt-BR", "pt-BR"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("es", "es"),
        ("es-MX", "es"),
        ("ru-RU", "ru"),
        ("en-GB", "en"),
        ("EN", "en"),
        (None, DEFAULT_LOCALE),
        ("", DEFAULT_LOCALE),
        ("fr", DEFAULT_LOCALE),
        ("fr-CA", DEFAULT_LOCALE),
    ],
)
def test_choose_locale(preferred: str | None, expected: str) -> None:
    assert choose_locale(preferred) == expected


def test_choose_locale_falls_back_to_the_clinic_default() -> None:
    assert choose_locale("fr", clinic_default="es") == "es"
    assert choose_locale(None, clinic_default="ru") == "ru"
    assert choose_locale("pt", clinic_default="es") == "pt-BR"


@pytest.mark.parametrize(
    ("name", "expected"), [("Maria Souza", "Maria"), ("  Ana  ", "Ana"), ("Иван Петров", "Иван"), ("", "")]
)
def test_first_name(name: str, expected: str) -> None:
    assert first_name(name) == expected


# --- message state ------------------------------------------------------------------------
def test_mark_sending_counts_the_attempt() -> None:
    sending = mark_sending(_message(attempts=2), NOW)
    assert sending.status == SENDING
    assert sending.attempts == 3
    assert sending.updated_at == NOW


def test_transient_failure_requeues_with_backoff() -> None:
    failed = mark_attempt_failed(mark_sending(_message(), NOW), "timeout", permanent=False, now=NOW)
    assert failed.status == QUEUED
    assert failed.last_error == "timeout"
    assert failed.updated_at == NOW
    assert failed.next_attempt_at > NOW
    assert failed.next_attempt_at == NOW + retry_delay(1)


def test_permanent_failure_ends_the_message() -> None:
    failed = mark_attempt_failed(mark_sending(_message(), NOW), "receiver incapable", permanent=True, now=NOW)
    assert failed.status == FAILED
    assert failed.last_error == "receiver incapable"


def test_retries_back_off_then_give_up_after_max_attempts() -> None:
    message, now, delays = _message(), NOW, []
    for _ in range(MAX_ATTEMPTS - 1):
        message = mark_attempt_failed(mark_sending(message, now), "503", permanent=False, now=now)
        assert message.status == QUEUED
        delays.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert delays == sorted(delays)
    assert len(set(delays)) == len(delays)  # strictly growing

    message = mark_attempt_failed(mark_sending(message, now), "503", permanent=False, now=now)
    assert message.attempts == MAX_ATTEMPTS
    assert message.status == FAILED


def test_retry_delay_grows_and_is_capped() -> None:
    delays = [retry_delay(n) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[0] == timedelta(seconds=2)
    assert max(delays) == timedelta(seconds=300)
    assert retry_delay(1000) == timedelta(seconds=300)


def test_mark_sent() -> None:
    failed_once = mark_attempt_failed(mark_sending(_message(), CREATED), "503", permanent=False, now=CREATED)
    sent = mark_sent(mark_sending(failed_once, NOW), "whatsapp_cloud", "wamid.abc", NOW)
    assert sent.status == SENT
    assert (sent.provider, sent.provider_message_id) == ("whatsapp_cloud", "wamid.abc")
    assert sent.sent_at == sent.updated_at == NOW
    assert sent.last_error is None
    assert sent.attempts == 2


# --- template keys ------------------------------------------------------------------------
@pytest.mark.parametrize("locale", LOCALES)
def test_check_template_key_accepts_known(locale: str) -> None:
    check_template_key(WELCOME, locale)


def test_check_template_key_rejects_unknown_name() -> None:
    with pytest.raises(TemplateNotFound) as caught:
        check_template_key("birthday_card", "pt-BR")
    assert caught.value.field == "name"


def test_check_template_key_rejects_unknown_locale() -> None:
    with pytest.raises(InvalidTemplate) as caught:
        check_template_key(WELCOME, "fr")
    assert caught.value.field == "locale"


def test_every_name_and_locale_has_a_default_template() -> None:
    assert {(WELCOME, locale) for locale in LOCALES} <= set(DEFAULT_TEMPLATES)


# --- rendering ----------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(DEFAULT_TEMPLATES), ids="/".join)
def test_default_templates_render(key: tuple[str, str]) -> None:
    source = DEFAULT_TEMPLATES[key]
    rendering.validate(source, key[0])
    text = rendering.render(source, {**rendering.sample_values(key[0]), "name": "Joana Pereira", "first_name": "Joana"})
    if "name" in rendering.variables_of(key[0]):  # not a digest about many people
        assert "Joana" in text
    assert "{{" not in text
    assert text == text.strip()


def test_render_fills_variables() -> None:
    assert rendering.render("  Hi {{ first_name }} ({{ name }})  ", {"name": "Ana Lima", "first_name": "Ana"}) == (
        "Hi Ana (Ana Lima)"
    )


def test_render_does_not_escape_html() -> None:
    assert rendering.render("{{ name }}", {"name": "Ana & <Bia>"}) == "Ana & <Bia>"


def test_validate_accepts_a_custom_template() -> None:
    rendering.validate("{% if first_name %}Olá {{ first_name | upper }}{% endif %}, tudo bem?")


@pytest.mark.parametrize("source", ["", "   ", "\n\t"])
def test_validate_rejects_empty(source: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        rendering.validate(source)
    assert caught.value.field == "body"


def test_validate_length_limit() -> None:
    rendering.validate("a" * 4096)
    with pytest.raises(InvalidTemplate, match="4096") as caught:
        rendering.validate("a" * 4097)
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    "source",
    ["Hello {{ first_name", "{% if first_name %}no end", "{{ name | no_such_filter }}", "{% for %}{% endfor %}"],
)
def test_validate_rejects_syntax_errors(source: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        rendering.validate(source)
    assert caught.value.field == "body"


@pytest.mark.parametrize("source", ["Hi {{ surname }}", "{{ lead.phone }}", "{% if clinic %}x{% endif %}"])
def test_validate_rejects_unknown_variables(source: str) -> None:
    with pytest.raises(InvalidTemplate, match="undefined"):
        rendering.validate(source)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ name.__init__.__globals__ }}",
        "{{ first_name | attr('__class__') }}",
        "{{ cycler.__init__.__globals__.os.system('id') }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_validate_blocks_sandbox_escapes(source: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        rendering.validate(source)
    assert caught.value.field == "body"


@pytest.mark.parametrize("source", ["{{ 1 / 0 }}", "{{ range(200000) | list | length }}", "{{ name + 1 }}"])
def test_validate_refuses_templates_that_fail_at_render_time(source: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        rendering.validate(source)
    assert caught.value.field == "body"
