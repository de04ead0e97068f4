"""The providers' recording APIs are signed their own way (no IO): Zadarma's API `Authorization: key:sign`,
Mango Office's `sign` over the recording query, and recording links that must be plain http(s)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from kit.webhooks import SignatureInvalid
from sandbox.telephony import Pbx, mango_call, mango_recording_id
from sandbox.telephony import zadarma_api_signature as sandbox_zadarma_api_signature
from telephony.domain import fold
from telephony.provider_api import (
    FETCHES,
    ProviderApiError,
    _record_url,
    mango_recording_form,
    zadarma_api_signature,
    zadarma_authorization,
)
from telephony.providers import Account, Inbound, Mango


def test_zadarma_api_signature_is_base64_of_the_hex_hmac_over_method_sorted_query_and_its_md5() -> None:
    query = "call_id=1458832388.1234&lifetime=180"  # sorted by name, url-encoded
    text = "/v1/pbx/record/request/" + query + hashlib.md5(query.encode()).hexdigest()
    expected = base64.b64encode(hmac.new(b"secret", text.encode(), hashlib.sha1).hexdigest().encode()).decode()
    params = {"lifetime": "180", "call_id": "1458832388.1234"}  # any order in: sorted for signing
    assert zadarma_api_signature("secret", "/v1/pbx/record/request/", params) == expected
    assert expected == "ZTVmZTdlZmUzYjcyMmQ1NmY3YzhhOTcwNDVkM2YxZGFlYWZlNjhjYw=="
    assert zadarma_authorization("key", "secret", "/v1/pbx/record/request/", params) == f"key:{expected}"
    # The sandbox PBX checks with its own implementation; another secret or method does not match.
    assert sandbox_zadarma_api_signature("secret", "/v1/pbx/record/request/", params) == expected
    assert zadarma_api_signature("other", "/v1/pbx/record/request/", params) != expected
    assert zadarma_api_signature("secret", "/v1/info/balance/", params) != expected


def test_mango_recording_query_is_signed_sha256_of_key_json_salt() -> None:
    form = mango_recording_form("key1", "salt", "MToxMDI")
    assert json.loads(form["json"]) == {"recording_id": "MToxMDI", "action": "download"}
    assert form["vpbx_api_key"] == "key1"
    assert form["sign"] == hashlib.sha256(("key1" + form["json"] + "salt").encode()).hexdigest()
    assert form["sign"] == "2e8818cae531fcbd8e850d1c1009f1a6b98cd0e72073370f6835f66758206590"


@pytest.mark.parametrize(
    "url", ["ftp://files.example/a.mp3", "file:///etc/passwd", "https://user:pw@files.example/a.mp3", "not a url"]
)
def test_a_recording_url_that_is_not_plain_http_is_refused_for_good(url: str) -> None:
    with pytest.raises(ProviderApiError) as refused:
        _record_url(url)
    assert refused.value.retry is False


def test_every_provider_recording_is_fetched() -> None:
    assert set(FETCHES) == {"zadarma", "twilio", "mango", "telfin", "asterisk", "bitrix24"}
    assert _record_url(" https://files.example/r/1.mp3?x=1 ") == "https://files.example/r/1.mp3?x=1"


@pytest.mark.parametrize(
    ("outcome", "disposition"), [("answered", "answered"), ("missed", "missed"), ("busy", "missed")]
)
@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_sandbox_mango_calls_verify_and_fold_in_any_order(outcome: str, disposition: str, direction: str) -> None:
    account = Account(tenant_id="c1", provider="mango", secret="salt", api_key="key1")
    played = mango_call("key1", "salt", "+5511987654321", "+551130000001", outcome, direction=direction)
    events = []
    for _, d in reversed(played):
        request = Inbound(d.body, {k.lower(): v for k, v in d.headers.items()}, "", datetime.now(UTC))
        Mango().verify(account, request)
        events += Mango().parse(account, request)
    record = fold(events)
    assert record.direction == direction
    assert record.caller == "+5511987654321"
    assert record.tracking_number == "+551130000001"
    # Mango's Disconnected carries no disposition: answered when a Connected was seen, else missed.
    assert record.disposition == disposition
    assert (record.recording_ref is not None) == (outcome == "answered")
    if record.recording_ref:
        assert record.recording_ref.startswith(mango_recording_id("")[:7])
    # The same call signed with another salt is refused.
    _, forged = mango_call("key1", "other-salt", "+5511987654321", "+551130000001", outcome)[0]
    with pytest.raises(SignatureInvalid):
        Mango().verify(account, Inbound(forged.body, dict(forged.headers), "", datetime.now(UTC)))


def test_sandbox_file_links_expire_and_are_signed() -> None:
    pbx = Pbx()
    link = pbx.file_link("http://sandbox", "r1.wav", 60)
    query = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))
    assert pbx.file_link_valid("r1.wav", query["expires"], query["signature"])
    assert not pbx.file_link_valid("r2.wav", query["expires"], query["signature"])
    assert not pbx.file_link_valid("r1.wav", str(int(query["expires"]) + 1), query["signature"])
    old = pbx.file_link("http://sandbox", "r1.wav", -5)
    q2 = dict(p.split("=", 1) for p in old.split("?", 1)[1].split("&"))
    assert not pbx.file_link_valid("r1.wav", q2["expires"], q2["signature"])
