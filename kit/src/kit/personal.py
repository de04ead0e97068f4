"""Personal fields of events encrypted with per-person keys kept outside Kafka (crypto-shredding).

The contracts mark the fields (contracts.personal); the unit of work seals them when it writes the outbox and
the idempotent consumer opens them before a handler runs, so use cases only ever see clear values. The keys
live in the privacy service's key store (one 256-bit key per person, wrapped at rest) behind its internal
endpoints, which this module calls and caches. Erasing a person shreds their keys: from then on every event
that carried their data, in Kafka, in an outbox or in a replay, opens to `erased` (contracts.personal), and a
consumer goes on with that value rather than failing. docs/privacy.md, "Encryption of personal fields".

Wire format of a sealed field: `enc:v1:<key id>:<base64url(nonce 12 bytes | ciphertext | tag)>`, AES-256-GCM
with the event id and the field's path as associated data, so a value moved to another event or field does not
open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import time
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import httpx
import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts import Event, EventMeta
from contracts.personal import alternatives, marked_fields
from kit import metrics

log = logging.getLogger(__name__)

PREFIX = "enc:v1:"
#: How many keys a process remembers, and for how long (a shredded key is forgotten within that time).
CACHE_SIZE = 50_000
CACHE_SECONDS = 60.0


#: What a caller is told (an HTTP 503 problem): the details are in the service's log.
UNAVAILABLE = (
    "Personal data cannot be protected right now (the key store did not answer); nothing was stored. Try again."
)


class KeysUnavailable(ConnectionError):
    """The key store did not answer: a producer waits (its commit fails and is retried) rather than publish a
    personal field in clear; a consumer leaves the record for redelivery (kit.messaging.TRANSIENT)."""


# --- which fields ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Leaf:
    name: str
    erased: str
    #: "str"; "dict" (dict[str, str]: each value sealed under the path `<field>.<key>`); "list" (list[str]: each
    #: item under `<field>[<index>]`).
    kind: str


@dataclass(frozen=True, slots=True)
class _Nested:
    name: str
    plan: tuple[_Leaf | _Nested, ...]


Plan = tuple[_Leaf | _Nested, ...]


@cache
def plan_of(struct: type[msgspec.Struct]) -> Plan:
    """The personal fields of a payload type, nested structs (an event's `person`) included."""
    plan: list[_Leaf | _Nested] = []
    for name, (marker, hint) in marked_fields(struct).items():
        if marker is not None:
            plan.append(_Leaf(name, marker.erased, _container(hint)))
        else:
            plan.append(_Nested(name, plan_of(hint)))
    return tuple(plan)


def _container(hint: Any) -> str:
    origins = {typing.get_origin(t) for t in alternatives(hint)}
    return "dict" if dict in origins else "list" if origins & {list, tuple} else "str"


def person_key_of(event: Event) -> str | None:
    """Whose key seals the event: its lead, else its patient, else its `person`'s, else the phone or e-mail in
    its `PERSON_ADDRESS` field, else its `person`'s phone or e-mail (the consent ledger's person keys)."""
    for holder in (event, getattr(event, "person", None)):
        if holder is None:
            continue
        if lead_id := getattr(holder, "lead_id", None):
            return f"lead:{lead_id}"
        if patient_id := getattr(holder, "patient_id", None):
            return f"patient:{patient_id}"
    subject = getattr(event, "subject", None)  # a privacy request names the person by all their ids
    for ids, kind in ((getattr(subject, "lead_ids", None), "lead"), (getattr(subject, "patient_ids", None), "patient")):
        if ids:
            return f"{kind}:{ids[0]}"
    field = type(event).PERSON_ADDRESS
    person = getattr(event, "person", None)
    addresses = (
        getattr(event, field, None) if field else None,
        getattr(person, "phone", None),  # a `person` named by no id: their phone, else their e-mail
        getattr(person, "email", None),
    )
    for address in addresses:
        if isinstance(address, str) and not address.startswith(PREFIX):
            if address.startswith("+") and address[1:].isdigit():
                return f"phone:{address}"
            if "@" in address:
                return f"email:{address.strip().lower()}"
    return None


# --- the key store -------------------------------------------------------------------------------------
class KeyStore(Protocol):
    async def ensure(self, tenant_id: str, person_keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """Each person's current key (key id, 32 bytes), made on first use (and anew after a shredding)."""
        ...

    async def unwrap(self, tenant_id: str, key_ids: Sequence[str]) -> dict[str, bytes | None]:
        """The keys by id; None for a shredded (or unknown) one."""
        ...

    async def close(self) -> None: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Ensured(msgspec.Struct):
    keys: dict[str, dict[str, str]]


class _Unwrapped(msgspec.Struct):
    keys: dict[str, str | None]


class HttpKeyStore:
    """The privacy service's internal key endpoints (`/internal/keys/...`, a bearer token shared by the
    services; never routed by the gateway)."""

    def __init__(self, url: str, token: str, *, timeout: float = 5.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            timeout=timeout,
        )

    async def _post(self, path: str, body: dict[str, Any]) -> bytes:
        try:
            answer = await self._client.post(path, content=msgspec.json.encode(body))
        except httpx.HTTPError as exc:
            log.warning("the key store did not answer %s: %r", path, exc)
            raise KeysUnavailable(UNAVAILABLE) from exc
        if answer.status_code != 200:
            log.warning("the key store answered %s with %d: %s", path, answer.status_code, answer.text[:300])
            raise KeysUnavailable(UNAVAILABLE)
        return answer.content

    async def ensure(self, tenant_id: str, person_keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        raw = await self._post("/internal/keys/ensure", {"tenant_id": tenant_id, "person_keys": list(person_keys)})
        got = msgspec.json.decode(raw, type=_Ensured).keys
        return {person: (entry["key_id"], _unb64(entry["key"])) for person, entry in got.items()}

    async def unwrap(self, tenant_id: str, key_ids: Sequence[str]) -> dict[str, bytes | None]:
        raw = await self._post("/internal/keys/unwrap", {"tenant_id": tenant_id, "key_ids": list(key_ids)})
        got = msgspec.json.decode(raw, type=_Unwrapped).keys
        return {key_id: (_unb64(key) if key else None) for key_id, key in got.items()}

    async def close(self) -> None:
        await self._client.aclose()


class _Cache:
    """A bounded map whose entries expire: a process forgets a key (and that a key is gone) in `seconds`."""

    def __init__(self, seconds: float, size: int = CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, key: tuple[str, str]) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: tuple[str, str], value: Any) -> None:
        if len(self._entries) >= self.size:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            while len(self._entries) >= self.size:  # still full of live keys: the oldest go first
                del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + self.seconds, value)


# --- sealing and opening -------------------------------------------------------------------------------
def _aad(event_id: str, path: str) -> bytes:
    return f"{event_id}|{path}".encode()


def _walk(plan: Plan, holder: Any, path: str = "") -> Iterable[tuple[str, _Leaf, Any]]:
    """(path, leaf, holder) of every personal leaf that has a value, nested ones included."""
    for node in plan:
        value = getattr(holder, node.name, None)
        if value is None:
            continue
        if isinstance(node, _Nested):
            yield from _walk(node.plan, value, f"{path}{node.name}.")
        else:
            yield f"{path}{node.name}", node, value


def _rebuild(plan: Plan, holder: Any, change: Any, path: str = "") -> Any:
    """A copy of `holder` with each personal leaf's value passed through `change(path, leaf, value)`."""
    updates: dict[str, Any] = {}
    for node in plan:
        value = getattr(holder, node.name, None)
        if value is None:
            continue
        if isinstance(node, _Nested):
            updates[node.name] = _rebuild(node.plan, value, change, f"{path}{node.name}.")
        elif node.kind == "dict":
            updates[node.name] = {k: change(f"{path}{node.name}.{k}", node, v) for k, v in value.items()}
        elif node.kind == "list":
            # An erased item goes: a list of a person's phones must not come back as [""] and match every blank.
            changed = (change(f"{path}{node.name}[{i}]", node, v) for i, v in enumerate(value))
            updates[node.name] = type(value)(v for v in changed if v != "")
        else:
            updates[node.name] = change(f"{path}{node.name}", node, value)
    return msgspec.structs.replace(holder, **updates) if updates else holder


def _sealed_ids(plan: Plan, event: Event) -> set[str]:
    ids: set[str] = set()
    for _, leaf, value in _walk(plan, event):
        for item in value.values() if leaf.kind == "dict" else value if leaf.kind == "list" else (value,):
            if isinstance(item, str) and item.startswith(PREFIX):
                ids.add(item[len(PREFIX) :].split(":", 1)[0])
    return ids


class PersonalCipher:
    """Seals the personal fields of the events a unit of work publishes and opens those a consumer reads."""

    def __init__(self, store: KeyStore, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self._by_person = _Cache(cache_seconds)
        self._by_id = _Cache(cache_seconds)
        #: Key-store calls in flight, by (tenant, key id): a worker's consumers of several topics and groups
        #: receive a new person's events at the same moment, and one call fetches the key for all of them.
        self._fetching: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def close(self) -> None:
        await self.store.close()

    async def seal(self, staged: Sequence[tuple[Event, EventMeta]]) -> list[Event]:
        """The events with their personal fields sealed under their person's key (one key-store call for the
        people no key is cached for)."""
        wanted: dict[str, set[str]] = {}
        jobs: list[tuple[Plan, str | None]] = []
        for event, meta in staged:
            plan = plan_of(type(event))
            person = person_key_of(event) if plan and any(True for _ in _walk(plan, event)) else None
            jobs.append((plan, person))
            if person is not None and not self._by_person.get((meta.tenant_id, person))[0]:
                wanted.setdefault(meta.tenant_id, set()).add(person)
        for tenant_id, people in wanted.items():
            for person, (key_id, key) in (await self.store.ensure(tenant_id, sorted(people))).items():
                self._by_person.put((tenant_id, person), (key_id, AESGCM(key)))
                self._by_id.put((tenant_id, key_id), AESGCM(key))
        sealed: list[Event] = []
        for (event, meta), (plan, person) in zip(staged, jobs, strict=True):
            if person is None:
                sealed.append(event)
                continue
            found, entry = self._by_person.get((meta.tenant_id, person))
            if not found:
                raise KeysUnavailable(f"the key store gave no key for {type(event).__name__}")
            key_id, aead = entry

            def seal_one(
                path: str, leaf: _Leaf, value: Any, key_id: str = key_id, aead: AESGCM = aead, meta: EventMeta = meta
            ) -> Any:
                if not isinstance(value, str) or not value or value.startswith(PREFIX):
                    return value
                nonce = os.urandom(12)
                secret = aead.encrypt(nonce, value.encode(), _aad(meta.id, path))
                return f"{PREFIX}{key_id}:{_b64(nonce + secret)}"

            sealed.append(_rebuild(plan, event, seal_one))
            metrics.PERSONAL_FIELDS.labels("sealed").inc()
        return sealed

    async def _fetch(self, tenant_id: str, key_ids: set[str]) -> None:
        """The keys into the cache: one key-store call for those nobody is fetching, then the others' calls
        awaited (their failure is ours: the records are read again, kit.messaging)."""
        theirs = {self._fetching[(tenant_id, k)] for k in key_ids if (tenant_id, k) in self._fetching}
        mine = sorted(k for k in key_ids if (tenant_id, k) not in self._fetching)
        if mine:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.add_done_callback(lambda f: f.cancelled() or f.exception())  # a failure nobody awaits is no warning
            for key_id in mine:
                self._fetching[(tenant_id, key_id)] = done
            try:
                got = await self.store.unwrap(tenant_id, mine)
                for key_id in mine:
                    key = got.get(key_id)
                    self._by_id.put((tenant_id, key_id), AESGCM(key) if key else None)
                done.set_result(None)
            except BaseException as exc:
                # The others wait on this call: they get its failure (a cancelled fetch is the key store
                # unavailable to them, never their own cancellation).
                done.set_exception(
                    exc if isinstance(exc, Exception) else KeysUnavailable("the key fetch was cancelled")
                )
                raise
            finally:
                for key_id in mine:
                    self._fetching.pop((tenant_id, key_id), None)
        for other in theirs:
            await asyncio.shield(other)

    async def open(self, received: Sequence[tuple[Event, EventMeta]]) -> list[Event]:
        """The events with their sealed fields opened; a field whose key was shredded reads as its `erased`."""
        wanted: dict[str, set[str]] = {}
        plans: list[Plan] = []
        for event, meta in received:
            plan = plan_of(type(event))
            plans.append(plan)
            for key_id in _sealed_ids(plan, event) if plan else ():
                if not self._by_id.get((meta.tenant_id, key_id))[0]:
                    wanted.setdefault(meta.tenant_id, set()).add(key_id)
        for tenant_id, key_ids in wanted.items():
            await self._fetch(tenant_id, key_ids)
        opened: list[Event] = []
        for (event, meta), plan in zip(received, plans, strict=True):
            if not plan:
                opened.append(event)
                continue

            def open_one(path: str, leaf: _Leaf, value: Any, meta: EventMeta = meta) -> Any:
                if not isinstance(value, str) or not value.startswith(PREFIX):
                    return value  # published in clear (before sealing, or naming nobody)
                key_id, _, body = value[len(PREFIX) :].partition(":")
                aead = self._by_id.get((meta.tenant_id, key_id))[1]
                if aead is None:
                    metrics.PERSONAL_FIELDS.labels("erased").inc()
                    return leaf.erased
                try:
                    raw = _unb64(body)
                    clear = aead.decrypt(raw[:12], raw[12:], _aad(meta.id, path)).decode()
                except (InvalidTag, binascii.Error, ValueError):
                    log.warning("a sealed field of event %s does not open (%s): read as erased", meta.id, path)
                    metrics.PERSONAL_FIELDS.labels("unreadable").inc()
                    return leaf.erased
                metrics.PERSONAL_FIELDS.labels("opened").inc()
                return clear

            opened.append(_rebuild(plan, event, open_one))
        return opened


def from_settings(url: str, token: str, cache_seconds: float = CACHE_SECONDS) -> PersonalCipher | None:
    """None when no key store is configured (a service run alone, its own tests): events then go in clear."""
    if not url.strip():
        return None
    if not token.strip():
        raise SystemExit("PERSONAL_KEYS_TOKEN must be set when PERSONAL_KEYS_URL is")
    return PersonalCipher(HttpKeyStore(url, token), cache_seconds=cache_seconds)
