"""Personal data end to end, telephony's part (docs/privacy.md), through the gateway on the real stack: a person
with calls (an answered, recorded Asterisk call and a missed Zadarma call) -> an export request -> the archive's
telephony.json has her calls, their recording's metadata and her contact copy -> erasure -> telephony's API shows
the calls without her phone and the recording deleted (410), with the counts per kind in the request's part."""

from __future__ import annotations

import io
import json
import random
import uuid
import zipfile
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.clinic import ok
from tests.e2e.conftest import Api, wait_until
from tests.e2e.privacy.test_privacy import finished, open_request

pytestmark = pytest.mark.e2e
API = "/api/v1/privacy"
CALLS = "/api/v1/telephony/calls"
RECORDINGS = "/api/v1/telephony/recordings"


def connect(api: Api, provider: str, **extra: str) -> tuple[str, str, str]:
    """(clinic id, secret, webhook URL) of a freshly connected provider."""
    secret = uuid.uuid4().hex
    answer = ok(api.http.put(f"/api/v1/telephony/providers/{provider}", json={"secret": secret, **extra}))
    return parse_qs(urlparse(answer["webhook_url"]).query)["clinic"][0], secret, answer["webhook_url"]


def play(stack: Stack, **call: Any) -> str:
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        answer = sandbox.post("/sandbox/telephony/calls", json=call)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["statuses"]) == {200}, answer.text
    return str(answer.json()["answers"][0]["call_ids"][0])


def test_a_persons_calls_are_exported_and_erased(
    stack: Stack, admin: Api, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    lead = admin.create_lead(name="Helena Telefone", phone=phone, source="instagram")
    number = f"+55113{random.randint(1_000_000, 9_999_999)}"
    ok(admin.http.post("/api/v1/telephony/tracking-numbers", json={"number": number, "source": "google_search"}), 201)
    # an answered call through Asterisk (its recording fetched from the PBX into the object store) ...
    ari = f"clinicflow:{uuid.uuid4().hex[:12]}"
    clinic, key, webhook_url = connect(admin, "asterisk", api_key=ari, api_url=stack.url("sandbox"))
    with httpx.Client(base_url=stack.url("sandbox"), timeout=30.0) as sandbox:
        line = {"provider": "asterisk", "api_key": ari, "webhook_url": webhook_url, "secret": key}
        assert sandbox.put("/sandbox/telephony/lines", json=line).status_code == 200
    answered = play(
        stack, provider="asterisk", clinic_id=clinic, secret=key, caller=phone, tracking_number=number,
        outcome="answered",
    )  # fmt: skip
    # ... and a missed one through Zadarma
    zadarma, secret, _ = connect(admin, "zadarma")
    missed = play(
        stack, provider="zadarma", clinic_id=zadarma, secret=secret, caller=phone, tracking_number=number,
        outcome="missed",
    )  # fmt: skip

    def recorded() -> dict[str, Any] | None:
        card: dict[str, Any] = ok(admin.http.get(f"{CALLS}/{answered}"))
        rec = card.get("recording")
        return card if rec and rec["state"] == "stored" and card["contact"] else None

    recording = wait_until(recorded, 45, "the recording was never stored or the caller never matched")["recording"]

    # --- export ------------------------------------------------------------------------------------
    export = open_request(admin, "export", lead_ids=[lead["id"]])
    assert "telephony" in [p["service"] for p in export["parts"]]
    done = wait_until(finished(admin, export["id"]), 90, "the services never answered the export")
    part = next(p for p in done["parts"] if p["service"] == "telephony")
    assert part["status"] == "ready"
    link = ok(admin.http.post(f"{API}/requests/{export['id']}/link"), 201)
    with httpx.Client(timeout=20.0) as public:
        archive = public.get(link["url"])
    assert archive.status_code == 200, archive.text
    telephony = json.loads(zipfile.ZipFile(io.BytesIO(archive.content)).read("telephony.json"))["data"]
    assert sorted(c["id"] for c in telephony["calls"]) == sorted([answered, missed])
    assert {c["caller"] for c in telephony["calls"]} == {phone}
    assert {c["disposition"] for c in telephony["calls"]} == {"answered", "missed"}
    assert [r["id"] for r in telephony["recordings"]] == [recording["id"]]
    assert [c["lead_id"] for c in telephony["contacts"]] == [lead["id"]]

    # --- erasure -----------------------------------------------------------------------------------
    erasure = open_request(admin, "erasure", lead_ids=[lead["id"]])
    erased = wait_until(finished(admin, erasure["id"]), 90, "the services never answered the erasure")
    part = next(p for p in erased["parts"] if p["service"] == "telephony")
    assert part["status"] == "erased"
    assert part["counts"]["calls"] == 2
    assert part["counts"]["recordings"] == 1
    assert part["retained"] == {"recordings": 0}  # the clinic holds none on erasure
    for call_id in (answered, missed):
        card = ok(admin.http.get(f"{CALLS}/{call_id}"))
        assert card["call"]["caller"] == ""
        assert card["contact"] is None
        assert phone not in json.dumps(card)
        assert card["call"]["source"] == "google_search"  # the clinic's counts per source stay
    assert ok(admin.http.get(CALLS, params={"caller": phone}))["total"] == 0
    gone = ok(admin.http.get(f"{CALLS}/{answered}"))["recording"]
    assert gone["state"] == "deleted"
    assert admin.http.get(f"{RECORDINGS}/{recording['id']}/link").status_code == 410
    # another clinic reaches none of it
    assert other_clinic.http.get(f"{CALLS}/{answered}").status_code == 404
