"""Cost of sealing and opening events' personal fields (kit.personal), against the bare codec in the same run.

    just bench personal [--events N] [--people P]

In process, one core: a mix of N events naming P people (lead.created, appointment.booked with its person,
message.received, call.started) goes through
  1. the ceiling: what every event costs anyway: msgspec encode on the producer, decode on the consumer;
  2. sealed: the same plus `PersonalCipher.seal` before encoding and `.open` after decoding, with each person's
     key already cached (how a process runs once it has met the person: one key-store call per commit or batch
     for the people it has not, measured end to end by the e2e tests, not here).
Reports µs per event for each and the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from contracts import Event, EventMeta
from contracts.leads import LeadCreatedV1
from contracts.notifications import MessageReceivedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1
from contracts.telephony import CallStartedV1
from kit.personal import PersonalCipher

TENANT = str(uuid.uuid4())


class PrefetchedKeys:
    """Keys made here once, before timing (the privacy key store's answers, as a warm process holds them)."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, bytes]] = {}

    async def ensure(self, tenant_id: str, person_keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        for person in person_keys:
            self.keys.setdefault(person, (str(uuid.uuid4()), os.urandom(32)))
        return {p: self.keys[p] for p in person_keys}

    async def unwrap(self, tenant_id: str, key_ids: Sequence[str]) -> dict[str, bytes | None]:
        by_id = dict(self.keys.values())
        return {k: by_id.get(k) for k in key_ids}

    async def close(self) -> None:
        return None


def events(n: int, people: int) -> list[tuple[Event, EventMeta]]:
    now = datetime.now(UTC)
    lead_ids = [str(uuid.uuid4()) for _ in range(people)]
    out: list[tuple[Event, EventMeta]] = []
    for i in range(n):
        lead_id = lead_ids[i % people]
        phone = f"+55119{i % people:08d}"
        event: Event
        match i % 4:
            case 0:
                event = LeadCreatedV1(
                    lead_id=lead_id, name="Maria Aparecida Souza", phone=phone, email="maria@example.com",
                    source="instagram", created_at=now,
                )  # fmt: skip
            case 1:
                event = AppointmentBookedV1(
                    appointment_id=str(uuid.uuid4()),
                    person=Person(lead_id=lead_id, name="Maria Aparecida Souza", phone=phone, email="m@example.com"),
                    branch_id=str(uuid.uuid4()), branch_name="Centro", professional_id=str(uuid.uuid4()),
                    professional_name="Dra. Ana", procedure_id=str(uuid.uuid4()), procedure_name="Avaliação",
                    starts_at=now, ends_at=now, timezone="America/Sao_Paulo", source="console",
                    booked_by=str(uuid.uuid4()), booked_at=now,
                )  # fmt: skip
            case 2:
                event = MessageReceivedV1(
                    conversation_id=str(uuid.uuid4()), message_id=str(uuid.uuid4()), lead_id=lead_id,
                    channel="whatsapp", sender=phone, sender_name="Maria", text="Oi, queria marcar uma avaliação",
                    provider="meta", provider_message_id="wamid.1", received_at=now,
                )  # fmt: skip
            case _:
                event = CallStartedV1(
                    call_id=str(uuid.uuid4()), provider="zadarma", provider_call_id=str(i), direction="inbound",
                    caller=phone, tracking_number="+551130000000", started_at=now,
                )  # fmt: skip
        meta = EventMeta(
            id=str(uuid.uuid4()), source="clinicflow/bench", type=event.TYPE, time=now, subject=event.aggregate_id(),
            tenant_id=TENANT, correlation_id=str(uuid.uuid4()),
        )  # fmt: skip
        out.append((event, meta))
    return out


def bare(staged: list[tuple[Event, EventMeta]]) -> float:
    started = time.process_time()
    for event, _ in staged:
        msgspec.json.decode(msgspec.json.encode(event), type=type(event))
    return time.process_time() - started


async def sealed(staged: list[tuple[Event, EventMeta]], batch: int = 200) -> float:
    producer, consumer = PersonalCipher(PrefetchedKeys()), PersonalCipher(PrefetchedKeys())
    store = PrefetchedKeys()
    producer.store = consumer.store = store
    await consumer.open(list(zip(await producer.seal(staged), [m for _, m in staged], strict=True)))  # warm caches
    started = time.process_time()
    for i in range(0, len(staged), batch):
        chunk = staged[i : i + batch]
        wire = [msgspec.json.encode(e) for e in await producer.seal(chunk)]
        received = [msgspec.json.decode(w, type=type(e)) for w, (e, _) in zip(wire, chunk, strict=True)]
        await consumer.open([(e, m) for e, (_, m) in zip(received, chunk, strict=True)])
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=2_000)
    args = parser.parse_args()
    staged = events(args.events, args.people)
    bare(staged[:500])  # warm the codecs
    ceiling = bare(staged)
    cost = asyncio.run(sealed(staged))
    per = 1e6 / args.events
    print(f"events: {args.events} naming {args.people} people; load average {os.getloadavg()[0]:.2f}")
    print(f"{'ceiling (encode + decode)':40} {ceiling * per:8.1f} µs/event")
    print(f"{'sealed (seal + encode + decode + open)':40} {cost * per:8.1f} µs/event")
    print(f"{'added by kit.personal':40} {(cost - ceiling) * per:8.1f} µs/event")


if __name__ == "__main__":
    main()
