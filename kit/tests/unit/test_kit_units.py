"""kit without servers: settings, patient links, JWT verification against a JWKS, problem responses."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from kit import context, links, messaging, settings
from kit.auth import AUDIENCE, ISSUER, AuthError, JwksVerifier, Principal, claims_of
from kit.web import PROBLEM_JSON, problem

SECRET = "x" * 32


# --- settings -----------------------------------------------------------------------------
def test_env_prefix() -> None:
    assert settings.env_prefix("leads") == "LEADS_"


def test_defaults_without_environment() -> None:
    loaded = settings.load(settings.ServiceSettings, "LEADS_", {})
    assert loaded == settings.ServiceSettings()


def test_prefixed_variable_beats_unprefixed_shared_one() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "shared:9092", "LEADS_KAFKA_BOOTSTRAP_SERVERS": "own:9092"}
    assert settings.load(settings.ServiceSettings, "LEADS_", env).kafka_bootstrap_servers == "own:9092"


def test_unprefixed_variable_serves_a_shared_field() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "shared:9092", "LINK_SECRET": "s3cret"}
    loaded = settings.load(settings.ServiceSettings, "LEADS_", env)
    assert loaded.kafka_bootstrap_servers == "shared:9092"
    assert loaded.link_secret == "s3cret"


def test_non_shared_field_ignores_the_unprefixed_variable() -> None:
    env = {"DATABASE_URL": "postgresql://elsewhere/db", "HTTP_PORT": "1234"}
    loaded = settings.load(settings.ServiceSettings, "LEADS_", env)
    assert loaded.database_url == ""
    assert loaded.http_port == 8000


def test_other_services_prefix_is_ignored() -> None:
    env = {"GATEWAY_HTTP_PORT": "1234", "GATEWAY_REDIS_URL": "redis://gw"}
    loaded = settings.load(settings.ServiceSettings, "LEADS_", env)
    assert loaded.http_port == 8000
    assert loaded.redis_url == settings.ServiceSettings().redis_url


def test_strings_are_converted_to_field_types() -> None:
    env = {"LEADS_HTTP_PORT": "8123", "LEADS_KAFKA_IDEMPOTENT_PRODUCER": "true", "LEADS_OUTBOX_POLL_SECONDS": "0.25"}
    loaded = settings.load(settings.ServiceSettings, "LEADS_", env)
    assert loaded.http_port == 8123
    assert loaded.kafka_idempotent_producer is True
    assert loaded.outbox_poll_seconds == 0.25


def test_the_fetch_wait_is_the_installation_s_for_every_service() -> None:
    """One KAFKA_FETCH_MAX_WAIT_MS for the stack (500 on real Kafka, deploy/k8s); a service's own wins."""
    assert settings.ServiceSettings().kafka_fetch_max_wait_ms == messaging.FETCH_MAX_WAIT_MS
    env = {"KAFKA_FETCH_MAX_WAIT_MS": "500", "FUNNEL_KAFKA_FETCH_MAX_WAIT_MS": "250"}
    assert settings.load(settings.ServiceSettings, "LEADS_", env).kafka_fetch_max_wait_ms == 500
    assert settings.load(settings.ServiceSettings, "FUNNEL_", env).kafka_fetch_max_wait_ms == 250


@pytest.mark.parametrize("env", [{"LEADS_HTTP_PORT": "eighty"}, {"KAFKA_IDEMPOTENT_PRODUCER": "perhaps"}])
def test_bad_value_exits_naming_the_prefix(env: dict[str, str]) -> None:
    with pytest.raises(SystemExit, match=r"LEADS_\*"):
        settings.load(settings.ServiceSettings, "LEADS_", env)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADS_WORKER_PORT", "9123")
    assert settings.load(settings.ServiceSettings, "LEADS_").worker_port == 9123


# --- patient links ------------------------------------------------------------------------
def _mint(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "purpose": "pay",
        "subject": "invoice-1",
        "tenant_id": "clinic-1",
        "ttl_seconds": 600,
        "data": {"amount": 150},
    }
    values.update(overrides)
    return links.mint(SECRET, **values)


def test_link_round_trip() -> None:
    before = int(time.time())
    link = links.verify(SECRET, _mint(), purpose="pay")

    assert link.purpose == "pay"
    assert link.subject == "invoice-1"
    assert link.tenant_id == "clinic-1"
    assert link.data == {"amount": 150}
    assert link.link_id
    assert before + 600 <= link.expires_at <= int(time.time()) + 600


