"""A STOP word reaches the consent ledger, through the running system (docs/privacy.md, "Consent"): a person
writes "STOP" on WhatsApp (the sandbox posts it to the gateway's webhook, signed the provider's way) ->
notifications opts the number out of WhatsApp and publishes channel_consent.changed -> privacy's ledger shows
marketing withdrawn on WhatsApp, how stop_word, with the words -> notifications' consent copy learns it back.
Even after staff lift the channel opt-out, the ledger's withdrawal holds: the person's marketing message (the
welcome of their new lead) is not sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from devkit.stack import Stack
from kit.db import make_engine
from tests.e2e.conftest import Api, Sandbox, wait_until

pytestmark = pytest.mark.e2e


def copy_rows(stack: Stack, phone: str) -> list[dict[str, Any]]:
    """notifications' copy of the ledger about a phone (from privacy's consent.* events)."""

    async def read() -> list[dict[str, Any]]:
        engine = make_engine(stack.database_url("notifications"), pool_size=1)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT purpose, channel, granted FROM privacy_consents WHERE phone = :p"), {"p": phone}
                )
                return [dict(r._mapping) for r in rows]
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_a_stop_on_whatsapp_is_in_the_ledger_and_no_marketing_goes_out_after_it(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    connect = admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": "100000000000001"})
    assert connect.status_code == 200, connect.text
    phone = unique_phone()
    stop = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, "text": "STOP"}).json()
    assert stop["status"] == 200, stop  # the gateway's answer to the signed webhook

    def ledger() -> dict[str, Any] | None:
        answer = admin.http.get("/api/v1/privacy/consents/person", params={"phone": phone})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found if found["history"] else None

    person = wait_until(ledger, 30, "the STOP never reached the consent ledger")
    assert person["person_key"] == f"phone:{phone}"
    [entry] = person["history"]
    assert (entry["purpose"], entry["channel"], entry["granted"]) == ("marketing", "whatsapp", False)
    assert (entry["source"], entry["text"], entry["phone"], entry["recorded_by"]) == ("stop_word", "STOP", phone, None)
    assert [(c["purpose"], c["channel"], c["granted"]) for c in person["current"]] == [("marketing", "whatsapp", False)]
    # the ledger's consent.withdrawn comes back to notifications' copy
    assert wait_until(lambda: copy_rows(stack, phone), 30, "notifications never learnt the ledger's entry") == [
        {"purpose": "marketing", "channel": "whatsapp", "granted": False}
    ]

    # Staff lift the channel opt-out (not the person's consent: no ledger entry); the withdrawal still holds.
    lifted = admin.http.delete(f"/api/v1/notifications/opt-outs/whatsapp/{phone}")
    assert lifted.status_code == 204, lifted.text
    opted = admin.http.get("/api/v1/notifications/opt-outs").json()["items"]
    assert phone not in [o["address"] for o in opted if o["channel"] == "whatsapp"]

    lead = admin.create_lead(name="Bruna Parou", phone=phone, source="whatsapp")

    def settled() -> list[dict[str, Any]] | None:
        found = [m for m in admin.messages(lead["id"]) if m["status"] in ("sent", "delivered", "read", "failed")]
        return found or None

    welcome = wait_until(settled, 30, "the welcome message was never settled")
    assert {m["status"] for m in welcome} == {"failed"}, welcome
    assert all("opted out" in (m.get("last_error") or "") for m in welcome), welcome
    assert sandbox.received(phone) == []  # no marketing message went out after the STOP
    assert len(ok_history(admin, phone)) == 1  # staff lifting the opt-out added nothing to the ledger


def ok_history(admin: Api, phone: str) -> list[dict[str, Any]]:
    answer = admin.http.get("/api/v1/privacy/consents/person", params={"phone": phone})
    assert answer.status_code == 200, answer.text
    return answer.json()["history"]  # type: ignore[no-any-return]
