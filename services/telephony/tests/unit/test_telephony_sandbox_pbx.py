"""The sandbox's provider stand-in signs and shapes calls exactly as the adapters expect; no IO."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.telephony import twilio_call, zadarma_call
from telephony.domain import fold
from telephony.providers import Account, Inbound, Twilio, Zadarma

URL = "http://127.0.0.1:8000/webhooks/telephony/twilio?clinic=c1"


@pytest.mark.parametrize(("outcome", "disposition"), [("answered", "answered"), ("missed", "missed"), ("busy", "busy")])
def test_sandbox_calls_verify_and_fold(outcome: str, disposition: str) -> None:
    now = datetime.now(UTC)
    for adapter, deliveries in (
        (Zadarma(), zadarma_call("s", "+5511987654321", "+551130000001", outcome)),
        (Twilio(), twilio_call("s", URL, "+5511987654321", "+551130000001", outcome)),
    ):
        account = Account(tenant_id="c1", provider=adapter.name, secret="s")
        events = []
        for d in reversed(deliveries):
            request = Inbound(d.body, {k.lower(): v for k, v in d.headers.items()}, URL, now)
            adapter.verify(account, request)
            events += adapter.parse(account, request)
        record = fold(events)
        assert record.disposition == disposition
        assert record.caller == "+5511987654321"
        assert (record.recording_ref is not None) == (outcome == "answered" and adapter.name == "zadarma")