def test_each_link_has_its_own_id() -> None:
    first = links.verify(SECRET, _mint(), purpose="pay")
    second = links.verify(SECRET, _mint(), purpose="pay")
    assert first.link_id != second.link_id


def test_link_without_data_has_empty_data() -> None:
    assert links.verify(SECRET, _mint(data=None), purpose="pay").data == {}


def test_link_for_another_purpose_is_refused() -> None:
    with pytest.raises(links.LinkError, match="not valid for this page"):
        links.verify(SECRET, _mint(purpose="pay"), purpose="book")


def test_expired_link_is_refused() -> None:
    with pytest.raises(links.LinkError, match="expired"):
        links.verify(SECRET, _mint(ttl_seconds=-1), purpose="pay")


def test_link_expires_with_time(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _mint(ttl_seconds=60)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 3600)  # minted an hour ago
    old = _mint(ttl_seconds=60)
    monkeypatch.undo()
    links.verify(SECRET, token, purpose="pay")
    with pytest.raises(links.LinkError, match="expired"):
        links.verify(SECRET, old, purpose="pay")


def test_link_signed_with_another_secret_is_refused() -> None:
    token = links.mint("y" * 32, purpose="pay", subject="invoice-1", tenant_id="clinic-1", ttl_seconds=600)
    with pytest.raises(links.LinkError):
        links.verify(SECRET, token, purpose="pay")


def test_tampered_link_is_refused() -> None:
    header, payload, signature = _mint().split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["sub"] = "invoice-2"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(links.LinkError):
        links.verify(SECRET, f"{header}.{forged_payload}.{signature}", purpose="pay")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_link_is_refused(token: str) -> None:
    with pytest.raises(links.LinkError):
        links.verify(SECRET, token, purpose="pay")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        links.mint("x" * 31, purpose="pay", subject="s", tenant_id="t", ttl_seconds=60)


# --- staff tokens -------------------------------------------------------------------------
PRINCIPAL = Principal(
    user_id="user-1",
    tenant_id="clinic-1",
    email="ana@clinic.example",
    permissions=frozenset({"crm:read", "crm:write"}),
    roles=("sales_agent",),
    country="ES",
    locale="es",
    timezone="Europe/Madrid",
)


