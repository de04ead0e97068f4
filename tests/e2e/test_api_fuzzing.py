"""One API for integrators: the gateway's merged OpenAPI document and its UI, and property-based fuzzing
(schemathesis) of every operation in it through the gateway with a real token: no 5xx, every error an RFC 9457
problem document. A service joins by being registered at the gateway; the budget is fixed (FUZZ_EXAMPLES per
operation, derandomised), so the run takes a few minutes at most."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from devkit.stack import Stack
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e

#: Examples per operation. Small on purpose: the fuzz is a net for 5xx and wrong error shapes, run on every
#: test run, not a soak (CLINICFLOW_FUZZ_EXAMPLES=200 for a deeper look by hand).
FUZZ_EXAMPLES = int(os.environ.get("CLINICFLOW_FUZZ_EXAMPLES", "12"))
#: Login counts failed attempts per client address (everything here comes from 127.0.0.1), so fuzzing it
#: would lock the other tests of the session out; its bad input is covered by test_input_hardening.
NOT_FUZZED = "/api/v1/auth/login"
#: Server-sent event streams (`.../stream`) never end, so a request-response fuzz cannot judge them; the
#: stream's own tests cover them.
STREAMS = r"/stream$"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def merged(stack: Stack) -> dict[str, Any]:
    answer = httpx.get(f"{stack.gateway_url}/api/v1/openapi.json", timeout=20.0)
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    assert "x-unavailable" not in document, document["x-unavailable"]
    return document


def test_one_document_holds_every_service_under_its_gateway_paths(stack: Stack, merged: dict[str, Any]) -> None:
    assert merged["openapi"].startswith("3.1")
    paths = merged["paths"]
    for path in (
        "/api/v1/auth/login",  # the gateway's own
        "/api/v1/identity/roles",
        "/api/v1/leads",  # leads
        "/api/v1/leads/{lead_id}",
        "/public/forms/{key}",
        "/webhooks/tilda/{key}",
        "/api/v1/notifications/messages",  # notifications
    ):
        assert path in paths, path
    assert not [p for p in paths if p.startswith(("/health", "/metrics", "/schema"))]
    # every registered service has its operations in the document (so the fuzz below reaches all of them)
    services = [s["name"] for s in tomllib.loads((ROOT / "stack.toml").read_text())["service"]]
    missing = [s for s in services if s != "gateway" and not any(p.startswith(f"/api/v1/{s}") for p in paths)]
    assert not missing, missing
    op_ids = [op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)]
    assert len(op_ids) == len(set(op_ids))
    problem = merged["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    ui = httpx.get(f"{stack.gateway_url}/api/v1/docs", timeout=20.0)
    assert ui.status_code == 200
    assert ui.headers["content-type"].startswith("text/html")
    assert "/api/v1/openapi.json" in ui.text or '"paths"' in ui.text


def _check(case: Any, stack: Stack, token: str, found: list[str]) -> None:
    response = case.call(base_url=stack.gateway_url, headers={"authorization": token}, timeout=20)
    # Binary answers (an xlsx report, a PDF receipt) are no text: show their first bytes as they come.
    shown = response.content[:300].decode("utf-8", errors="replace")
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {shown}"
    if response.status_code >= 500:
        found.append(f"5xx: {where}")
    elif response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        body = response.json() if content_type.startswith("application/problem+json") else {}
        if body.get("status") != response.status_code or not body.get("type") or not body.get("title"):
            found.append(f"not a problem document ({content_type}): {where}")


def test_no_operation_answers_5xx_and_every_error_is_a_problem(
    stack: Stack, admin: Api, merged: dict[str, Any]
) -> None:
    """Valid and invalid requests (schemathesis' positive and negative modes) for every operation but login and
    the event streams."""
    schema = schemathesis.openapi.from_dict(merged).exclude(path=NOT_FUZZED).exclude(path_regex=STREAMS)
    token = admin.http.headers["authorization"]
    found: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # what is found is reported as found, not shrunk
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            _check(case, stack, token, found)

        fuzz()
    assert operations >= 40, operations
    assert not found, "\n".join(dict.fromkeys(found))
