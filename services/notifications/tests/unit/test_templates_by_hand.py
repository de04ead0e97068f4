"""The rules of a template sent by hand: which ones staff may send where, the variables to fill in, the key that
sends once, and the consent purpose it is checked against."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from notifications import rendering
from notifications.domain import (
    MANUAL_TEMPLATE,
    InvalidInput,
    Message,
    check_sendable_template,
    check_variables,
    manual_dedupe_key,
    missing_variables,
)
from notifications.services.consent import MARKETING, REMINDERS, purposes_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_only_person_templates_and_on_whatsapp_only_approved_ones() -> None:
    check_sendable_template("lead_welcome", audience="person", channel="whatsapp", wa_template="lead_welcome")
    check_sendable_template("clinic_promo", audience="person", channel="sms", wa_template=None)
    for audience, channel, wa, field in (
        ("staff", "whatsapp", "x", "template"),
        ("person", "whatsapp", None, "template"),
        ("person", "inapp", None, "channel"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_sendable_template("t", audience=audience, channel=channel, wa_template=wa)
        assert refused.value.field == field


def test_the_variables_a_template_uses_and_the_first_missing_one_named() -> None:
    body = "Oi {{ first_name }}{% if url %}: {{ url }}{% endif %} {{ amount }}"
    assert rendering.used_variables(body, None) == ("amount", "first_name", "url")
    assert rendering.wa_params_of("clinic_promo") == ("first_name",)
    needed = ("amount", "first_name", "url")
    assert missing_variables(needed, {"first_name": "Maria", "amount": " "}) == ["amount", "url"]
    with pytest.raises(InvalidInput) as refused:
        check_variables(needed, {"first_name": "Maria", "url": "https://x"})
    assert refused.value.field == "variables.amount"
    check_variables(needed, {"first_name": "Maria", "url": "https://x", "amount": "1"})


def test_one_message_per_conversation_and_key() -> None:
    assert manual_dedupe_key("c1", "k") == manual_dedupe_key("c1", "k") != manual_dedupe_key("c2", "k")


def _message(template: str) -> Message:
    return Message(
        id="m1", tenant_id="t1", lead_id="l1", channel="whatsapp", to="+5511987654321", template=template,
        locale="pt-BR", body="x", status="queued", attempts=0, last_error=None, provider=None,
        provider_message_id=None, correlation_id=None, causation_id=None, created_at=NOW, updated_at=NOW,
        next_attempt_at=NOW, rule_key=MANUAL_TEMPLATE,
    )  # fmt: skip


def test_a_template_by_hand_is_for_what_its_event_is_for_a_clinics_own_is_marketing() -> None:
    assert purposes_of(_message("appointment_reminder")) == (REMINDERS,)
    assert purposes_of(_message("lead_welcome")) == (MARKETING,)
    assert purposes_of(_message("payment_link")) == ()  # transactional, as the rule's
    assert purposes_of(_message("clinic_promo")) == (MARKETING,)
    assert purposes_of(replace(_message("clinic_promo"), rule_key="manual")) == ()  # a staff reply
