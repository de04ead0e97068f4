"""Issue 12 end to end through the gateway, fed by real telephony events: the sandbox plays a signed Zadarma
missed call from an unknown number -> leads makes the lead, the funnel its deal with a call-back task (for the
lead's agent, or in the clinic's queue) -> an answered call from that number -> the task is done by itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, wait_until
from tests.e2e.funnel.test_funnel_flow import API, deals_of, ok
from tests.e2e.telephony.test_telephony import connect, lead_with, play, tracking_number

pytestmark = pytest.mark.e2e


def test_a_missed_call_becomes_a_call_back_task_closed_when_an_answered_call_reaches_the_person(
    stack: Stack, admin: Api, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    clinic, secret = connect(admin, "zadarma")
    number = tracking_number(admin, "google_search")
    caller = unique_phone()
    call = {"provider": "zadarma", "clinic_id": clinic, "secret": secret, "caller": caller, "tracking_number": number}
    play(stack, **call, outcome="missed", duplicate=True)

    lead = wait_until(lambda: lead_with(admin, caller), 30, "leads made no lead for the unknown caller")
    deal = wait_until(lambda: deals_of(admin, "requests", lead["id"]), 30, "no deal for the caller's lead")[0]

    def call_backs() -> list[dict[str, Any]]:
        tasks = ok(admin.http.get(f"{API}/deals/{deal['id']}"))["tasks"]
        return [t for t in tasks if t["reason"] == "missed_call"]

    [task] = wait_until(call_backs, 30, "no call-back task on the deal")
    assert (task["phone"], task["kind"], task["automatic"], task["completed_at"]) == (caller, "call", True, None)
    queue = ok(admin.http.get(f"{API}/tasks/queue"))["items"]
    assert (task["id"] in [q["task"]["id"] for q in queue]) == (task["responsible_id"] is None)
    assert all(q["task"]["id"] != task["id"] for q in ok(other_clinic.http.get(f"{API}/tasks/queue"))["items"])

    play(stack, **call, outcome="answered")
    done = wait_until(lambda: [t for t in call_backs() if t["completed_at"]], 30, "the call-back was never closed")
    assert [t["id"] for t in done] == [task["id"]]
    assert task["id"] not in [q["task"]["id"] for q in ok(admin.http.get(f"{API}/tasks/queue"))["items"]]
    feed = ok(admin.http.get(f"{API}/deals/{deal['id']}"))["feed"]
    assert any("done by itself" in f["text"] for f in feed)
    # Bad input on the clinic's settings is a problem naming the field.
    problem = ok(admin.http.put(f"{API}/settings", json={"confirm_call_hours": 0}), 422)
    assert "confirm_call_hours" in str(problem)
    assert ok(admin.http.put(f"{API}/settings", json={"confirm_call_hours": 6}))["confirm_call_hours"] == 6
