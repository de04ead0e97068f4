"""The plumbing new services build on, without servers: timers, pages, comma lists, PATCH bodies, bound
ids, resources and webhook ingress (body limit, signature hooks, problem answers)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, get, post
from litestar.exceptions import ValidationException
from litestar.testing import AsyncTestClient

from kit import context, periodic, resources, webhooks
from kit.paging import Page, comma_list
from kit.patch import UNSET, Patch, UnsetType
from kit.web import create_app


# --- periodic tasks -------------------------------------------------------------------------
async def test_periodic_runs_repeatedly_and_stops_gracefully() -> None:
    rounds: list[int] = []

    async def tick() -> None:
        rounds.append(1)

    runner = periodic.PeriodicRunner("test", [periodic.Periodic("tick", tick, interval=0.01, jitter=0.5)], seed=1)
    runner.start()
    await asyncio.sleep(0.15)
    await runner.stop()
    count = len(rounds)
    assert count >= 3
    await asyncio.sleep(0.05)
    assert len(rounds) == count  # stopped means stopped


async def test_a_failing_round_is_counted_and_the_timer_keeps_going() -> None:
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return 0

    failed = periodic.TASK_RUNS.labels("test", "flaky", "failed")
    before = failed._value.get()
    runner = periodic.PeriodicRunner("test", [periodic.Periodic("flaky", flaky, interval=0.01)])
    runner.start()
    await asyncio.sleep(0.1)
    await runner.stop()
    assert calls >= 2
    assert failed._value.get() == before + 1


async def test_a_round_that_did_work_is_followed_at_once() -> None:
    backlog = [3]

    async def drain() -> int:
        if backlog[0]:
            backlog[0] -= 1
            return 1
        return 0

    runner = periodic.PeriodicRunner("test", [periodic.Periodic("drain", drain, interval=60)])
    runner.start()
    await asyncio.sleep(0.05)
    await runner.stop()
    assert backlog == [0]  # three rounds without waiting the 60 s interval


async def test_stop_lets_the_round_in_progress_finish() -> None:
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.1)
        finished.set()

    runner = periodic.PeriodicRunner("test", [periodic.Periodic("slow", slow, interval=60)], grace=2)
    runner.start()
    await asyncio.sleep(0.02)
    await runner.stop()
    assert finished.is_set()


async def test_stop_cancels_a_round_that_outlives_the_grace() -> None:
    async def stuck() -> None:
        await asyncio.sleep(30)

    runner = periodic.PeriodicRunner("test", [periodic.Periodic("stuck", stuck, interval=60)], grace=0.05)
    runner.start()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(runner.stop(), 2)


def test_jitter_stays_within_its_fraction() -> None:
    import random

    task = periodic.Periodic("t", lambda: asyncio.sleep(0), interval=10, jitter=0.2)
    delays = [task.next_delay(random.Random(i)) for i in range(200)]
    assert min(delays) >= 8
    assert max(delays) <= 12
    assert len(set(delays)) > 100


# --- pages and comma lists ------------------------------------------------------------------
class Item(msgspec.Struct):
    id: str


def test_offset_page_envelope() -> None:
    page = Page.of([Item("a")], total=7, limit=1, offset=3)
    assert msgspec.to_builtins(page) == {"items": [{"id": "a"}], "limit": 1, "total": 7, "offset": 3, "next": None}


def test_keyset_page_envelope_and_decoding() -> None:
    page = Page.keyset([Item("a"), Item("b")], limit=2, next="cursor-2")
    encoded = msgspec.json.encode(page)
    decoded = msgspec.json.decode(encoded, type=Page[Item])
    assert decoded.items == [Item("a"), Item("b")]
    assert decoded.next == "cursor-2"
    assert decoded.total is None


def test_complete_list_and_uncounted_window_envelopes() -> None:
    whole = Page.all(Item(i) for i in "abc")
    assert msgspec.to_builtins(whole) == {
        "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "limit": 3,
        "total": 3,
        "offset": 0,
        "next": None,
    }
    assert msgspec.to_builtins(Page.all([])) == {"items": [], "limit": 0, "total": 0, "offset": 0, "next": None}
    window = Page.window([Item("d")], limit=10, offset=20)
    assert msgspec.to_builtins(window) == {
        "items": [{"id": "d"}],
        "limit": 10,
        "total": None,
        "offset": 20,
        "next": None,
    }


def test_comma_list_flattens_a_repeated_parameter() -> None:
    assert comma_list(["new,contacted", " new", "", "lost"], field="status") == ["new", "contacted", "lost"]
    assert comma_list([], field="status") == []


def test_comma_list_trims_drops_empties_and_repeats() -> None:
    assert comma_list(" new, contacted,,new ", field="status") == ["new", "contacted"]
    assert comma_list(None, field="status") == []
    assert comma_list("", field="status") == []


def test_comma_list_refuses_unknown_values_naming_the_field() -> None:
    with pytest.raises(ValidationException) as caught:
        comma_list("new,bogus", field="status", allowed={"new", "lost"})
    assert caught.value.extra == [{"key": "status", "message": "unknown value 'bogus'; expected one of lost, new"}]


def test_comma_list_caps_the_number_of_values() -> None:
    with pytest.raises(ValidationException):
        comma_list(",".join(str(i) for i in range(11)), field="ids", max_items=10)


async def test_list_endpoint_answers_the_envelope_and_a_bad_list_is_a_400_problem() -> None:
    @get("/things", sync_to_thread=False)
    def things(status: str | None = None) -> Page[Item]:
        wanted = comma_list(status, field="status", allowed={"a", "b"})
        return Page.of([Item(s) for s in wanted], total=len(wanted), limit=50, offset=0)

    app = create_app(service="t", title="t", route_handlers=[things], checks={})
    async with AsyncTestClient(app) as client:
        ok = await client.get("/things", params={"status": "a,b"})
        assert ok.json() == {"items": [{"id": "a"}, {"id": "b"}], "limit": 50, "total": 2, "offset": 0, "next": None}
        bad = await client.get("/things", params={"status": "a,zzz"})
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "status"
        schema = (await client.get("/schema/openapi.json")).json()
        assert any("Page" in name for name in schema["components"]["schemas"])


# --- PATCH bodies ---------------------------------------------------------------------------
class ThingPatch(Patch):
    name: str | UnsetType = UNSET
    email: str | UnsetType | None = UNSET


def test_patch_tells_absent_from_null() -> None:
    assert msgspec.json.decode(b"{}", type=ThingPatch).changes() == {}
    assert msgspec.json.decode(b'{"email": null}', type=ThingPatch).changes() == {"email": None}
    assert msgspec.json.decode(b'{"name": "A"}', type=ThingPatch).changes() == {"name": "A"}
    assert msgspec.json.decode(b"{}", type=ThingPatch).is_empty()


def test_patch_refuses_unknown_fields_and_null_where_not_allowed() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown"):
        msgspec.json.decode(b'{"nmae": "A"}', type=ThingPatch)
    with pytest.raises(msgspec.ValidationError, match="name"):
        msgspec.json.decode(b'{"name": null}', type=ThingPatch)


# --- bound ids ------------------------------------------------------------------------------
def test_bound_sets_and_restores_the_ids() -> None:
    outer = context.correlation_id.set("outer")
    try:
        _check_bound()
    finally:
        context.correlation_id.reset(outer)
    assert context.correlation_id.get() is None


def _check_bound() -> None:
    with context.bound(correlation_id="inner", causation_id="cause"):
        assert context.correlation_id.get() == "inner"
        assert context.causation_id.get() == "cause"
        with context.bound(tenant_id="t1"):
            assert context.correlation_id.get() == "inner"  # None leaves it
            assert context.tenant_id.get() == "t1"
        assert context.tenant_id.get() is None
    assert context.correlation_id.get() == "outer"
    assert context.causation_id.get() is None


# --- resources ------------------------------------------------------------------------------
class Client:
    def __init__(self, healthy: bool = True) -> None:
        self.healthy = healthy
        self.events: list[str] = []

    async def open(self) -> None:
        self.events.append("open")

    async def ping(self) -> bool:
        if not self.healthy:
            raise ConnectionError("down")
        return True

    async def close(self) -> None:
        self.events.append("close")


async def test_a_resource_is_a_dependency_a_readiness_check_and_closed_at_shutdown() -> None:
    ok, down = Client(), Client(healthy=False)
    listed = [
        resources.Resource("cache", ok, check=ok.ping, open=ok.open, close=ok.close),
        resources.Resource("provider", down, check=down.ping, close=down.close),
    ]

    @get("/uses", sync_to_thread=False)
    def uses(cache: Client) -> dict[str, bool]:
        return {"same": cache is ok}

    app = create_app(
        service="t",
        title="t",
        route_handlers=[uses],
        checks=resources.checks(listed),
        lifespan=[resources.lifespan(listed)],
        dependencies=resources.dependencies(listed),
    )
    async with AsyncTestClient(app) as client:
        assert ok.events == ["open"]
        assert (await client.get("/uses")).json() == {"same": True}
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"cache": "ok", "provider": "failing: ConnectionError: down"}
    assert ok.events == ["open", "close"]
    assert down.events == ["close"]


# --- webhooks ---------------------------------------------------------------------------------
SECRET = "app-secret"


def signed(body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def hook_app(verify: webhooks.Verifier, max_bytes: int = 1024) -> Litestar:
    @post("/webhooks/test", status_code=200)
    async def receive(request: Request[Any, Any, Any]) -> dict[str, Any]:
        delivery = await webhooks.receive(request, verify, max_bytes=max_bytes)
        return {"id": delivery.json()["id"], "signature_kept": "x-hub-signature-256" in delivery.headers}

    return create_app(service="t", title="t", route_handlers=[receive], checks={}, error_map=dict(webhooks.ERROR_MAP))


async def test_a_signed_delivery_is_accepted_on_its_raw_bytes() -> None:
    body = b'{"id": "evt_1",   "odd spacing": true}'  # the signature covers these exact bytes
    async with AsyncTestClient(hook_app(webhooks.hmac_sha256_header(SECRET, "X-Hub-Signature-256"))) as client:
        answer = await client.post("/webhooks/test", content=body, headers=signed(body))
        assert answer.status_code == 200
        assert answer.json() == {"id": "evt_1", "signature_kept": True}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, {"X-Hub-Signature-256": "md5=abc"}],
    ids=["missing", "forged", "wrong-scheme"],
)
async def test_a_bad_signature_is_a_401_problem(headers: dict[str, str]) -> None:
    async with AsyncTestClient(hook_app(webhooks.hmac_sha256_header(SECRET, "X-Hub-Signature-256"))) as client:
        answer = await client.post("/webhooks/test", content=b'{"id": "evt_1"}', headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"].endswith("/invalid-signature")


async def test_a_body_over_the_limit_is_a_413_problem_and_garbage_a_400() -> None:
    body = json.dumps({"id": "evt", "pad": "x" * 2000}).encode()
    async with AsyncTestClient(hook_app(webhooks.hmac_sha256_header(SECRET, "X-Hub-Signature-256"))) as client:
        big = await client.post("/webhooks/test", content=body, headers=signed(body))
        assert big.status_code == 413
        assert big.headers["content-type"].startswith("application/problem+json")
        garbage = b"not json"
        bad = await client.post("/webhooks/test", content=garbage, headers=signed(garbage))
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["field"] == "body"


async def test_shared_token_and_rotation() -> None:
    verify = webhooks.any_of(
        [
            webhooks.shared_token_header("old-token", "X-Telegram-Bot-Api-Secret-Token"),
            webhooks.shared_token_header("new-token", "X-Telegram-Bot-Api-Secret-Token"),
        ]
    )
    async with AsyncTestClient(hook_app(verify)) as client:
        for token, status in (("old-token", 200), ("new-token", 200), ("other", 401)):
            answer = await client.post(
                "/webhooks/test", content=b'{"id": "1"}', headers={"X-Telegram-Bot-Api-Secret-Token": token}
            )
            assert answer.status_code == status


def test_an_app_loads_neither_pydantic_nor_the_tracing_sdk_it_does_not_use() -> None:
    """Start-up cost: Litestar's pydantic/attrs plugins and OpenTelemetry's SDK stay out of a process with tracing
    off (a fresh interpreter: this one has imported both for other tests)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from kit import web\n"
        "app = web.create_app(service='probe', title='probe', route_handlers=[], checks={})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('pydantic', 'opentelemetry.sdk'))}))\n"
        "print(sorted(type(p).__name__ for p in app.plugins))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert "Pydantic" not in out[1]
    assert "MsgspecDIPlugin" in out[1]
