"""The sandbox PBX signs and shapes calls exactly as the adapters expect; no IO."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from sandbox.telephony import asterisk_cdr, bitrix24_call, bitrix24_finish, telfin_call, twilio_call, zadarma_call
from telephony.domain import fold
from telephony.providers import Account, Asterisk, Bitrix24, Inbound, Telfin, Twilio, Zadarma

URL = "http://127.0.0.1:8000/webhooks/telephony/twilio?clinic=c1"
TELFIN_URL = "http://127.0.0.1:8000/webhooks/telephony/telfin?clinic=c1&" + urlencode({"token": "s"})


@pytest.mark.parametrize(("outcome", "disposition"), [("answered", "answered"), ("missed", "missed"), ("busy", "busy")])
@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_sandbox_calls_verify_and_fold(outcome: str, disposition: str, direction: str) -> None:
    now = datetime.now(UTC)
    who = ("+5511987654321", "+551130000001", outcome)
    plays = [
        (Twilio(), URL, twilio_call("s", URL, *who, direction=direction)),
        (Telfin(), TELFIN_URL, telfin_call(*who, direction=direction)),
        (Asterisk(), URL, asterisk_cdr("s", *who, direction=direction)),
    ]
    if direction == "inbound":
        plays.append((Zadarma(), URL, zadarma_call("s", *who)))
    for adapter, url, deliveries in plays:
        account = Account(tenant_id="c1", provider=adapter.name, secret="s")
        events = []
        for d in reversed(deliveries):
            request = Inbound(d.body, {k.lower(): v for k, v in d.headers.items()}, url, now)
            adapter.verify(account, request)
            events += adapter.parse(account, request)
        record = fold(events)
        assert record.disposition == disposition, adapter.name
        assert record.direction == direction, adapter.name
        assert record.caller == "+5511987654321", adapter.name
        assert record.tracking_number == "+551130000001", adapter.name
        assert (record.recording_ref is not None) == (outcome == "answered" and adapter.name != "twilio")


def test_sandbox_bitrix24_register_and_finish_verify_and_fold() -> None:
    now = datetime.now(UTC)
    account = Account(tenant_id="c1", provider="bitrix24", secret="s")
    [register] = bitrix24_call("http://gw", "c1", "s", "+5511987654321", "+551130000001", "missed")
    b = Bitrix24()
    req = Inbound(register.delivery.body, register.delivery.headers, register.url, now)
    b.verify(account, req)
    [started] = b.parse(account, req)
    finish = bitrix24_finish("http://gw", "c1", "s", started.provider_call_id, "missed")
    req2 = Inbound(finish.delivery.body, finish.delivery.headers, finish.url, now)
    b.verify(account, req2)
    record = fold([started, *b.parse(account, req2)])
    assert record.missed
    assert record.caller == "+5511987654321"
