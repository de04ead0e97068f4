"""Telfin, Asterisk (AMI Cdr through a forwarder) and Bitrix24-style external calls: each one's scheme, its
mapping onto the call record and its event orders (duplicates, out of order, transfers); no IO."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import permutations
from urllib.parse import urlencode

import pytest

from kit.webhooks import MalformedWebhook, SignatureInvalid
from telephony.domain import (
    COMPLETED,
    DISP_ANSWERED,
    DISP_BUSY,
    DISP_FAILED,
    DISP_MISSED,
    INBOUND,
    OUTBOUND,
    fold,
)
from telephony.providers import (
    ADAPTERS,
    Account,
    Asterisk,
    Bitrix24,
    Inbound,
    Telfin,
    asterisk_signature,
    bitrix_call_id,
)

NOW = datetime(2026, 12, 1, 18, 3, tzinfo=UTC)
T = "0b7c5f0e-1d1a-4bb8-9a49-7d3d3b0f0a01"


def account(provider: str, secret: str = "s3cret-token") -> Account:
    return Account(tenant_id=T, provider=provider, secret=secret, timezone="America/Sao_Paulo")


# --- Telfin -------------------------------------------------------------------------------------
def telfin(fields: dict[str, str], token: str = "s3cret-token") -> Inbound:
    url = f"https://clinic.example/webhooks/telephony/telfin?clinic={T}&" + urlencode({"token": token})
    return Inbound(urlencode(fields).encode(), {"content-type": "application/x-www-form-urlencoded"}, url, NOW)


def telfin_call(status: str, *, duration: str = "65") -> list[dict[str, str]]:
    base = {"CallID": "tf-1", "CallerIDNum": "11987654321", "CalledDID": "551130000001", "CallFlow": "in"}
    events = [{**base, "EventType": "dial-in", "SubCallID": "s1", "EventTime": "1796148000000000"}]
    if status == "ANSWER":
        events.append({**base, "EventType": "answer", "SubCallID": "s1", "EventTime": "1796148005000000"})
    events.append(
        {
            **base,
            "EventType": "hangup",
            "SubCallID": "s1",
            "EventTime": "1796148070000000",
            "CallStatus": status,
            "Duration": duration,
            "RecID": "rec-tf-1" if status == "ANSWER" else "",
        }
    )
    return events


def test_telfin_checks_the_token_in_the_url() -> None:
    t, acc = Telfin(), account("telfin")
    t.verify(acc, telfin(telfin_call("ANSWER")[0]))
    with pytest.raises(SignatureInvalid) as wrong:
        t.verify(acc, telfin(telfin_call("ANSWER")[0], token="guess"))
    assert wrong.value.field == "token"
    no_token = Inbound(b"EventType=dial-in&CallID=x", {}, f"https://x/webhooks/telephony/telfin?clinic={T}", NOW)
    with pytest.raises(SignatureInvalid):
        t.verify(acc, no_token)


@pytest.mark.parametrize(
    ("status", "disposition", "talk"),
    [("ANSWER", DISP_ANSWERED, 65), ("NOANSWER", DISP_MISSED, 0), ("CANCEL", DISP_MISSED, 0), ("BUSY", DISP_BUSY, 0),
     ("CHANUNAVAIL", DISP_FAILED, 0)],
)  # fmt: skip
def test_telfin_call_maps_onto_the_record_in_any_order(status: str, disposition: str, talk: int) -> None:
    t, acc = Telfin(), account("telfin")
    deliveries = [telfin(f) for f in telfin_call(status)]
    records = set()
    for order in permutations(deliveries):
        events = [e for d in order for e in t.parse(acc, d)]
        records.add(fold(events + events))  # and each twice
    [record] = records
    assert record.caller == "+5511987654321"
    assert record.tracking_number == "+551130000001"
    assert record.direction == INBOUND
    assert record.disposition == disposition
    assert record.talk_seconds == talk
    assert record.started_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # EventTime is Unix microseconds
    assert record.ended_at == datetime(2026, 12, 1, 18, 1, 10, tzinfo=UTC)
    assert record.recording_ref == ("rec-tf-1" if status == "ANSWER" else None)
    assert record.missed == (disposition != DISP_ANSWERED)


def test_telfin_transfer_keeps_one_call_and_an_api_call_is_named_by_its_call_api_id() -> None:
    t, acc = Telfin(), account("telfin")
    first, *rest = telfin_call("ANSWER")
    transferred = {**first, "SubCallID": "s2", "CalledExtension": "102"}  # the second leg, same CallID
    events = [e for f in (first, transferred, *rest) for e in t.parse(acc, telfin(f))]
    assert {e.provider_call_id for e in events} == {"tf-1"}
    assert len({e.event_id for e in events}) == len(events)
    assert fold(events).disposition == DISP_ANSWERED

    out = t.parse(
        acc,
        telfin(
            {
                "EventType": "dial-out",
                "CallID": "tf-9",
                "CallAPIID": "api-77",
                "CallerIDNum": "551130000001",
                "CalledNumber": "11987654321",
            }
        ),
    )
    assert out[0].provider_call_id == "api-77"
    assert out[0].direction == OUTBOUND
    assert out[0].caller == "+5511987654321"
    assert out[0].tracking_number == "+551130000001"


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"CallID": "x"}, "EventType"), ({"EventType": "dial-in"}, "CallID"), ({"EventType": "ring", "CallID": "x"},
     "EventType"), ({"EventType": "dial-in", "CallID": "x", "EventTime": "soon"}, "EventTime")],
)  # fmt: skip
def test_telfin_malformed_bodies_name_the_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(MalformedWebhook) as bad:
        Telfin().parse(account("telfin"), telfin(fields))
    assert bad.value.field == field


# --- Asterisk -----------------------------------------------------------------------------------
def cdr(**over: str) -> dict[str, str]:
    base = {
        "Event": "Cdr",
        "UniqueID": "1764612000.42",
        "LinkedID": "1764612000.42",
        "Source": "11987654321",
        "Destination": "1130000001",
        "DestinationContext": "from-pstn",
        "CallerIDNum": "11987654321",
        "StartTime": "2026-12-01 15:00:00",
        "AnswerTime": "2026-12-01 15:00:07",
        "EndTime": "2026-12-01 15:02:07",
        "Duration": "127",
        "BillableSeconds": "120",
        "Disposition": "ANSWERED",
        "UserField": "rec/1764612000.42.wav",
    }
    return base | over


def asterisk(fields: dict[str, str], secret: str = "s3cret-token", *, body: bytes | None = None) -> Inbound:
    raw = body if body is not None else json.dumps(fields).encode()
    return Inbound(raw, {"x-asterisk-signature": asterisk_signature(secret, raw)}, "", NOW)


def test_asterisk_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    a, acc = Asterisk(), account("asterisk")
    signed = asterisk(cdr())
    a.verify(acc, signed)
    assert signed.headers["x-asterisk-signature"].startswith("sha256=")
    assert len(signed.headers["x-asterisk-signature"]) == 7 + 64
    tampered = Inbound(signed.body.replace(b"ANSWERED", b"BUSY"), signed.headers, "", NOW)
    for forged in (asterisk(cdr(), secret="other"), tampered, Inbound(signed.body, {}, "", NOW)):
        with pytest.raises(SignatureInvalid):
            a.verify(acc, forged)


def test_an_answered_cdr_is_the_whole_call_in_the_pbx_clock() -> None:
    events = Asterisk().parse(account("asterisk"), asterisk(cdr()))
    assert [e.stage for e in events] == ["started", "answered", "ended"]
    record = fold(reversed(events))
    assert record.state == COMPLETED
    assert record.caller == "+5511987654321"
    assert record.tracking_number == "+551130000001"
    assert record.started_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # São Paulo is UTC-3
    assert record.answered_at == datetime(2026, 12, 1, 18, 0, 7, tzinfo=UTC)
    assert (record.talk_seconds, record.duration_seconds) == (120, 127)
    assert record.recording_ref == "rec/1764612000.42.wav"


@pytest.mark.parametrize(
    ("disposition", "expected"), [("NO ANSWER", DISP_MISSED), ("BUSY", DISP_BUSY), ("FAILED", DISP_FAILED)]
)
def test_an_unanswered_cdr_is_a_missed_call_without_recording(disposition: str, expected: str) -> None:
    events = Asterisk().parse(
        account("asterisk"), asterisk(cdr(Disposition=disposition, AnswerTime="", BillableSeconds="0"))
    )
    assert [e.stage for e in events] == ["started", "ended"]
    record = fold(events)
    assert record.disposition == expected
    assert record.missed
    assert record.talk_seconds == 0
    assert record.recording_ref is None


def test_asterisk_legs_of_one_call_fold_into_one_record_and_outbound_is_from_an_extension() -> None:
    a, acc = Asterisk(), account("asterisk")
    ringing = cdr(UniqueID="1764612000.43", Disposition="NO ANSWER", AnswerTime="", BillableSeconds="0")
    answered = cdr(UniqueID="1764612000.44")
    events = [e for leg in (answered, ringing) for e in a.parse(acc, asterisk(leg))]
    assert {e.provider_call_id for e in events} == {"1764612000.42"}
    record = fold(events)
    assert record.answered_at is not None

    out = a.parse(
        acc,
        asterisk(
            cdr(Source="101", Destination="011987654321", DestinationContext="from-internal", CallerIDNum="1130000001")
        ),
    )
    assert out[0].direction == OUTBOUND
    assert out[0].caller == "+5511987654321"
    assert out[0].tracking_number == "+551130000001"
    assert not fold(out).missed


def test_asterisk_other_ami_events_are_ignored_and_bad_bodies_named() -> None:
    a, acc = Asterisk(), account("asterisk")
    assert a.parse(acc, asterisk({"Event": "Newchannel", "UniqueID": "1"})) == []
    for fields, field in ((cdr(StartTime="yesterday"), "StartTime"), ({"Event": "Cdr", "StartTime": "x"}, "UniqueID")):
        with pytest.raises(MalformedWebhook) as bad:
            a.parse(acc, asterisk(fields))
        assert bad.value.field == field
    with pytest.raises(MalformedWebhook):
        a.parse(acc, asterisk({}, body=b"Event: Cdr\r\n"))


# --- Bitrix24 -----------------------------------------------------------------------------------
def bitrix(method: str, fields: dict[str, str], *, as_json: bool = False) -> Inbound:
    url = f"https://clinic.example/webhooks/telephony/bitrix24/{T}/{method}.json"
    if as_json:
        return Inbound(json.dumps(fields).encode(), {"content-type": "application/json"}, url, NOW)
    return Inbound(urlencode(fields).encode(), {"content-type": "application/x-www-form-urlencoded"}, url, NOW)


REGISTER = {
    "auth": "s3cret-token",
    "USER_PHONE_INNER": "101",
    "PHONE_NUMBER": "+55 11 98765-4321",
    "TYPE": "2",
    "CALL_START_DATE": "2026-12-01T15:00:00-03:00",
    "LINE_NUMBER": "551130000001",
}


def test_bitrix24_checks_the_auth_token_in_the_body_or_the_query() -> None:
    b, acc = Bitrix24(), account("bitrix24")
    b.verify(acc, bitrix("telephony.externalcall.register", REGISTER))
    b.verify(acc, bitrix("telephony.externalcall.register", REGISTER, as_json=True))
    in_query = Inbound(
        urlencode({k: v for k, v in REGISTER.items() if k != "auth"}).encode(),
        {},
        f"https://x/webhooks/telephony/bitrix24/{T}/telephony.externalcall.register.json?auth=s3cret-token",
        NOW,
    )
    b.verify(acc, in_query)
    for forged in ({**REGISTER, "auth": "nope"}, {k: v for k, v in REGISTER.items() if k != "auth"}):
        with pytest.raises(SignatureInvalid) as bad:
            b.verify(acc, bitrix("telephony.externalcall.register", forged))
        assert bad.value.field == "auth"


@pytest.mark.parametrize(
    ("status", "disposition"), [("200", DISP_ANSWERED), ("304", DISP_MISSED), ("603", DISP_MISSED), ("486", DISP_BUSY),
                                ("500", DISP_FAILED)],
)  # fmt: skip
def test_bitrix24_register_then_finish_maps_onto_the_record_in_either_order(status: str, disposition: str) -> None:
    b, acc = Bitrix24(), account("bitrix24")
    [started] = b.parse(acc, bitrix("telephony.externalcall.register", REGISTER))
    call_id = started.provider_call_id
    assert call_id == bitrix_call_id(T, bitrix("telephony.externalcall.register", REGISTER).body)
    [ended] = b.parse(
        acc,
        bitrix(
            "telephony.externalcall.finish",
            {
                "auth": "s3cret-token",
                "CALL_ID": call_id,
                "DURATION": "95",
                "STATUS_CODE": status,
                "RECORD_URL": "https://pbx.example/rec/1.mp3",
            },
            as_json=True,
        ),
    )
    assert fold([ended, started]) == fold([started, ended, started])
    record = fold([ended, started])
    assert record.caller == "+5511987654321"
    assert record.tracking_number == "+551130000001"
    assert record.direction == INBOUND
    assert record.started_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert record.disposition == disposition
    assert record.talk_seconds == (95 if disposition == DISP_ANSWERED else 0)
    assert record.recording_ref == ("https://pbx.example/rec/1.mp3" if disposition == DISP_ANSWERED else None)


def test_bitrix24_register_is_repeatable_and_outbound_types() -> None:
    b, acc = Bitrix24(), account("bitrix24")
    once = b.parse(acc, bitrix("telephony.externalcall.register", REGISTER))
    again = b.parse(acc, bitrix("telephony.externalcall.register", REGISTER))
    assert once == again  # a retried register is the same call (same CALL_ID, same receipt)
    out = b.parse(acc, bitrix("telephony.externalcall.register", {**REGISTER, "TYPE": "1"}))
    assert out[0].direction == OUTBOUND
    assert out[0].provider_call_id != once[0].provider_call_id


@pytest.mark.parametrize(
    ("method", "fields", "field"),
    [("telephony.externalcall.register", {"TYPE": "2"}, "PHONE_NUMBER"),
     ("telephony.externalcall.register", {**REGISTER, "TYPE": "9"}, "TYPE"),
     ("telephony.externalcall.register", {**REGISTER, "CALL_START_DATE": "today"}, "CALL_START_DATE"),
     ("telephony.externalcall.finish", {"DURATION": "5"}, "CALL_ID"),
     ("telephony.externalcall.finish", {"CALL_ID": "x", "DURATION": "-5"}, "DURATION"),
     ("crm.lead.add", REGISTER, "method")],
)  # fmt: skip
def test_bitrix24_malformed_requests_name_the_field(method: str, fields: dict[str, str], field: str) -> None:
    with pytest.raises(MalformedWebhook) as bad:
        Bitrix24().parse(account("bitrix24"), bitrix(method, fields))
    assert bad.value.field == field


def test_every_provider_is_registered() -> None:
    assert set(ADAPTERS) == {"zadarma", "twilio", "mango", "telfin", "asterisk", "bitrix24"}
