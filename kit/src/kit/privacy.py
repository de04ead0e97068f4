"""What every service's answer to a data subject request shares (docs/privacy.md).

A service's worker subscribes to `clinicflow.privacy.events`; on `request.export_requested` it writes its part
(everything it holds about the subject, one list of rows per kind of data) as one JSON document into the object
store with `put_part`, then publishes its `privacy_part.ready` event; on `request.erasure_requested` it anonymises
its rows with the values below and publishes `privacy_part.erased`. Never another service's database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from contracts import Event, EventMeta
from contracts.privacy import PART_ERASED, PART_READY, ErasureRequestedV1, ExportRequestedV1, Subject
from kit.db import UnitOfWork
from kit.messaging import Handler
from kit.objects import ObjectStore, StoredObject

#: Rows by kind of data: {"leads": [{...}], "activities": [...]}.
Records = Mapping[str, Sequence[Mapping[str, Any]]]

#: What an erased person's name becomes (lists and cards still show a row; counts and revenue stay right).
ERASED_NAME = "Erased person"
#: What erased free text (messages, notes) becomes.
ERASED_TEXT = "[erased]"


def part_key(tenant_id: str, request_id: str, service: str) -> str:
    return f"privacy/{tenant_id}/{request_id}/{service}.json"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def encode_part(service: str, request_id: str, data: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
    document = {
        "service": service,
        "request_id": request_id,
        "data": {kind: [dict(row) for row in rows] for kind, rows in data.items()},
    }
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=1, sort_keys=True).encode()


async def put_part(
    store: ObjectStore,
    *,
    tenant_id: str,
    request_id: str,
    service: str,
    data: Mapping[str, Sequence[Mapping[str, Any]]],
) -> tuple[StoredObject, dict[str, int]]:
    """Write the part; the same request written twice (a redelivery) overwrites the same key."""
    stored = await store.put(
        part_key(tenant_id, request_id, service),
        encode_part(service, request_id, data),
        content_type="application/json",
    )
    return stored, {kind: len(rows) for kind, rows in data.items()}


class SubjectRecords(Protocol):
    """A service's repository of what it holds about a data subject (its own tables only)."""

    async def export(self, tenant_id: str, subject: Subject) -> Records: ...

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """Anonymise; (rows anonymised, rows retained by law) by kind of data."""
        ...


def _part_events(service: str) -> tuple[Any, Any]:
    ready = next(e for e in PART_READY if service == e.SERVICE)
    erased = next(e for e in PART_ERASED if service == e.SERVICE)
    return ready, erased


def answers(
    service: str, records: Callable[[UnitOfWork], SubjectRecords], store: Callable[[], ObjectStore]
) -> dict[type[Event], Handler]:
    """The handlers a service's privacy consumer needs: its part of an export written to the object store and
    announced with its `privacy_part.ready`, its erasure done and announced with its `privacy_part.erased`."""
    ready, erased = _part_events(service)

    async def export_requested(uow: UnitOfWork, event: ExportRequestedV1, meta: EventMeta) -> None:
        data = await records(uow).export(meta.tenant_id, event.subject)
        stored, counts = await put_part(
            store(), tenant_id=meta.tenant_id, request_id=event.request_id, service=service, data=data
        )
        part = ready(
            request_id=event.request_id,
            service=service,
            counts=counts,
            at=datetime.now(UTC),
            object_key=stored.key,
            sha256=stored.sha256,
            size_bytes=stored.size,
        )
        uow.publish(part, tenant_id=meta.tenant_id)

    async def erasure_requested(uow: UnitOfWork, event: ErasureRequestedV1, meta: EventMeta) -> None:
        counts, retained = await records(uow).erase(meta.tenant_id, event.subject)
        part = erased(
            request_id=event.request_id, service=service, counts=counts, retained=retained, at=datetime.now(UTC)
        )
        uow.publish(part, tenant_id=meta.tenant_id)

    return {ExportRequestedV1: export_requested, ErasureRequestedV1: erasure_requested}
