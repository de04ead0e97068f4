"""funnel's part of a data subject request end to end through the gateway (docs/privacy.md): a lead becomes a
deal in *Requests and contacts* with a task -> the export archive holds funnel.json with the deal and the task ->
erasure -> the deal card shows the person anonymised, the deal itself (stage, amounts) still there."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.clinic import ok
from tests.e2e.conftest import Api, wait_until
from tests.e2e.privacy.test_privacy import finished, open_request

pytestmark = pytest.mark.e2e


def deal_of(admin: Api, phone: str) -> dict[str, Any] | None:
    pipelines = ok(admin.http.get("/api/v1/funnel/pipelines"))["items"]
    requests = next(p for p in pipelines if p["kind"] == "requests")
    board = ok(admin.http.get(f"/api/v1/funnel/pipelines/{requests['id']}/board"))
    return next((d for c in board["columns"] for d in c["deals"] if d["phone"] == phone), None)


def test_funnel_answers_the_export_and_the_erasure(admin: Api, unique_phone: Callable[[], str]) -> None:
    phone = unique_phone()
    lead = admin.create_lead(name=f"Ana Funil {uuid.uuid4().hex[:4]}", phone=phone, source="instagram")
    deal = wait_until(lambda: deal_of(admin, phone), 30, "funnel never opened the lead's deal")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    task = ok(
        admin.http.post(
            f"/api/v1/funnel/deals/{deal['id']}/tasks", json={"kind": "call", "title": "Ligar para Ana", "due_at": due}
        ),
        201,
    )
    said = admin.http.post(f"/api/v1/funnel/tasks/{task['id']}/comments", json={"text": "Prefere de manhã"})
    assert said.status_code == 201, said.text

    export = open_request(admin, "export", lead_ids=[lead["id"]])
    assert "funnel" in [p["service"] for p in export["parts"]]
    done = wait_until(finished(admin, export["id"]), 90, "the services never answered the export")
    assert {p["service"]: p["status"] for p in done["parts"]}["funnel"] == "ready"
    link = ok(admin.http.post(f"/api/v1/privacy/requests/{export['id']}/link"), 201)
    archive = httpx.Client(timeout=20.0).get(link["url"])
    assert archive.status_code == 200, archive.text
    part = json.loads(zipfile.ZipFile(io.BytesIO(archive.content)).read("funnel.json"))["data"]
    assert [d["id"] for d in part["deals"]] == [deal["id"]]
    assert [d["name"] for d in part["deals"]] == [lead["name"]]
    assert [t["title"] for t in part["tasks"]] == ["Ligar para Ana"]

    erasure = open_request(admin, "erasure", lead_ids=[lead["id"]])
    wait_until(finished(admin, erasure["id"]), 90, "the services never answered the erasure")
    erased = ok(admin.http.get(f"/api/v1/privacy/requests/{erasure['id']}"))
    assert {p["service"]: p["status"] for p in erased["parts"]}["funnel"] == "erased"
    card = ok(admin.http.get(f"/api/v1/funnel/deals/{deal['id']}"))
    assert card["deal"]["name"] == "Erased person"
    assert card["deal"]["stage_key"] == deal["stage_key"]
    assert lead["name"] not in json.dumps(card)
    assert phone not in json.dumps(card)
    assert [t["comments"] for t in card["tasks"]] == [[]]
