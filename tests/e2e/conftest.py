from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select

from contracts import Event, EventMeta, from_headers, spec_for
from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from kit.db import make_engine
from kit.outbox import outbox_table
from kit.personal import HttpKeyStore, PersonalCipher


class _Relogin(httpx.Auth):
    """A session shared by many tests outlives its access token (15 min): log in again, once, and retry, as the
    console does with its refresh token."""

    requires_response_body = True

    def __init__(self, api: Api) -> None:
        self.api = api

    def auth_flow(self, request: httpx.Request) -> Any:
        response = yield request
        if response.status_code == 401 and "token expired" in response.text:
            self.api.login()
            request.headers["authorization"] = self.api.http.headers["authorization"]
            yield request


class Api:
    """A staff member's session against the gateway."""

    def __init__(self, stack: Stack, email: str, password: str) -> None:
        self.stack = stack
        self.email, self.password = email, password
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=20.0, auth=_Relogin(self))
        self.login()

    def login(self) -> None:
        answer = httpx.post(
            f"{self.stack.gateway_url}/api/v1/auth/login", json={"email": self.email, "password": self.password},
            timeout=20.0,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        self.tokens = answer.json()
        self.http.headers["authorization"] = f"Bearer {self.tokens['access_token']}"

    def create_lead(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Ana Lima", "phone": "+55 11 91234-5678", "source": "whatsapp", **fields}
        answer = self.http.post("/api/v1/leads", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def messages(self, lead_id: str) -> list[dict[str, Any]]:
        answer = self.http.get("/api/v1/notifications/messages", params={"lead_id": lead_id})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]


def wait_until(condition: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (waited {timeout:.0f}s)")
        time.sleep(0.1)


class Sandbox:
    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.url("sandbox"), timeout=10.0)

    def received(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else {}
        return self.http.get("/sandbox/whatsapp/messages", params=params).json()["items"]  # type: ignore[no-any-return]

    def fail_next(self, count: int, status: int = 503) -> None:
        self.http.post("/sandbox/whatsapp/faults", json={"fail_next": count, "status": status}).raise_for_status()


@pytest.fixture(scope="session")
def admin(stack: Stack) -> Iterator[Api]:
    api = Api(stack, DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD)
    yield api
    api.http.close()


@pytest.fixture(scope="session")
def sandbox(stack: Stack) -> Sandbox:
    return Sandbox(stack)


_used_phones: set[str] = set()


@pytest.fixture
def unique_phone() -> Callable[[], str]:
    """Distinct valid Brazilian mobiles, so each test finds its own messages in the sandbox."""

    def make() -> str:
        while True:
            phone = f"+55119{random.randint(10_000_000, 99_999_999)}"
            if phone not in _used_phones:
                _used_phones.add(phone)
                return phone

    return make


# --- shared helpers of the end-to-end tests ----------------------------------------------------------
def new_clinic(
    stack: Stack,
    admin: Api,
    name: str,
    *,
    country: str = "BR",
    locale: str = "pt-BR",
    timezone: str = "America/Sao_Paulo",
) -> Api:
    """Open another clinic (the platform admin may) and log in as its admin."""
    email = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    made = admin.http.post(
        "/api/v1/clinics",
        json={
            "name": name,
            "country": country,
            "locale": locale,
            "timezone": timezone,
            "admin": {"email": email, "full_name": "Dona", "password": "a-long-password", "roles": ["admin"]},
        },
    )
    assert made.status_code == 201, made.text
    return Api(stack, email, "a-long-password")


def staff(stack: Stack, admin: Api, role: str) -> tuple[Api, str]:
    """A staff account of the admin's clinic with one role; returns its session and user id."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@clinic.example"
    made = admin.http.post(
        "/api/v1/staff",
        json={"email": email, "full_name": role.title(), "password": "a-long-password", "roles": [role]},
    )
    assert made.status_code == 201, made.text
    user_id: str = made.json()["id"]
    known_to_leads(admin, user_id)
    return Api(stack, email, "a-long-password"), user_id


def known_to_leads(api: Api, user_id: str, timeout: float = 15.0) -> None:
    """Leads learns staff from the gateway's events a moment later; wait until it may own leads."""

    def known() -> bool:
        answer = api.http.get("/api/v1/leads/staff")
        assert answer.status_code == 200, answer.text
        return user_id in {m["user_id"] for m in answer.json()["items"]}

    wait_until(known, timeout, f"leads never learnt of staff member {user_id}")


async def opened(stack: Stack, events: list[tuple[Event, EventMeta]]) -> list[Event]:
    """The events with their personal fields opened, as a consumer that has cached no key opens them
    (kit.personal, through the stack's key store)."""
    env = stack.env()
    cipher = PersonalCipher(HttpKeyStore(env["PERSONAL_KEYS_URL"], env["PERSONAL_KEYS_TOKEN"]))
    try:
        return await cipher.open(events)
    finally:
        await cipher.close()


def outbox_events(stack: Stack, service: str, key: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The events a service queued (of one aggregate when `key` is given), in order: (type, payload), the personal
    fields opened as a consumer would."""

    async def read() -> list[tuple[str, dict[str, Any]]]:
        engine = make_engine(stack.database_url(service), pool_size=1)
        query = select(outbox_table.c.event_type, outbox_table.c.headers, outbox_table.c.payload)
        if key is not None:
            query = query.where(outbox_table.c.key == key)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(query.order_by(outbox_table.c.id))).all()
        finally:
            await engine.dispose()
        staged = [
            (msgspec.json.decode(p, type=spec_for(t).struct), from_headers([(k, v.encode()) for k, v in h]))
            for t, h, p in rows
        ]
        return [(t, msgspec.to_builtins(e)) for (t, _, _), e in zip(rows, await opened(stack, staged), strict=True)]

    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from pytest-asyncio's
        return pool.submit(asyncio.run, read()).result()


def outbox(stack: Stack, lead_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The events the leads service queued for one lead, in order (type, payload; personal fields opened)."""
    return outbox_events(stack, "leads", lead_id)


@pytest.fixture(scope="module")
def other_clinic(stack: Stack, admin: Api) -> Api:
    """A second clinic, one per test module: it must see none of the first clinic's data."""
    return new_clinic(stack, admin, "Clínica Vizinha")
