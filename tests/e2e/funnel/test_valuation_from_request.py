"""The valuation process opened by a lead's request, end to end on the real stack (issue 13; docs/quotes.md,
"Opened by a request"): the clinic says which of its treatments need a valuation → a lead asks for one → the
funnel opens the process by itself and the prospect gets the photo link; the same request delivered again opens
nothing, a new request after the process is over opens a new one; bad settings are 422s naming the field."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from contracts import EventMeta, to_headers
from contracts.leads import RequestCreatedV1
from devkit.stack import Stack
from kit.messaging import make_producer
from tests.e2e.clinic import tenant_of
from tests.e2e.conftest import Api, outbox, staff, wait_until

pytestmark = pytest.mark.e2e
API = "/api/v1/funnel"


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def republish(stack: Stack, tenant_id: str, event: RequestCreatedV1) -> None:
    """The same request.created again under a new event id (a producer retry past the inbox)."""

    async def send() -> None:
        assert stack.infra is not None
        producer = make_producer(stack.infra.kafka_bootstrap, idempotent=False, client_id="e2e-leads")
        await producer.start()
        try:
            meta = EventMeta(
                id=str(uuid.uuid4()), source="clinicflow/leads", type=event.TYPE, time=datetime.now(UTC),
                subject=event.lead_id, tenant_id=tenant_id, correlation_id=str(uuid.uuid4()),
            )  # fmt: skip
            await producer.send_and_wait(
                event.TOPIC, msgspec.json.encode(event), key=event.lead_id.encode(), headers=to_headers(meta)
            )
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def test_a_request_for_a_hair_transplant_opens_the_valuation_once(stack: Stack, admin: Api, unique_phone: Any) -> None:
    _, agent_id = staff(stack, admin, "sales_agent")
    slug = f"hair_transplant_{uuid.uuid4().hex[:6]}"
    ok(admin.http.post("/api/v1/leads/lists/treatment", json={"label": f"Hair transplant {slug[-6:]}", "slug": slug}),
       201)  # fmt: skip

    bad = admin.http.put(f"{API}/valuation-settings", json={"treatments": ["Hair Transplant"]})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "treatments.0"
    stranger = admin.http.put(f"{API}/valuation-settings", json={"treatments": [slug], "agent_id": str(uuid.uuid4())})
    assert stranger.status_code == 422, stranger.text
    before = ok(admin.http.get(f"{API}/valuation-settings"))
    # The funnel learns new staff from the gateway's events a moment later.
    wanted = {"treatments": [*before["treatments"], slug], "agent_id": agent_id}
    wait_until(
        lambda: admin.http.put(f"{API}/valuation-settings", json=wanted).status_code == 200,
        30,
        "the funnel never learnt of the sales agent",
    )
    assert slug in ok(admin.http.get(f"{API}/valuation-settings"))["treatments"]

    def mine(state: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"agent_id": agent_id, "limit": 200} | ({"state": state} if state else {})
        items: list[dict[str, Any]] = ok(admin.http.get(f"{API}/valuations", params=params))["items"]
        return items

    # A request for a treatment that needs no valuation opens nothing; one that needs it opens the process.
    other = admin.create_lead(name="Pedro Alves", phone=unique_phone(), source="whatsapp", treatment="evaluation")
    lead = admin.create_lead(name="Javier Ruiz", phone=unique_phone(), source="whatsapp", treatment=slug, locale="es")
    opened = wait_until(lambda: mine(), 30, "the request never opened a valuation")
    assert [(v["lead_id"], v["name"], v["phone"], v["state"]) for v in opened] == [
        (lead["id"], "Javier Ruiz", lead["phone"], "collecting"),
    ]  # fmt: skip
    assert other["id"] not in {v["lead_id"] for v in mine()}
    card = ok(admin.http.get(f"{API}/valuations/{opened[0]['id']}"))
    assert card["history"][0]["by"] == "funnel"
    photos = wait_until(
        lambda: [m for m in admin.messages(lead["id"]) if m["template"] == "valuation_photos"], 30,
        "the prospect never got the photo link",
    )  # fmt: skip
    assert "/public/funnel/photos?token=" in photos[0]["body"]

    # The process ends; the first request delivered again opens nothing, a new request opens a new process.
    ok(admin.http.post(f"{API}/valuations/{opened[0]['id']}/cancel", json={"reason": "test"}))
    (first,) = [p for t, p in outbox(stack, lead["id"]) if t == RequestCreatedV1.TYPE]
    republish(stack, tenant_of(admin), msgspec.convert(first, RequestCreatedV1))
    again = admin.http.post("/api/v1/leads", params={"on_duplicate": "add_request"}, json={
        "name": "Javier Ruiz", "phone": lead["phone"], "source": "whatsapp", "treatment": slug})  # fmt: skip
    assert again.status_code == 200, again.text
    fresh = wait_until(lambda: mine("collecting"), 30, "a new request after the process never opened one")
    # Both on the lead's partition, in order: once the second is handled, so was the first one's duplicate.
    assert len(fresh) == 1
    assert len([v for v in mine() if v["lead_id"] == lead["id"]]) == 2
