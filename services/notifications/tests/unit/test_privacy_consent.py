"""notifications.services.consent, no IO: what a message is for, and whether the ledger's copy holds it back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from notifications.domain import Message
from notifications.services.consent import AI_ASSISTANT, MARKETING, REMINDERS, purposes_of, withdrawn

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BASE = Message(
    id="m", tenant_id="t", lead_id="l", channel="whatsapp", to="+5511987654321", template="welcome", locale="pt-BR",
    body="Oi", status="queued", attempts=0, last_error=None, provider=None, provider_message_id=None,
    correlation_id=None, causation_id=None, created_at=T0, updated_at=T0, next_attempt_at=T0,
)  # fmt: skip


def _entry(purpose: str, channel: str, granted: bool, minutes: int) -> dict[str, object]:
    return {"purpose": purpose, "channel": channel, "granted": granted, "at": T0 + timedelta(minutes=minutes)}


def test_the_event_behind_a_message_gives_its_purpose() -> None:
    assert purposes_of(replace(BASE, event_type="lead.created")) == (MARKETING,)
    assert purposes_of(replace(BASE, event_type="reminder.due")) == (REMINDERS,)
    assert purposes_of(replace(BASE, event_type="payment.link_created")) == ()  # transactional
    assistant = "clinicflow.funnel.assistant.message_requested.v1"  # stored whole: the assistant's own messages
    assert purposes_of(replace(BASE, event_type=assistant)) == (AI_ASSISTANT, MARKETING)  # sales outreach too
    assert purposes_of(replace(BASE, event_type=None)) == ()  # a staff reply in the conversation
    assert purposes_of(replace(BASE, event_type="lead.created", recipient="role:manager")) == ()  # to staff


def test_the_latest_word_on_the_channel_or_on_any_decides() -> None:
    assert withdrawn([_entry(MARKETING, "any", False, 0)], MARKETING, "whatsapp")
    assert not withdrawn([_entry(MARKETING, "any", False, 0)], REMINDERS, "whatsapp")
    assert not withdrawn([_entry(MARKETING, "sms", False, 0)], MARKETING, "whatsapp")
    # given again on the channel after withdrawing there: allowed; a withdrawal on "any" still stands apart
    assert not withdrawn([_entry(MARKETING, "whatsapp", False, 0), _entry(MARKETING, "whatsapp", True, 5)],
                         MARKETING, "whatsapp")  # fmt: skip
    assert withdrawn(
        [_entry(MARKETING, "whatsapp", True, 5), _entry(MARKETING, "any", False, 0)], MARKETING, "whatsapp"
    )
    assert not withdrawn([], MARKETING, "whatsapp")
