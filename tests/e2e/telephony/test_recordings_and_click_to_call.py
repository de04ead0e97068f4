"""Issue 14 end to end, recordings and click-to-call: the sandbox PBX plays an answered Asterisk call (its
forwarder's signed Cdr) from a known patient -> the call card names the patient -> the worker fetches the
recording from the PBX's ARI into the object store -> it plays through the signed, expiring link at the
gateway's public ingress, audited; a second clinic reaches none of it. Staff start a call through Twilio's
call API from the console API; the sandbox rings and plays the call back; its recording is fetched too."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, new_clinic, wait_until

pytestmark = pytest.mark.e2e
CALLS = "/api/v1/telephony/calls"
RECORDINGS = "/api/v1/telephony/recordings"


def tracking_number(api: Api, source: str) -> str:
    number = f"+55113{random.randint(1_000_000, 9_999_999)}"
    answer = api.http.post("/api/v1/telephony/tracking-numbers", json={"number": number, "source": source})
    assert answer.status_code == 201, answer.text
    return number


def stored_recording(api: Api, call_id: str) -> dict[str, Any]:
    def stored() -> dict[str, Any] | None:
        card: dict[str, Any] = api.http.get(f"{CALLS}/{call_id}").json()
        rec = card.get("recording")
        return card if rec and rec["state"] == "stored" else None

    card: dict[str, Any] = wait_until(stored, 45, "the worker never stored the call's recording")
    return card


def test_an_answered_call_from_a_known_patient_shows_the_patient_and_its_recording_plays(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    key, ari = uuid.uuid4().hex, f"clinicflow:{uuid.uuid4().hex[:12]}"
    connected = admin.http.put(
        "/api/v1/telephony/providers/asterisk", json={"secret": key, "api_key": ari, "api_url": stack.url("sandbox")}
    )
    assert connected.status_code == 200, connected.text
    webhook_url = connected.json()["webhook_url"]
    clinic = parse_qs(urlparse(webhook_url).query)["clinic"][0]
    number = tracking_number(admin, "google_search")
    phone = unique_phone()
    patient = admin.create_lead(name="Beatriz Nogueira", phone=phone, source="whatsapp")
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        # The PBX's forwarder is configured with the URL and key telephony gave (the clinic's side).
        line = {"provider": "asterisk", "api_key": ari, "webhook_url": webhook_url, "secret": key}
        assert sandbox.put("/sandbox/telephony/lines", json=line).status_code == 200
        played = sandbox.post(
            "/sandbox/telephony/calls",
            json={"provider": "asterisk", "clinic_id": clinic, "secret": key, "caller": phone,
                  "tracking_number": number, "outcome": "answered", "duplicate": True},
        )  # fmt: skip
    assert played.status_code == 200, played.text
    assert played.json()["statuses"] == [200, 200]
    assert [a["outcome"] for a in played.json()["answers"]] == ["applied", "duplicate"]
    call_id = played.json()["answers"][0]["call_ids"][0]

    def with_patient() -> dict[str, Any] | None:
        body: dict[str, Any] = admin.http.get(f"{CALLS}/{call_id}").json()
        return body if body["contact"] else None

    card = wait_until(with_patient, 30, "the card never showed the known patient")
    assert card["contact"] == {"lead_id": patient["id"], "name": "Beatriz Nogueira"}
    assert card["call"]["disposition"] == "answered"
    assert card["call"]["source"] == "google_search"

    recording = stored_recording(admin, call_id)["recording"]
    assert recording["content_type"] == "audio/wav"
    link = admin.http.get(f"{RECORDINGS}/{recording['id']}/link")
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert url.startswith(f"{stack.gateway_url}/public/telephony/recordings/{recording['id']}?token=")
    with httpx.Client(timeout=20.0) as anyone:  # no staff token: the link is the credential
        audio = anyone.get(url)
        assert audio.status_code == 200, audio.text
        assert audio.headers["content-type"].startswith("audio/wav")
        assert audio.content[:4] == b"RIFF"
        assert len(audio.content) == recording["size"]
        assert "no-store" in audio.headers["cache-control"]
        tampered = anyone.get(url[:-3] + "xyz")
        assert tampered.status_code == 403
        assert tampered.headers["content-type"].startswith("application/problem+json")
        bare = anyone.get(f"{stack.gateway_url}/public/telephony/recordings/{recording['id']}")
        assert bare.status_code in (400, 422)

    access = admin.http.get(f"{RECORDINGS}/access", params={"recording_id": recording["id"]}).json()
    assert [a["action"] for a in access["items"]] == ["play", "link"]

    other = new_clinic(stack, admin, "Clínica Gravações")
    assert other.http.get(f"{RECORDINGS}/{recording['id']}/link").status_code == 404
    assert other.http.get(f"{CALLS}/{call_id}").status_code == 404
    assert other.http.get(f"{RECORDINGS}/access").json()["total"] == 0
    assert other.http.put(f"{RECORDINGS}/retention", json={"days": 0}).status_code in (400, 422)
    assert other.http.put(f"{RECORDINGS}/retention", json={"days": 30}).json() == {
        "days": 30, "custom": True, "hold_on_erasure_days": 0
    }  # fmt: skip
    assert admin.http.get(f"{RECORDINGS}/retention").json() == {"days": 365, "custom": False, "hold_on_erasure_days": 0}


def test_click_to_call_rings_through_twilio_and_the_call_comes_back_recorded(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    token, sid = uuid.uuid4().hex, "AC" + uuid.uuid4().hex
    connected = admin.http.put("/api/v1/telephony/providers/twilio", json={"secret": token, "api_key": sid})
    assert connected.status_code == 200, connected.text
    number = tracking_number(admin, "website")
    phone = unique_phone()

    no_api = admin.http.put("/api/v1/telephony/providers/zadarma", json={"secret": uuid.uuid4().hex})
    assert no_api.status_code == 200
    refused = admin.http.post(CALLS, json={"provider": "zadarma", "extension": "101", "to": phone})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "provider", "message": refused.json()["detail"]}]

    started = admin.http.post(CALLS, json={"provider": "twilio", "extension": "sip:101@clinic", "to": phone,
                                           "line": number})  # fmt: skip
    assert started.status_code == 201, started.text
    dialled = started.json()
    assert dialled["provider_call_id"].startswith("CA")
    with httpx.Client(base_url=stack.url("sandbox"), timeout=10.0) as sandbox:
        dials = sandbox.get("/sandbox/telephony/dials").json()
    assert any(d.get("sid") == dialled["provider_call_id"] and d["to"] == phone for d in dials)

    def completed() -> dict[str, Any] | None:
        card: dict[str, Any] = admin.http.get(f"{CALLS}/{dialled['call_id']}").json()
        return card if card["call"]["state"] == "completed" else None

    card = wait_until(completed, 30, "the call never came back from the sandbox's Twilio")
    assert card["call"]["direction"] == "outbound"
    assert card["call"]["caller"] == phone
    assert card["call"]["tracking_number"] == number
    assert card["call"]["disposition"] == "answered"
    assert card["call"]["missed"] is False
    recording = stored_recording(admin, dialled["call_id"])["recording"]
    url = admin.http.get(f"{RECORDINGS}/{recording['id']}/link").json()["url"]
    with httpx.Client(timeout=20.0) as anyone:
        assert anyone.get(url).content[:4] == b"RIFF"


@pytest.mark.parametrize("provider", ["zadarma", "mango", "bitrix24"])
def test_zadarma_mango_and_bitrix24_recordings_are_fetched_from_the_provider_and_play(
    stack: Stack, admin: Api, unique_phone: Callable[[], str], provider: str
) -> None:
    """The sandbox PBX plays an answered call signed the provider's way; the worker asks the provider's own
    recording API (Zadarma's signed record request and its temporary link, Mango's signed recording query and
    its redirect, the Bitrix24 app's RECORD_URL), stores the file and it plays through the signed link."""
    secret, api_key = uuid.uuid4().hex, ("" if provider == "bitrix24" else uuid.uuid4().hex[:20])
    clinic_api = new_clinic(stack, admin, f"Clínica {provider}")
    connected = clinic_api.http.put(
        f"/api/v1/telephony/providers/{provider}", json={"secret": secret, "api_key": api_key}
    )
    assert connected.status_code == 200, connected.text
    webhook_url = connected.json()["webhook_url"]
    found = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", webhook_url)
    assert found, webhook_url
    clinic = found.group(0)
    number, phone = tracking_number(clinic_api, "instagram"), unique_phone()
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        played = sandbox.post(
            "/sandbox/telephony/calls",
            json={"provider": provider, "clinic_id": clinic, "secret": secret, "api_key": api_key,
                  "caller": phone, "tracking_number": number, "outcome": "answered"},
        )  # fmt: skip
    assert played.status_code == 200, played.text
    assert set(played.json()["statuses"]) == {200}, played.json()

    def the_call() -> dict[str, Any] | None:
        items: list[dict[str, Any]] = clinic_api.http.get(CALLS, params={"caller": phone}).json()["items"]
        return items[0] if items and items[0]["state"] == "completed" else None

    call = wait_until(the_call, 30, f"the {provider} call never completed")
    assert call["disposition"] == "answered"
    assert call["source"] == "instagram"
    recording = stored_recording(clinic_api, call["id"])["recording"]
    url = clinic_api.http.get(f"{RECORDINGS}/{recording['id']}/link").json()["url"]
    with httpx.Client(timeout=20.0) as anyone:
        audio = anyone.get(url)
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"
    assert len(audio.content) == recording["size"]
    # The clinic's recording is no other clinic's.
    assert admin.http.get(f"{RECORDINGS}/{recording['id']}/link").status_code == 404
