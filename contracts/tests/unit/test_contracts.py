"""Event contracts: golden examples, the CloudEvents envelope, naming rules, the generated docs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
import yaml

from contracts import (
    REGISTRY,
    TOPICS,
    EventMeta,
    catalogue,
    decode_payload,
    from_headers,
    spec_for,
    spec_of,
    to_headers,
)
from contracts.envelope import EnvelopeError
from contracts.registry import UnknownEventType

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
TYPE_PATTERN = re.compile(
    r"^clinicflow\.(?P<context>[a-z_]+)\.(?P<aggregate>[a-z_]+)\.(?P<verb>[a-z_]+)\.v(?P<n>[1-9]\d*)$"
)
TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def _example_type(path: Path) -> str:
    return path.name.removesuffix(".json")


def _meta(**overrides: object) -> EventMeta:
    values: dict[str, object] = {
        "id": "0193a0c2-7b4e-7c1a-9a51-3f7c2d9e8b10",
        "source": "clinicflow/leads",
        "type": "clinicflow.leads.lead.created.v1",
        "time": datetime(2026, 11, 28, 10, 15, 0, 123456, tzinfo=UTC),
        "subject": "0193a0c2-7b4e-7c1a-9a51-3f7c2d9e8b10",
        "tenant_id": "0193a0c2-0000-7000-8000-000000000001",
        "correlation_id": "corr-1",
    }
    values.update(overrides)
    return EventMeta(**values)  # type: ignore[arg-type]


# --- golden examples ----------------------------------------------------------------------
def test_there_are_golden_examples() -> None:
    assert EXAMPLES, f"no examples in {EXAMPLES_DIR}"


def test_every_registry_type_has_a_golden_example() -> None:
    assert set(REGISTRY) <= {_example_type(p) for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_type)
def test_golden_example_decodes_and_reencodes(path: Path) -> None:
    raw = path.read_bytes()
    spec = spec_for(_example_type(path))  # the file name must be a registered type

    event = msgspec.json.decode(raw, type=spec.struct)

    assert isinstance(event, spec.struct)
    assert spec_of(event) == spec
    assert msgspec.json.decode(msgspec.json.encode(event)) == json.loads(raw)
    # The aggregate id is a real payload field.
    assert event.aggregate_id() == json.loads(raw)[spec.struct.AGGREGATE]


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_type)
def test_unknown_payload_fields_are_ignored(path: Path) -> None:
    event_type = _example_type(path)
    payload = json.loads(path.read_bytes())
    newer = {**payload, "added_in_a_later_producer": {"nested": [1, 2, 3]}, "another_flag": True}

    decoded = decode_payload(event_type, json.dumps(newer).encode())

    assert decoded == decode_payload(event_type, path.read_bytes())


def test_decode_payload_rejects_a_missing_required_field() -> None:
    path = EXAMPLES_DIR / "clinicflow.leads.lead.created.v1.json"
    payload = json.loads(path.read_bytes())
    del payload["phone"]
    with pytest.raises(msgspec.ValidationError, match="phone"):
        decode_payload("clinicflow.leads.lead.created.v1", json.dumps(payload).encode())


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(UnknownEventType):
        spec_for("clinicflow.leads.lead.exploded.v1")


# --- envelope -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "meta",
    [
        _meta(),
        _meta(causation_id="0193a0c2-aaaa-7000-8000-000000000002", traceparent=TRACEPARENT),
        _meta(time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3)))),
    ],
    ids=["minimal", "with-causation-and-trace", "non-utc-offset"],
)
def test_headers_round_trip(meta: EventMeta) -> None:
    headers = to_headers(meta)

    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    names = dict(headers)
    assert names["ce_specversion"] == b"1.0"
    assert names["content-type"] == b"application/json"
    assert from_headers(headers) == meta
    assert from_headers(dict(headers)) == meta  # a mapping works as well as a list of pairs


def test_optional_headers_are_omitted_when_unset() -> None:
    names = dict(to_headers(_meta()))
    assert "ce_causationid" not in names
    assert "traceparent" not in names


def test_from_headers_accepts_str_values() -> None:
    meta = _meta()
    as_text = {k: v.decode() for k, v in to_headers(meta)}
    assert from_headers(as_text) == meta


@pytest.mark.parametrize("version", [b"0.3", b"2.0", b""])
def test_from_headers_rejects_a_wrong_specversion(version: bytes) -> None:
    headers = [(k, version if k == "ce_specversion" else v) for k, v in to_headers(_meta())]
    with pytest.raises(EnvelopeError, match="specversion"):
        from_headers(headers)


def test_from_headers_rejects_a_missing_specversion() -> None:
    headers = [(k, v) for k, v in to_headers(_meta()) if k != "ce_specversion"]
    with pytest.raises(EnvelopeError):
        from_headers(headers)


@pytest.mark.parametrize("dropped", ["ce_id", "ce_time", "ce_tenantid"])
def test_from_headers_rejects_a_missing_required_header(dropped: str) -> None:
    headers = [(k, v) for k, v in to_headers(_meta()) if k != dropped]
    with pytest.raises(EnvelopeError):
        from_headers(headers)


def test_from_headers_rejects_a_bad_time() -> None:
    headers = [(k, b"yesterday" if k == "ce_time" else v) for k, v in to_headers(_meta())]
    with pytest.raises(EnvelopeError):
        from_headers(headers)


# --- naming rules -------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_registry_naming(event_type: str) -> None:
    spec = REGISTRY[event_type]
    match = TYPE_PATTERN.match(event_type)

    assert match, f"{event_type} is not clinicflow.<context>.<aggregate>.<verb>.v<N>"
    assert spec.type == spec.struct.TYPE == event_type
    assert spec.name == spec.struct.__name__
    assert spec.name.endswith(f"V{match['n']}"), f"{spec.name} does not end with V{match['n']}"
    # The event goes to its own context's topic, and that topic exists.
    assert spec.topic == spec.struct.TOPIC == f"clinicflow.{match['context']}.events"
    assert spec.topic in {t.name for t in TOPICS}
    assert spec.struct.AGGREGATE in {f.name for f in msgspec.structs.fields(spec.struct)}


# --- generated documents ------------------------------------------------------------------
def test_committed_asyncapi_and_catalogue_are_fresh(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main(["--check"]) == 0, capsys.readouterr().out


def test_asyncapi_lists_every_registry_type() -> None:
    document = yaml.safe_load(catalogue.ASYNCAPI_PATH.read_text())
    messages = document["components"]["messages"]

    assert document["asyncapi"].startswith("3.")
    assert {m["name"] for m in messages.values()} == set(REGISTRY)
    for spec in REGISTRY.values():
        assert messages[spec.name]["payload"] == {"$ref": f"#/components/schemas/{spec.name}"}
        assert spec.name in document["components"]["schemas"]
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {t.name for t in TOPICS}


def test_event_catalogue_mentions_every_registry_type() -> None:
    text = catalogue.CATALOGUE_PATH.read_text()
    for event_type, spec in REGISTRY.items():
        assert f"### `{event_type}` ({spec.name})" in text
