"""Rule matching and checking, fallback, receipts, consent, the 24-hour window, quiet hours, phones, signatures,
rendering per channel, and the event -> variables mapping."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from contracts import EventMeta
from contracts.leads import LeadStatusChangedV1
from contracts.people import Person
from contracts.scheduling import ReminderAction, ReminderDueV1
from notifications import events, inbound, rendering
from notifications.domain import (
    DEFAULT_RULES,
    DELIVERED,
    FAILED,
    INAPP,
    QUEUED,
    READ,
    SENT,
    SMS,
    WHATSAPP,
    InvalidRule,
    Message,
    QuietHours,
    Rule,
    apply_status,
    check_rule,
    consent_change,
    defer_for_quiet_hours,
    e164,
    mark_attempt_failed,
    mark_sending,
    mark_sent,
    matches,
    phone_variants,
    within_whatsapp_window,
)

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _message(**overrides: object) -> Message:
    base = Message(
        id="m1",
        tenant_id="t1",
        lead_id="l1",
        channel=WHATSAPP,
        to="+5511987654321",
        template="payment_link",
        locale="pt-BR",
        body="wa text",
        status=QUEUED,
        attempts=0,
        last_error=None,
        provider=None,
        provider_message_id=None,
        correlation_id=None,
        causation_id=None,
        created_at=NOW,
        updated_at=NOW,
        next_attempt_at=NOW,
        channels=(WHATSAPP, SMS),
        addresses={WHATSAPP: "+5511987654321", SMS: "+5511987654321"},
        renders={WHATSAPP: {"body": "wa text"}, SMS: {"body": "sms text"}},
    )
    return replace(base, **overrides)


# --- rules ------------------------------------------------------------------------------------------
def test_a_rule_matches_its_event_and_conditions() -> None:
    rule = Rule(
        "qualified", "lead.status_changed", "clinic_qualified", (WHATSAPP,), conditions={"to_status": "QUALIFIED"}
    )
    assert matches(rule, "lead.status_changed", {"to_status": "QUALIFIED"})
    assert not matches(rule, "lead.status_changed", {"to_status": "LOST"})
    assert not matches(rule, "lead.created", {"to_status": "QUALIFIED"})
    assert not matches(replace(rule, enabled=False), "lead.status_changed", {"to_status": "QUALIFIED"})


def test_conditions_take_lists_and_dotted_fields() -> None:
    rule = Rule(
        "k1", "reminder.due", "t", (WHATSAPP,), conditions={"person.locale": ["es", "ru"], "offset_minutes": 300}
    )
    assert matches(rule, "reminder.due", {"person": {"locale": "ru"}, "offset_minutes": 300})
    assert not matches(rule, "reminder.due", {"person": {"locale": "en"}, "offset_minutes": 300})
    assert not matches(rule, "reminder.due", {"person": None, "offset_minutes": 300})


KNOWN = events.EVENT_TYPES


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=lambda r: r.key)
def test_every_default_rule_is_valid(rule: Rule) -> None:
    check_rule(rule, KNOWN)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipient": "role:janitor"}, "recipient"),
        ({"recipient": "user:not-a-uuid"}, "recipient"),
        ({"recipient": "everyone"}, "recipient"),
        ({"event_type": "lead.exploded"}, "event_type"),
        ({"channels": ()}, "channels"),
        ({"channels": ("fax",)}, "channels"),
        ({"channels": (WHATSAPP, WHATSAPP)}, "channels"),
        ({"channels": (INAPP,)}, "channels"),  # a person is not reached in-app
        ({"recipient": "role:reception"}, "channels"),  # staff only in-app
        ({"delay_seconds": -1}, "delay_seconds"),
        ({"cancel_on": ("nope",)}, "cancel_on"),
        ({"key": "Bad Key"}, "key"),
    ],
)
def test_check_rule_refuses_what_could_never_send(changes: dict[str, object], field: str) -> None:
    rule = replace(Rule("mine", "lead.created", "lead_welcome", (WHATSAPP,)), **changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidRule) as caught:
        check_rule(rule, KNOWN)
    assert caught.value.field == field


def test_the_payment_nudge_waits_a_day_and_is_cancelled_by_the_answer() -> None:
    nudge = next(r for r in DEFAULT_RULES if r.key == "payment-nudge")
    assert nudge.delay_seconds == 24 * 3600
    assert "payment.confirmed" in nudge.cancel_on
    assert nudge.channels == (INAPP,)


# --- fallback and receipts ----------------------------------------------------------------------------
def test_a_permanent_whatsapp_failure_falls_back_to_sms() -> None:
    failed = mark_attempt_failed(mark_sending(_message(), NOW), "outside the window", permanent=True, now=NOW)
    assert (failed.status, failed.channel, failed.step, failed.attempts) == (QUEUED, SMS, 1, 0)
    assert failed.body == "sms text"
    assert failed.last_error == "whatsapp: outside the window"
    final = mark_attempt_failed(mark_sending(failed, NOW), "refused", permanent=True, now=NOW)
    assert final.status == FAILED


def test_the_fallback_skips_channels_without_an_address() -> None:
    message = _message(channels=(WHATSAPP, "email", SMS))
    assert mark_attempt_failed(message, "x", permanent=True, now=NOW).channel == SMS


def test_receipts_move_forward_only() -> None:
    sent = mark_sent(mark_sending(_message(), NOW), "whatsapp_cloud", "wamid.1", NOW)
    delivered = apply_status(sent, DELIVERED, NOW)
    assert delivered is not None
    assert delivered.status == DELIVERED
    read = apply_status(delivered, READ, NOW + timedelta(minutes=1))
    assert read is not None
    assert (read.status, read.delivered_at, read.read_at) == (
        READ,
        NOW,
        NOW + timedelta(minutes=1),
    )
    assert apply_status(read, DELIVERED, NOW) is None  # a late receipt changes nothing
    assert apply_status(sent, SENT, NOW) is None
    moved_on = mark_attempt_failed(sent, "undelivered", permanent=True, now=NOW)  # now queued on SMS
    assert apply_status(moved_on, DELIVERED, NOW) is None  # a late receipt of the WhatsApp attempt
    failed = apply_status(sent, FAILED, NOW)
    assert failed is not None
    assert failed.status == FAILED


# --- consent, window, quiet hours ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["STOP", "stop", " Sair ", "PARAR!", "СТОП", "стоп", "Baja"])
def test_stop_words_opt_out(text: str) -> None:
    assert consent_change(text) is False


@pytest.mark.parametrize("text", ["START", "voltar"])
def test_start_words_opt_back_in(text: str) -> None:
    assert consent_change(text) is True


@pytest.mark.parametrize("text", ["Stop sending me the price?", "Sim, confirmo", "", None])
def test_ordinary_messages_change_nothing(text: str | None) -> None:
    assert consent_change(text) is None


def test_whatsapp_window_is_24_hours_from_the_last_inbound() -> None:
    assert within_whatsapp_window(NOW - timedelta(hours=23, minutes=59), NOW)
    assert not within_whatsapp_window(NOW - timedelta(hours=24), NOW)
    assert not within_whatsapp_window(None, NOW)


QUIET = QuietHours(time(21, 0), time(8, 0))


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),  # 12:00 local
        (datetime(2026, 12, 2, 1, 30, tzinfo=UTC), datetime(2026, 12, 2, 11, 0, tzinfo=UTC)),  # 22:30 -> 08:00
        (datetime(2026, 12, 2, 9, 0, tzinfo=UTC), datetime(2026, 12, 2, 11, 0, tzinfo=UTC)),  # 06:00 -> 08:00
        (datetime(2026, 12, 2, 11, 0, tzinfo=UTC), datetime(2026, 12, 2, 11, 0, tzinfo=UTC)),  # 08:00 is awake
    ],
)
def test_quiet_hours_defer_to_their_end_in_the_clinics_zone(utc: datetime, expected: datetime) -> None:
    assert defer_for_quiet_hours(utc, QUIET, "America/Sao_Paulo") == expected


def test_no_quiet_hours_send_at_once() -> None:
    assert defer_for_quiet_hours(NOW, None, "America/Sao_Paulo") == NOW
    assert not QuietHours(time(9), time(9)).covers(time(9))
    assert QuietHours(time(12), time(14)).covers(time(13))
    assert not QuietHours(time(12), time(14)).covers(time(14))


# --- phones ---------------------------------------------------------------------------------------------
def test_phones_and_the_brazilian_ninth_digit() -> None:
    assert e164("5511987654321") == "+5511987654321"
    assert phone_variants("551187654321") == ("+551187654321", "+5511987654321")
    assert phone_variants("+5511987654321") == ("+5511987654321", "+551187654321")
    assert phone_variants("+34612345678") == ("+34612345678",)


# --- signatures --------------------------------------------------------------------------------------
def test_meta_signature() -> None:
    raw = b'{"object":"whatsapp_business_account"}'
    good = inbound.whatsapp_signature("app-secret", raw)
    assert good.startswith("sha256=")
    assert inbound.check_meta_signature("app-secret", raw, good)
    assert not inbound.check_meta_signature("app-secret", raw + b" ", good)
    assert not inbound.check_meta_signature("app-secret", raw, None)
    assert not inbound.check_meta_signature("", raw, good)


def test_twilio_signature_matches_the_documented_example() -> None:
    # Twilio's own example (the "Validating Requests" page): token 12345, this URL and these parameters.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert inbound.twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert inbound.check_twilio_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not inbound.check_twilio_signature("12345", url, {**params, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_telegram_secret_token() -> None:
    assert inbound.check_telegram_secret("s3cret", "s3cret")
    assert not inbound.check_telegram_secret("s3cret", "other")
    assert not inbound.check_telegram_secret("", "")


def test_parse_whatsapp_taps_texts_and_statuses() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "PNID"},
                            "contacts": [{"wa_id": "5511987654321", "profile": {"name": "Maria"}}],
                            "messages": [
                                {
                                    "from": "5511987654321",
                                    "id": "wamid.A",
                                    "timestamp": "1764600000",
                                    "type": "interactive",
                                    "context": {"id": "wamid.OURS"},
                                    "interactive": {
                                        "type": "button_reply",
                                        "button_reply": {"id": "appt:1:confirm", "title": "Confirmar"},
                                    },
                                },
                                {
                                    "from": "5511987654321",
                                    "id": "wamid.B",
                                    "timestamp": "1764600001",
                                    "type": "button",
                                    "button": {"payload": "appt:1:reschedule", "text": "Remarcar"},
                                },
                                {
                                    "from": "5511987654321",
                                    "id": "wamid.C",
                                    "timestamp": "1764600002",
                                    "type": "text",
                                    "text": {"body": "SAIR"},
                                },
                            ],
                            "statuses": [{"id": "wamid.OURS", "status": "read", "timestamp": "1764600003"}],
                        },
                    }
                ]
            }
        ],
    }
    messages, receipts = inbound.parse_whatsapp(body)
    assert [(m.button_id, m.text, m.reply_to) for m in messages] == [
        ("appt:1:confirm", "Confirmar", "wamid.OURS"),
        ("appt:1:reschedule", "Remarcar", None),
        (None, "SAIR", None),
    ]
    assert {m.sender for m in messages} == {"+5511987654321"}
    assert messages[0].account_id == "PNID"
    assert messages[0].sender_name == "Maria"
    assert [(r.provider_message_id, r.status) for r in receipts] == [("wamid.OURS", READ)]


def test_parse_twilio_telegram_instagram() -> None:
    sms = inbound.parse_twilio_inbound({"MessageSid": "SM1", "From": "+5511987654321", "To": "+1500", "Body": "PARAR"})
    assert sms is not None
    assert (sms.channel, sms.text, sms.account_id) == (SMS, "PARAR", "+1500")
    receipt = inbound.parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert receipt is not None
    assert (receipt.status, receipt.error) == (FAILED, "30003")
    assert inbound.parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "queued"}) is None
    tap = inbound.parse_telegram(
        {
            "update_id": 7,
            "callback_query": {
                "id": "q",
                "data": "appt:1:confirm",
                "from": {"id": 42, "first_name": "Ana"},
                "message": {"message_id": 5, "chat": {"id": 42}},
            },
        },
        None,
    )
    assert tap is not None
    assert (tap.sender, tap.button_id, tap.reply_to) == ("42", "appt:1:confirm", "5")
    dm = inbound.parse_instagram(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "PAGE",
                    "messaging": [
                        {
                            "sender": {"id": "U1"},
                            "recipient": {"id": "PAGE"},
                            "timestamp": 1764600000000,
                            "message": {"mid": "m1", "text": "oi"},
                        }
                    ],
                }
            ],
        }
    )
    assert [(m.sender, m.text, m.account_id) for m in dm] == [("U1", "oi", "PAGE")]


# --- rendering and variables ---------------------------------------------------------------------------
def _reminder() -> tuple[ReminderDueV1, EventMeta]:
    event = ReminderDueV1(
        appointment_id="a1",
        person=Person(lead_id="l1", name="Maria Souza", phone="+5511987654321", locale="es"),
        reminder_id="r1",
        offset_minutes=1440,
        starts_at=datetime(2026, 12, 5, 13, 0, tzinfo=UTC),
        timezone="America/Sao_Paulo",
        branch_name="Moema",
        professional_name="Dra. Ana",
        procedure_name="Limpeza",
        actions=[
            ReminderAction(id="appt:a1:confirm", kind="confirm", url="https://c/1"),
            ReminderAction(id="appt:a1:reschedule", kind="reschedule", url="https://c/2"),
        ],
        due_at=NOW,
    )
    meta = EventMeta(id="e1", source="s", type=event.TYPE, time=NOW, subject="a1", tenant_id="t1", correlation_id="c")
    return event, meta


def test_reminder_variables_are_local_times() -> None:
    event, meta = _reminder()
    occ = events.occurrence(event, meta)
    assert (occ.event_type, occ.subject) == ("reminder.due", "appointment:a1")
    values = events.variables(occ, occ.person, "es", "UTC")
    assert (values["first_name"], values["date"], values["time"]) == ("Maria", "05/12/2026", "10:00")
    assert values["confirm_url"] == "https://c/1"


def test_reminder_renders_buttons_on_whatsapp_and_links_by_sms() -> None:
    event, meta = _reminder()
    occ = events.occurrence(event, meta)
    values = events.variables(occ, occ.person, "es", "UTC")
    from notifications.catalog import TEMPLATES

    spec = TEMPLATES["appointment_reminder"]
    wa = rendering.for_channel(
        WHATSAPP,
        template=spec.name,
        locale="es",
        body_source=spec.texts["es"],
        subject_source=None,
        values=values,
        actions=occ.actions,
        wa_template=spec.wa_template,
    )
    sms = rendering.for_channel(
        SMS,
        template=spec.name,
        locale="es",
        body_source=spec.texts["es"],
        subject_source=None,
        values=values,
        actions=occ.actions,
        wa_template=None,
    )
    assert wa["buttons"] == [
        {"id": "appt:a1:confirm", "title": "Confirmar"},
        {"id": "appt:a1:reschedule", "title": "Reprogramar"},
    ]
    assert wa["wa"] == {
        "name": "appointment_reminder",
        "language": "es",
        "params": ["Maria", "Limpeza", "05/12/2026", "10:00"],
    }
    assert "Confirmar: https://c/1" in sms["body"]
    assert "buttons" not in sms


def test_status_changes_expose_the_new_status_to_conditions() -> None:
    event = LeadStatusChangedV1(
        lead_id="l1", from_status="PENDING_CONTACT", to_status="QUALIFIED", changed_by="u1", changed_at=NOW
    )
    occ = events.occurrence(
        event, EventMeta(id="e", source="s", type=event.TYPE, time=NOW, subject="l1", tenant_id="t", correlation_id="c")
    )
    assert occ.fields["status"] == "QUALIFIED"
    assert occ.actor_id == "u1"
    assert occ.person == {"lead_id": "l1"}


def test_a_payment_link_sends_the_clinics_pay_page_and_keeps_the_checkout_at_hand() -> None:
    from contracts.payments import PaymentLinkCreatedV1

    def link(pay_url: str | None) -> PaymentLinkCreatedV1:
        return PaymentLinkCreatedV1(
            payment_id="p1", person=Person(name="Maria Souza", phone="+5511987654321"), amount="315.00",
            amount_before_discount="350.00", currency="BRL", description="Limpeza", methods=["pix"],
            provider="mercadopago", url="https://checkout.example/c/1", expires_at=datetime(2026, 12, 5, tzinfo=UTC),
            created_by="u1", created_at=datetime(2026, 12, 1, tzinfo=UTC), pay_url=pay_url,
        )  # fmt: skip

    meta = EventMeta(id="e2", source="s", type=PaymentLinkCreatedV1.TYPE, time=NOW, subject="p1", tenant_id="t1",
                     correlation_id="c")  # fmt: skip
    with_page = events.occurrence(link("https://clinic.example/public/payments/pay?token=x"), meta)
    values = events.variables(with_page, with_page.person, "pt-BR", "America/Sao_Paulo")
    assert (values["url"], values["checkout_url"]) == (
        "https://clinic.example/public/payments/pay?token=x",
        "https://checkout.example/c/1",
    )
    older = events.occurrence(link(None), meta)  # an event from before pay_url: the checkout, as before
    assert events.variables(older, older.person, "pt-BR", "America/Sao_Paulo")["url"] == "https://checkout.example/c/1"


def test_parse_whatsapp_media_with_their_captions() -> None:
    def message(kind: str, part: dict[str, object], mid: str) -> dict[str, object]:
        return {"from": "5511987654321", "id": mid, "timestamp": "1764600000", "type": kind, kind: part}

    value = {
        "metadata": {"phone_number_id": "PNID"},
        "messages": [
            message(
                "image", {"id": "111", "mime_type": "image/jpeg", "sha256": "ab", "caption": "a parte de cima"}, "w1"
            ),
            message("document", {"id": "222", "mime_type": "application/pdf; charset=binary"}, "w2"),
            message("audio", {"id": "333", "mime_type": "audio/ogg; codecs=opus", "voice": True}, "w3"),
            message("image", {"mime_type": "image/jpeg"}, "w4"),  # no media id: nothing to fetch
        ],
    }
    body = {"entry": [{"changes": [{"field": "messages", "value": value}]}]}
    got, _ = inbound.parse_whatsapp(body)
    assert [(m.provider_message_id, m.text) for m in got] == [
        ("w1", "a parte de cima"), ("w2", None), ("w3", None), ("w4", None)
    ]  # fmt: skip
    assert [[(x.kind, x.provider_media_id, x.content_type) for x in m.media] for m in got] == [
        [("image", "111", "image/jpeg")], [("document", "222", "application/pdf")],
        [("audio", "333", "audio/ogg")], [],
    ]  # fmt: skip
