"""What every service's answer to a data subject request shares (docs/privacy.md).

A service's worker subscribes to `clinicflow.privacy.events`; on `request.export_requested` it writes its part
(everything it holds about the subject, one list of rows per kind of data) as one JSON document into the object
store with `put_part`, then publishes its `privacy_part.ready` event; on `request.erasure_requested` it anonymises
its rows with the values below and publishes `privacy_part.erased`. Never another service's database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kit.objects import ObjectStore, StoredObject

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
