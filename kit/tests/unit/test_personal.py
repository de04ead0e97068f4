"""kit.personal: personal fields sealed per person, opened, and read as erased once the key is shredded."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from contracts import EventMeta
from contracts.leads import LeadCreatedV1, LeadStatusChangedV1
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1
from contracts.telephony import CallStartedV1
from kit.personal import PREFIX, KeysUnavailable, PersonalCipher, person_key_of, plan_of

TENANT = "11111111-1111-4111-8111-111111111111"


class MemoryKeyStore:
    """The key store's contract in memory (the real one, privacy's, is exercised by the integration tests)."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, str, bytes | None]] = {}  # key id -> (tenant, person, key)
        self.calls = 0
        self.down = False

    async def ensure(self, tenant_id: str, person_keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        self.calls += 1
        if self.down:
            raise KeysUnavailable("down")
        out: dict[str, tuple[str, bytes]] = {}
        for person in person_keys:
            live = [(kid, k) for kid, (t, p, k) in self.keys.items() if t == tenant_id and p == person and k]
            if not live:
                kid = os.urandom(8).hex()
                self.keys[kid] = (tenant_id, person, os.urandom(32))
                live = [(kid, self.keys[kid][2])]  # type: ignore[list-item]
            out[person] = live[0]  # type: ignore[assignment]
        return out

    async def unwrap(self, tenant_id: str, key_ids: Sequence[str]) -> dict[str, bytes | None]:
        self.calls += 1
        return {k: (v[2] if (v := self.keys.get(k)) and v[0] == tenant_id else None) for k in key_ids}

    def shred(self, person: str) -> None:
        for kid, (t, p, _) in list(self.keys.items()):
            if p == person:
                self.keys[kid] = (t, p, None)

    async def close(self) -> None:
        return None


def meta(event_id: str = "e1") -> EventMeta:
    return EventMeta(
        id=event_id, source="clinicflow/test", type="t", time=datetime.now(UTC), subject="s", tenant_id=TENANT,
        correlation_id="c",
    )  # fmt: skip


def lead(**extra: object) -> LeadCreatedV1:
    values: dict[str, object] = {
        "lead_id": "L1", "name": "Maria Souza", "phone": "+5511987654321", "email": "maria@example.com",
        "source": "instagram", "created_at": datetime.now(UTC), "contacts": {"telegram": "123456"},
    }  # fmt: skip
    return LeadCreatedV1(**(values | extra))  # type: ignore[arg-type]


def test_the_plan_names_the_marked_fields_and_the_nested_person() -> None:
    assert [n.name for n in plan_of(LeadCreatedV1)] == ["name", "phone", "email", "contacts"]
    booked = plan_of(AppointmentBookedV1)
    assert [n.name for n in booked] == ["person"]
    assert [n.name for n in plan_of(Person)] == ["name", "phone", "email"]


def test_whose_key() -> None:
    assert person_key_of(lead()) == "lead:L1"
    call = CallStartedV1(
        call_id="c", provider="twilio", provider_call_id="p", direction="inbound", caller="+5511912345678",
        tracking_number="+551130000000", started_at=datetime.now(UTC),
    )  # fmt: skip
    assert person_key_of(call) == "phone:+5511912345678"
    assert person_key_of(msgspec.structs.replace(call, lead_id="L9")) == "lead:L9"
    assert person_key_of(msgspec.structs.replace(call, caller="anonymous")) is None
    paid_by_phone = msgspec.convert(
        {"payment_id": "p", "person": {"phone": "+5511900000000"}, "amount": "1.00", "currency": "BRL",
         "method": "pix", "provider": "asaas", "provider_payment_id": "x", "paid_at": datetime.now(UTC).isoformat()},
        PaymentConfirmedV1,
    )  # fmt: skip
    assert person_key_of(paid_by_phone) == "phone:+5511900000000"


async def test_sealed_fields_open_to_the_same_values_and_ids_stay_clear() -> None:
    store = MemoryKeyStore()
    cipher = PersonalCipher(store)
    event = lead()
    (sealed,) = await cipher.seal([(event, meta())])
    assert isinstance(sealed, LeadCreatedV1)
    assert sealed.name.startswith(PREFIX)
    assert sealed.phone.startswith(PREFIX)
    assert sealed.contacts["telegram"].startswith(PREFIX)
    assert "Maria" not in msgspec.json.encode(sealed).decode()
    assert (sealed.lead_id, sealed.source) == ("L1", "instagram")
    # a consumer in another process: its own cache, the same store
    (opened,) = await PersonalCipher(store).open([(sealed, meta())])
    assert opened == event


async def test_a_shredded_key_reads_as_erased_and_a_moved_value_does_not_open() -> None:
    store = MemoryKeyStore()
    (sealed,) = await PersonalCipher(store).seal([(lead(), meta())])
    assert isinstance(sealed, LeadCreatedV1)
    moved = msgspec.structs.replace(sealed, name=sealed.phone)  # the phone's ciphertext in the name field
    (tampered,) = await PersonalCipher(store).open([(moved, meta())])
    assert isinstance(tampered, LeadCreatedV1)
    assert tampered.name == "[erased]"
    (other_event,) = await PersonalCipher(store).open([(sealed, meta("e2"))])
    assert isinstance(other_event, LeadCreatedV1)
    assert other_event.name == "[erased]"
    store.shred("lead:L1")
    (erased,) = await PersonalCipher(store).open([(sealed, meta())])
    assert isinstance(erased, LeadCreatedV1)
    assert (erased.name, erased.phone, erased.email, erased.contacts) == ("[erased]", "", "", {"telegram": ""})
    assert erased.source == "instagram"


async def test_keys_are_fetched_once_per_batch_and_cached() -> None:
    store = MemoryKeyStore()
    cipher = PersonalCipher(store)
    staged = [(lead(lead_id=f"L{i}"), meta(f"e{i}")) for i in range(20)]
    sealed = await cipher.seal(staged)
    assert store.calls == 1
    await cipher.seal(staged)
    assert store.calls == 1
    reader = PersonalCipher(store)
    await reader.open([(e, m) for e, (_, m) in zip(sealed, staged, strict=True)])
    await reader.open([(e, m) for e, (_, m) in zip(sealed, staged, strict=True)])
    assert store.calls == 2


class SlowKeyStore(MemoryKeyStore):
    """Answers an unwrap only when let go: two consumers' calls are in flight together."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def unwrap(self, tenant_id: str, key_ids: Sequence[str]) -> dict[str, bytes | None]:
        await self.go.wait()
        if self.down:
            self.calls += 1
            raise KeysUnavailable("down")
        return await super().unwrap(tenant_id, key_ids)


async def test_consumers_opening_the_same_new_person_at_once_fetch_the_key_once() -> None:
    store = SlowKeyStore()
    sealed = await PersonalCipher(store).seal([(lead(), meta())])
    store.calls = 0
    reader = PersonalCipher(store)  # one per worker process, shared by its consumers
    received = [(sealed[0], meta())]
    both = asyncio.gather(reader.open(received), reader.open(received))
    await asyncio.sleep(0.01)
    store.go.set()
    first, second = await both
    assert store.calls == 1
    assert first[0].name == second[0].name == "Maria Souza"  # type: ignore[attr-defined]


async def test_a_failed_shared_fetch_fails_every_consumer_waiting_on_it() -> None:
    store = SlowKeyStore()
    sealed = await PersonalCipher(store).seal([(lead(), meta())])
    store.calls, store.down = 0, True
    reader = PersonalCipher(store)
    received = [(sealed[0], meta())]
    both = asyncio.gather(reader.open(received), reader.open(received), return_exceptions=True)
    await asyncio.sleep(0.01)
    store.go.set()
    outcomes = await both
    assert store.calls == 1
    assert all(isinstance(o, KeysUnavailable) for o in outcomes), outcomes
    store.down = False  # the records are read again: the next call is made, not the failed one remembered
    assert (await reader.open(received))[0].name == "Maria Souza"  # type: ignore[attr-defined]


async def test_clear_values_and_events_naming_nobody_pass_through() -> None:
    cipher = PersonalCipher(MemoryKeyStore())
    changed = LeadStatusChangedV1(
        lead_id="L1", from_status="a", to_status="b", changed_by="u", changed_at=datetime.now(UTC)
    )
    (same,) = await cipher.seal([(changed, meta())])
    assert same == changed  # no comment: nothing to seal
    before = lead()
    (clear,) = await cipher.open([(before, meta())])  # published before sealing existed
    assert clear == before


async def test_without_the_key_store_a_producer_does_not_publish_in_clear() -> None:
    store = MemoryKeyStore()
    store.down = True
    with pytest.raises(KeysUnavailable):
        await PersonalCipher(store).seal([(lead(), meta())])


async def test_a_privacy_requests_identifiers_are_sealed_and_an_erased_one_leaves_the_list() -> None:
    from contracts.privacy import ErasureRequestedV1, Subject

    store = MemoryKeyStore()
    now = datetime.now(UTC)
    request = ErasureRequestedV1(
        request_id="R1", requested_at=now, due_at=now,
        subject=Subject(lead_ids=["L1"], phones=["+5511987654321"], emails=["m@example.com"]),
    )  # fmt: skip
    (sealed,) = await PersonalCipher(store).seal([(request, meta())])
    assert isinstance(sealed, ErasureRequestedV1)
    assert sealed.subject.lead_ids == ["L1"]
    assert sealed.subject.phones[0].startswith(PREFIX)
    (opened,) = await PersonalCipher(store).open([(sealed, meta())])
    assert opened == request
    store.shred("lead:L1")
    (erased,) = await PersonalCipher(store).open([(sealed, meta())])
    assert isinstance(erased, ErasureRequestedV1)
    assert (erased.subject.lead_ids, erased.subject.phones, erased.subject.emails) == (["L1"], [], [])
