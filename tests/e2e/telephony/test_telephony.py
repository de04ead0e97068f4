"""Issue 14 end to end through the gateway: the sandbox provider plays signed Zadarma and Twilio calls to
`/webhooks/telephony/<provider>`; call cards; an unknown caller becomes a lead with the tracking number's
source; a missed call becomes a call-back activity; forged and duplicate deliveries; a second clinic."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, new_clinic, wait_until

pytestmark = pytest.mark.e2e
CALLS = "/api/v1/telephony/calls"


def connect(api: Api, provider: str) -> tuple[str, str]:
    """Connect a provider with a fresh secret; returns (clinic id, secret)."""
    secret = uuid.uuid4().hex
    answer = api.http.put(f"/api/v1/telephony/providers/{provider}", json={"secret": secret})
    assert answer.status_code == 200, answer.text
    url = urlparse(answer.json()["webhook_url"])
    assert url.path == f"/webhooks/telephony/{provider}"
    return parse_qs(url.query)["clinic"][0], secret


def tracking_number(api: Api, source: str) -> str:
    number = f"+55113{random.randint(1_000_000, 9_999_999)}"
    answer = api.http.post("/api/v1/telephony/tracking-numbers", json={"number": number, "source": source})
    assert answer.status_code == 201, answer.text
    return number


def play(stack: Stack, **call: Any) -> dict[str, Any]:
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        answer = sandbox.post("/sandbox/telephony/calls", json=call)
    assert answer.status_code == 200, answer.text
    played: dict[str, Any] = answer.json()
    assert set(played["statuses"]) == {200}, played
    return played


def calls_of(api: Api, caller: str) -> list[dict[str, Any]]:
    answer = api.http.get(CALLS, params={"caller": caller})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def lead_with(api: Api, phone: str) -> dict[str, Any] | None:
    items = api.http.get("/api/v1/leads", params={"q": phone}).json()["items"]
    return items[0] if items else None


def test_a_missed_call_from_an_unknown_number_makes_a_lead_and_a_call_back(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    clinic, secret = connect(admin, "zadarma")
    number = tracking_number(admin, "google_search")
    caller = unique_phone()
    # Every event twice and last-to-first: the record and its events come out as if sent once, in order.
    played = play(
        stack,
        provider="zadarma",
        clinic_id=clinic,
        secret=secret,
        caller=caller,
        tracking_number=number,
        outcome="missed",
        duplicate=True,
        reverse=True,
    )
    assert [a["outcome"] for a in played["answers"]].count("duplicate") == 2
    [call] = calls_of(admin, caller)
    assert call["disposition"] == "missed"
    assert call["missed"] is True
    assert call["source"] == "google_search"
    assert call["tracking_number"] == number
    card = admin.http.get(f"{CALLS}/{call['id']}").json()
    assert card["new_caller"] is True

    lead = wait_until(lambda: lead_with(admin, caller), 30, "leads made no lead for the unknown caller")
    assert lead["source"] == "google_search"
    full = admin.http.get(f"/api/v1/leads/{lead['id']}").json()
    assert full["channel"] == "call"
    assert full["attribution"] == {"tracking_number": number}

    def call_backs() -> list[dict[str, Any]]:
        items = admin.http.get(f"/api/v1/leads/{lead['id']}/activities").json()["items"]
        return [a for a in items if a["type"] == "call"]

    [activity] = wait_until(call_backs, 30, "no call-back activity for the missed call")
    assert caller in activity["title"]
    # telephony's read model learns the new lead: the card now names it.
    wait_until(lambda: admin.http.get(f"{CALLS}/{call['id']}").json()["contact"], 30, "the card never matched the lead")


def test_an_answered_call_from_a_known_lead_shows_the_contact_and_keeps_the_recording(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    clinic, secret = connect(admin, "zadarma")
    number = tracking_number(admin, "instagram")
    phone = unique_phone()
    lead = admin.create_lead(name="Paula Reis", phone=phone, source="whatsapp")
    played = play(stack, provider="zadarma", clinic_id=clinic, secret=secret, caller=phone, tracking_number=number)
    call_id = played["answers"][0]["call_ids"][0]

    def card() -> dict[str, Any] | None:
        body: dict[str, Any] = admin.http.get(f"{CALLS}/{call_id}").json()
        return body if body["contact"] else None

    shown = wait_until(card, 30, "the card never showed the known lead")
    assert shown["contact"] == {"lead_id": lead["id"], "name": "Paula Reis"}
    assert shown["call"]["disposition"] == "answered"
    assert shown["call"]["talk_seconds"] == 42
    assert shown["call"]["recording_ref"]


def test_twilio_calls_in_sequence_order(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    clinic, secret = connect(admin, "twilio")
    number = tracking_number(admin, "facebook")
    caller = unique_phone()
    play(
        stack,
        provider="twilio",
        clinic_id=clinic,
        secret=secret,
        caller=caller,
        tracking_number=number,
        outcome="busy",
        reverse=True,
    )
    [call] = calls_of(admin, caller)
    assert call["disposition"] == "busy"
    assert call["provider"] == "twilio"
    assert call["source"] == "facebook"


def test_forged_deliveries_are_401_and_store_nothing_and_a_second_clinic_sees_nothing(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    clinic, _ = connect(admin, "zadarma")
    caller = unique_phone()
    fields = {
        "event": "NOTIFY_START",
        "call_start": "2026-12-01 12:00:00",
        "pbx_call_id": f"in_{uuid.uuid4().hex[:12]}",
        "caller_id": caller,
        "called_did": "+551130000001",
    }
    with httpx.Client(base_url=stack.gateway_url, timeout=20.0) as public:
        forged = public.post(
            f"/webhooks/telephony/zadarma?clinic={clinic}",
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded", "Signature": "Zm9yZ2Vk"},
        )
        assert forged.status_code == 401, forged.text
        assert forged.headers["content-type"].startswith("application/problem+json")
        unknown = public.post(f"/webhooks/telephony/nokia?clinic={clinic}", content=b"a=1")
        assert unknown.status_code == 404
    assert calls_of(admin, caller) == []

    other = new_clinic(stack, admin, "Clínica Telefone")
    assert other.http.get(CALLS).json()["total"] == 0
    assert other.http.get("/api/v1/telephony/tracking-numbers").json()["items"] == []
    mine = admin.http.get(CALLS).json()["items"]
    if mine:
        assert other.http.get(f"{CALLS}/{mine[0]['id']}").status_code == 404
    # The first clinic's secret does not open the second clinic's ingress (connected with its own secret).
    other_id = parse_qs(
        urlparse(
            other.http.put("/api/v1/telephony/providers/zadarma", json={"secret": "another-secret"}).json()[
                "webhook_url"
            ]
        ).query
    )["clinic"][0]
    _, first_secret = connect(admin, "zadarma")
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        refused = sandbox.post(
            "/sandbox/telephony/calls",
            json={
                "provider": "zadarma",
                "clinic_id": other_id,
                "secret": first_secret,
                "caller": caller,
                "tracking_number": "+551130000001",
                "outcome": "missed",
            },
        ).json()
    assert set(refused["statuses"]) == {401}
    assert other.http.get(CALLS).json()["total"] == 0


def test_the_console_stream_shows_an_incoming_call_at_once(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    clinic, secret = connect(admin, "twilio")
    number = tracking_number(admin, "tiktok")
    caller = unique_phone()
    cards: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=stack.gateway_url, timeout=httpx.Timeout(30, read=30)) as client,
            client.stream(
                "GET",
                f"{CALLS}/stream",
                headers={"authorization": admin.http.headers["authorization"], "accept": "text/event-stream"},
            ) as answer,
        ):
            assert answer.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in answer.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    if event == "ready":
                        ready.set()
                    elif event == "call":
                        cards.append(json.loads(line[5:].strip()))
                        if cards[-1]["caller"] == caller:
                            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(15), "the stream never opened"
    play(stack, provider="twilio", clinic_id=clinic, secret=secret, caller=caller, tracking_number=number)
    card = wait_until(lambda: next((c for c in cards if c["caller"] == caller), None), 15, "no card on the stream")
    assert card["source"] == "tiktok"
    assert card["new_caller"] is True
    assert card["tracking_number"] == number