class SigningKey:
    """An Ed25519 key that signs access tokens the way the gateway does (kit's tests import no service)."""

    def __init__(self) -> None:
        self.private_key = Ed25519PrivateKey.generate()
        public_jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        thumb = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True)
        self.kid = jwt.utils.base64url_encode(hashlib.sha256(thumb.encode()).digest()).decode()  # RFC 7638
        self.public_jwk = {**public_jwk, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def access_token(self, claims: dict[str, Any], ttl_seconds: int) -> str:
        now = int(time.time())
        payload = {**claims, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + ttl_seconds}
        payload |= {"typ": "access", "jti": secrets.token_urlsafe(12)}
        return jwt.encode(payload, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def signer() -> SigningKey:
    return SigningKey()


@pytest.fixture(scope="module")
def other_signer() -> SigningKey:
    return SigningKey()


@pytest.fixture
async def verifier(signer: SigningKey) -> AsyncIterator[JwksVerifier]:
    """Keys set by hand; any HTTP request would be recorded and fail the test."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        verifier = JwksVerifier("http://gateway.invalid/.well-known/jwks.json", ttl=float("inf"), client=client)
        verifier.set_keys(signer.jwks())
        yield verifier
    assert requests == [], "the verifier fetched the JWKS although its keys were fresh"


def _sign(key: SigningKey, payload: dict[str, Any], kid: str) -> str:
    return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": kid})


def _payload(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {**claims_of(PRINCIPAL), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, "typ": "access"}
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


async def test_valid_token_gives_the_principal(signer: SigningKey, verifier: JwksVerifier) -> None:
    principal = await verifier.verify(signer.access_token(claims_of(PRINCIPAL), ttl_seconds=60))
    assert principal == PRINCIPAL
    assert principal.has("crm:write")
    assert not principal.has("crm:admin")


async def test_expired_token_is_refused(signer: SigningKey, verifier: JwksVerifier) -> None:
    with pytest.raises(AuthError, match="expired"):
        await verifier.verify(signer.access_token(claims_of(PRINCIPAL), ttl_seconds=-1))


async def test_a_verified_token_is_remembered_until_it_expires(signer: SigningKey, verifier: JwksVerifier) -> None:
    token = signer.access_token(claims_of(PRINCIPAL), ttl_seconds=1)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # the cached answer, no second signature check
    await asyncio.sleep(max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time()) + 0.05)
    with pytest.raises(AuthError, match="expired"):
        await verifier.verify(token)


async def test_the_cache_is_keyed_by_the_whole_token(signer: SigningKey, verifier: JwksVerifier) -> None:
    token = signer.access_token(claims_of(PRINCIPAL), ttl_seconds=60)
    await verifier.verify(token)
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}AAAA"
    with pytest.raises(AuthError, match="invalid token"):
        await verifier.verify(tampered)


async def test_new_keys_forget_tokens_verified_with_the_old_ones(
    signer: SigningKey, other_signer: SigningKey, verifier: JwksVerifier
) -> None:
    token = signer.access_token(claims_of(PRINCIPAL), ttl_seconds=60)
    await verifier.verify(token)
    verifier.set_keys(other_signer.jwks())  # the old key was rotated out
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.verify(token)


async def test_the_cache_is_bounded(signer: SigningKey) -> None:
    verifier = JwksVerifier("http://gateway.invalid/.well-known/jwks.json", ttl=float("inf"), cache_size=2)
    verifier.set_keys(signer.jwks())
    tokens = [signer.access_token(claims_of(PRINCIPAL), ttl_seconds=60) for _ in range(3)]
    for token in tokens:
        assert await verifier.verify(token) == PRINCIPAL
    assert len(verifier._verified) == 2
    assert tokens[0] not in verifier._verified  # the oldest went first


async def test_token_of_an_unknown_key_is_refused(other_signer: SigningKey, verifier: JwksVerifier) -> None:
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.verify(other_signer.access_token(claims_of(PRINCIPAL), ttl_seconds=60))


async def test_token_signed_by_another_key_under_our_kid_is_refused(
    signer: SigningKey, other_signer: SigningKey, verifier: JwksVerifier
) -> None:
    forged = _sign(other_signer, _payload(), kid=signer.kid)
    with pytest.raises(AuthError, match="invalid token"):
        await verifier.verify(forged)


@pytest.mark.parametrize("typ", ["refresh", None])
async def test_non_access_token_is_refused(signer: SigningKey, verifier: JwksVerifier, typ: str | None) -> None:
    with pytest.raises(AuthError, match="not an access token"):
        await verifier.verify(_sign(signer, _payload(typ=typ), kid=signer.kid))


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "someone-else"}, {"iss": "evil"}, {"iat": None}],
    ids=["audience", "issuer", "no-iat"],
)
async def test_token_with_wrong_registered_claims_is_refused(
    signer: SigningKey, verifier: JwksVerifier, overrides: dict[str, Any]
) -> None:
    with pytest.raises(AuthError, match="invalid token"):
        await verifier.verify(_sign(signer, _payload(**overrides), kid=signer.kid))


async def test_token_without_tenant_is_refused(signer: SigningKey, verifier: JwksVerifier) -> None:
    with pytest.raises(AuthError, match="tid"):
        await verifier.verify(_sign(signer, _payload(tid=None), kid=signer.kid))


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
async def test_malformed_token_is_refused(verifier: JwksVerifier, token: str) -> None:
    with pytest.raises(AuthError, match="malformed"):
        await verifier.verify(token)


# --- problem details ----------------------------------------------------------------------
def test_problem_response() -> None:
    response = problem(404, "No lead with that id.", instance="/api/v1/leads/x")
    body = msgspec.json.decode(response.content)

    assert response.status_code == 404
    assert response.media_type == PROBLEM_JSON == "application/problem+json"
    assert body == {
        "type": "https://clinicflow.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No lead with that id.",
        "instance": "/api/v1/leads/x",
    }


def test_problem_with_slug_title_errors_and_headers() -> None:
    errors = [{"field": "phone", "message": "not a phone number"}]
    response = problem(
        422, "Bad lead.", title="Invalid lead", slug="invalid-lead", errors=errors, headers={"Retry-After": "5"}
    )
    body = msgspec.json.decode(response.content)

    assert body["type"] == "https://clinicflow.dev/problems/invalid-lead"
    assert body["title"] == "Invalid lead"
    assert body["status"] == 422
    assert body["errors"] == errors
    assert response.headers["Retry-After"] == "5"


def test_problem_for_an_unlisted_status() -> None:
    body = msgspec.json.decode(problem(418).content)
    assert body == {"type": "https://clinicflow.dev/problems/error", "title": "Error", "status": 418}


def test_problem_carries_the_correlation_id() -> None:
    token = context.correlation_id.set("corr-42")
    try:
        body = msgspec.json.decode(problem(500).content)
    finally:
        context.correlation_id.reset(token)
    assert body["correlation_id"] == "corr-42"
    assert body["title"] == "Internal error"


@pytest.mark.parametrize("purpose", ["", "Pay", "pay now", "x" * 40, "1pay"])
def test_a_link_purpose_is_a_short_lower_case_word(purpose: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        links.mint(SECRET, purpose=purpose, subject="s", tenant_id="t", ttl_seconds=60)
    with pytest.raises(ValueError, match="purpose"):
        links.verify(SECRET, "token", purpose=purpose)


def test_a_service_declares_its_own_purposes() -> None:
    token = links.mint(SECRET, purpose="anamnesis_form", subject="lead-1", tenant_id="t1", ttl_seconds=60)
    assert links.verify(SECRET, token, purpose="anamnesis_form").subject == "lead-1"


async def test_a_periodic_runner_reports_a_timer_whose_loop_ended() -> None:
    import asyncio

    from kit.periodic import Periodic, PeriodicRunner

    async def idle() -> bool:
        return False

    runner = PeriodicRunner("kit-test", [Periodic("a", idle, 0.01), Periodic("b", idle, 0.01)])
    runner.start()
    await asyncio.sleep(0.03)
    assert runner.dead() == []
    runner._running[1].cancel()  # what a bug escaping the loop looks like from outside
    await asyncio.sleep(0.01)
    assert runner.dead() == ["periodic:b"]
    await runner.stop()
    assert runner.dead() == []


def test_dlq_filters_select_by_event_id_type_and_parking_time() -> None:
    from datetime import UTC, datetime

    from kit.dlq import Filters, _when

    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    record = {"ce_id": "e1", "ce_type": "clinicflow.leads.lead.created.v1"}
    assert Filters().empty
    assert Filters().take(record, noon)
    assert Filters(event_ids=frozenset({"e1", "e2"})).take(record, noon)
    assert not Filters(event_ids=frozenset({"e2"})).take(record, noon)
    assert not Filters(types=frozenset({"clinicflow.leads.lead.updated.v1"})).take(record, noon)
    window = Filters(since=_when("2026-01-01T11:00:00Z"), until=_when("2026-01-01T12:00:00"))
    assert not window.empty
    assert not window.take(record, noon)  # `until` is exclusive; a naive instant is UTC
    assert window.take(record, _when("2026-01-01T11:00:00+00:00"))
    assert not window.take(record, _when("2026-01-01T10:59:59Z"))


def test_the_inbox_outlives_the_dead_letter_topics() -> None:
    """A replay of the oldest parked record must still find the inbox rows of the groups that handled it."""
    from pathlib import Path

    import yaml

    from kit.outbox import INBOX_RETENTION_HOURS

    topics = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "base" / "infra" / "kafka-topics.yaml"
    dlq = [d for d in yaml.safe_load_all(topics.read_text()) if d and d["metadata"]["name"].endswith("dlq")]
    assert dlq
    longest_ms = max(int(d["spec"]["config"]["retention.ms"]) for d in dlq)
    assert longest_ms < INBOX_RETENTION_HOURS * 3600 * 1000


async def test_a_deadlocks_victim_runs_again_and_other_errors_do_not() -> None:
    from sqlalchemy.exc import DBAPIError

    from kit.db import is_conflict, retrying

    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    def failure(sqlstate: str) -> DBAPIError:
        return DBAPIError("UPDATE conversations ...", None, PgError(sqlstate))

    assert is_conflict(failure("40P01"))
    assert is_conflict(failure("40001"))
    assert not is_conflict(failure("23505"))
    tries: list[int] = []

    async def deadlocked_once() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise failure("40P01")
        return "done"

    assert await retrying(deadlocked_once) == "done"
    assert len(tries) == 2

    async def unique_violation() -> str:
        tries.append(1)
        raise failure("23505")

    tries.clear()
    with pytest.raises(DBAPIError):
        await retrying(unique_violation)
    assert len(tries) == 1  # not a conflict: never run again

    async def always_deadlocked() -> str:
        tries.append(1)
        raise failure("40P01")

    tries.clear()
    with pytest.raises(DBAPIError):
        await retrying(always_deadlocked, attempts=3)
    assert len(tries) == 3
