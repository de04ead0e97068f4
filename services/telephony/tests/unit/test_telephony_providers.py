"""Each provider's signature scheme and event mapping, signed the way the provider signs; no IO."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from kit.webhooks import MalformedWebhook, SignatureInvalid
from telephony.domain import ANSWERED, ENDED, OUTBOUND, RECORDED, STARTED, fold
from telephony.providers import (
    Account,
    Inbound,
    Mango,
    Twilio,
    Zadarma,
    mango_sign,
    twilio_signature,
    zadarma_signature,
    zadarma_signed_string,
)

NOW = datetime(2026, 12, 1, 18, 3, tzinfo=UTC)
URL = "https://clinic.example/webhooks/telephony/twilio?clinic=t1"


def account(provider: str, secret: str = "s3cret", api_key: str = "") -> Account:
    return Account(tenant_id="t1", provider=provider, secret=secret, api_key=api_key)


def zadarma(fields: dict[str, str], secret: str = "s3cret") -> Inbound:
    body = urlencode(fields).encode()
    sig = zadarma_signature(secret, zadarma_signed_string(fields))
    return Inbound(body=body, headers={"signature": sig}, url="", received_at=NOW)


ZSTART = {
    "event": "NOTIFY_START",
    "call_start": "2026-12-01 15:00:00",
    "pbx_call_id": "in_abc",
    "caller_id": "5511987654321",
    "called_did": "551130000001",
}


def test_zadarma_signature_is_base64_of_the_hex_hmac_sha1() -> None:
    # The documented example: base64(hex(hmac_sha1)), not base64 of the raw digest.
    sig = zadarma_signature("key", "abc")
    import base64

    assert base64.b64decode(sig).decode().isalnum()
    assert len(base64.b64decode(sig)) == 40


def test_zadarma_call_maps_onto_the_record_in_local_time() -> None:
    z, acc = Zadarma(), account("zadarma")
    start = zadarma(ZSTART)
    z.verify(acc, start)
    answer = zadarma(
        {
            "event": "NOTIFY_ANSWER",
            "call_start": ZSTART["call_start"],
            "pbx_call_id": "in_abc",
            "caller_id": ZSTART["caller_id"],
            "destination": "100",
        }
    )
    end = zadarma(
        {
            **ZSTART,
            "event": "NOTIFY_END",
            "duration": "170",
            "disposition": "answered",
            "status_code": "16",
            "is_recorded": "1",
            "call_id_with_rec": "1701443000.123",
        }
    )
    for r in (answer, end):
        z.verify(acc, r)
    events = [e for r in (end, start, answer) for e in z.parse(acc, r)]
    assert [e.stage for e in events] == [ENDED, STARTED, ANSWERED]
    record = fold(events)
    assert record.caller == "+5511987654321"
    assert record.tracking_number == "+551130000001"
    assert record.started_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # São Paulo is UTC-3
    assert record.disposition == "answered"
    assert record.talk_seconds == 170
    assert record.recording_ref == "1701443000.123"


@pytest.mark.parametrize(("given", "expected"), [("no answer", "missed"), ("cancel", "missed"), ("busy", "busy")])
def test_zadarma_dispositions(given: str, expected: str) -> None:
    end = zadarma({**ZSTART, "event": "NOTIFY_END", "duration": "0", "disposition": given})
    [event] = Zadarma().parse(account("zadarma"), end)
    assert event.disposition == expected
    assert event.talk_seconds == 0


def test_zadarma_outbound_and_record_events() -> None:
    out = zadarma(
        {
            "event": "NOTIFY_OUT_START",
            "call_start": ZSTART["call_start"],
            "pbx_call_id": "out_1",
            "internal": "100",
            "destination": "5511912345678",
        }
    )
    Zadarma().verify(account("zadarma"), out)
    [event] = Zadarma().parse(account("zadarma"), out)
    assert event.direction == OUTBOUND
    assert event.caller == "+5511912345678"
    rec = zadarma({"event": "NOTIFY_RECORD", "pbx_call_id": "in_abc", "call_id_with_rec": "r1"})
    Zadarma().verify(account("zadarma"), rec)
    assert Zadarma().parse(account("zadarma"), rec)[0].stage == RECORDED


def test_zadarma_refuses_a_wrong_secret_a_tampered_body_and_no_signature() -> None:
    z, acc = Zadarma(), account("zadarma")
    with pytest.raises(SignatureInvalid):
        z.verify(acc, zadarma(ZSTART, secret="other"))
    good = zadarma(ZSTART)
    tampered = Inbound(
        body=good.body.replace(b"5511987654321", b"5511900000000"), headers=good.headers, url="", received_at=NOW
    )
    with pytest.raises(SignatureInvalid):
        z.verify(acc, tampered)
    with pytest.raises(SignatureInvalid):
        z.verify(acc, Inbound(body=good.body, headers={}, url="", received_at=NOW))
    with pytest.raises(MalformedWebhook):
        z.verify(acc, zadarma({"event": "NOTIFY_WHATEVER", "pbx_call_id": "x"}))


def twilio(fields: dict[str, str], token: str = "s3cret", url: str = URL) -> Inbound:
    return Inbound(
        body=urlencode(fields).encode(),
        headers={"x-twilio-signature": twilio_signature(token, url, fields)},
        url=URL,
        received_at=NOW,
    )


def tw(event: str, status: str, seq: int, **kw: str) -> dict[str, str]:
    return {
        "CallSid": "CA9",
        "AccountSid": "AC1",
        "From": "+5511987654321",
        "To": "+551130000001",
        "Direction": "inbound",
        "StatusCallbackEvent": event,
        "CallStatus": status,
        "SequenceNumber": str(seq),
        "Timestamp": f"Tue, 01 Dec 2026 18:00:0{seq} +0000",
        **kw,
    }


def test_twilio_status_callbacks_map_onto_a_missed_call_in_sequence_order() -> None:
    t, acc = Twilio(), account("twilio")
    deliveries = [
        twilio(tw("completed", "no-answer", 2, CallDuration="0")),
        twilio(tw("initiated", "ringing", 0)),
        twilio(tw("ringing", "ringing", 1)),
    ]
    for d in deliveries:
        t.verify(acc, d)
    record = fold([e for d in deliveries for e in t.parse(acc, d)])
    assert record.missed
    assert record.disposition == "missed"
    assert record.started_at == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert record.last_seq == 2


def test_twilio_answered_call_with_duration() -> None:
    t, acc = Twilio(), account("twilio")
    events = [
        e
        for d in (
            tw("initiated", "ringing", 0),
            tw("answered", "in-progress", 1),
            tw("completed", "completed", 2, CallDuration="42"),
        )
        for e in t.parse(acc, twilio(d))
    ]
    record = fold(events)
    assert record.disposition == "answered"
    assert record.talk_seconds == 42
    assert [e.stage for e in events] == [STARTED, ANSWERED, ENDED]


def test_twilio_refuses_a_wrong_token_another_url_and_a_tampered_body() -> None:
    t, acc = Twilio(), account("twilio")
    with pytest.raises(SignatureInvalid):
        t.verify(acc, twilio(tw("initiated", "ringing", 0), token="other"))
    with pytest.raises(SignatureInvalid):
        t.verify(acc, twilio(tw("initiated", "ringing", 0), url="https://evil.example/x"))
    good = twilio(tw("initiated", "ringing", 0))
    with pytest.raises(SignatureInvalid):
        t.verify(acc, Inbound(body=good.body + b"&From=%2B1", headers=good.headers, url=URL, received_at=NOW))


def mango(data: dict[str, object], api_key: str = "key1", salt: str = "s3cret") -> Inbound:
    payload = json.dumps(data)
    fields = {"vpbx_api_key": api_key, "sign": mango_sign(api_key, payload, salt), "json": payload}
    return Inbound(body=urlencode(fields).encode(), headers={}, url="", received_at=NOW)


def mg(seq: int, state: str) -> dict[str, object]:
    return {
        "entry_id": "E1",
        "call_id": "C1",
        "timestamp": 1796148000 + seq,
        "seq": seq,
        "call_state": state,
        "location": "abonent",
        "from": {"number": "5511987654321"},
        "to": {"number": "100", "line_number": "551130000001"},
    }


def test_mango_events_fold_by_seq_and_a_connected_call_is_answered() -> None:
    m, acc = Mango(), account("mango", api_key="key1")
    deliveries = [mango(mg(3, "Disconnected")), mango(mg(1, "Appeared")), mango(mg(2, "Connected"))]
    for d in deliveries:
        m.verify(acc, d)
    record = fold([e for d in deliveries for e in m.parse(acc, d)])
    assert record.disposition == "answered"
    assert record.tracking_number == "+551130000001"
    assert record.caller == "+5511987654321"
    assert record.talk_seconds == 1
    missed = fold([e for d in (mg(1, "Appeared"), mg(2, "Disconnected")) for e in m.parse(acc, mango(d))])
    assert missed.missed


def test_mango_refuses_a_wrong_salt_another_api_key_and_a_tampered_json() -> None:
    m, acc = Mango(), account("mango", api_key="key1")
    with pytest.raises(SignatureInvalid):
        m.verify(acc, mango(mg(1, "Appeared"), salt="other"))
    with pytest.raises(SignatureInvalid):
        m.verify(acc, mango(mg(1, "Appeared"), api_key="key2"))
    good = mango(mg(1, "Appeared"))
    with pytest.raises(SignatureInvalid):
        m.verify(acc, Inbound(body=good.body.replace(b"Appeared", b"Connected"), headers={}, url="", received_at=NOW))
    with pytest.raises(MalformedWebhook):
        m.parse(acc, mango({"call_state": "Appeared"}))
