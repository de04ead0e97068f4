"""kit.privacy: a service's export part is one JSON document with a row list per kind of data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from kit.privacy import encode_part, part_key


def test_a_part_is_json_with_plain_values() -> None:
    raw = encode_part(
        "payments",
        "r1",
        {
            "charges": [
                {"amount": Decimal("150.00"), "paid_at": datetime(2026, 12, 1, tzinfo=UTC), "day": date(2026, 12, 1)}
            ]
        },
    )
    document = json.loads(raw)
    assert document["service"] == "payments"
    assert document["request_id"] == "r1"
    assert document["data"]["charges"] == [
        {"amount": "150.00", "day": "2026-12-01", "paid_at": "2026-12-01T00:00:00+00:00"}
    ]


def test_parts_live_under_the_clinic_and_request() -> None:
    assert part_key("t1", "r1", "leads") == "privacy/t1/r1/leads.json"
