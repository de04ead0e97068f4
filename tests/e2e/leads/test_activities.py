"""Activities through the gateway with real tokens: plan, list, filter, reschedule, complete, cancel; private
activities (agent A, agent B, a manager); the bell; events in the outbox; bad input; a second clinic."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, outbox, staff

pytestmark = pytest.mark.e2e

ACTIVITIES = "/api/v1/leads/activities"
SCHEDULED = "clinicflow.leads.activity.scheduled.v1"
COMPLETED = "clinicflow.leads.activity.completed.v1"


def me(api: Api) -> dict[str, Any]:
    answer = api.http.get("/api/v1/me")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def at(delta: timedelta) -> str:
    """An aware ISO time, written with the São Paulo offset to show offsets are honoured."""
    return (datetime.now(UTC) + delta).astimezone(ZoneInfo("America/Sao_Paulo")).isoformat()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def plan(api: Api, lead_id: str, **body: Any) -> dict[str, Any]:
    answer = api.http.post(f"/api/v1/leads/{lead_id}/activities", json={"type": "call", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    answer = api.http.get(ACTIVITIES, params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [a["id"] for a in items]


def field_of(answer: Any) -> str:
    return answer.json()["errors"][0]["field"]  # type: ignore[no-any-return]


def test_plan_list_filter_reschedule_complete_cancel(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    agent, agent_id = staff(stack, admin, "sales_agent")
    admin_id = me(admin)["id"]
    lead = admin.create_lead(phone=unique_phone())
    lead_id = lead["id"]

    answer = admin.http.post(
        f"/api/v1/leads/{lead_id}/activities", json={"type": "call", "scheduled_at": at(timedelta(hours=2))}
    )
    assert answer.status_code == 201, answer.text
    call = answer.json()
    assert answer.headers["location"] == f"{ACTIVITIES}/{call['id']}"
    assert (call["type"], call["title"], call["state"], call["private"]) == ("call", "Call", "scheduled", False)
    assert call["responsible_id"] == admin_id
    assert call["created_by"] == admin_id
    assert call["scheduled_at"].endswith("Z")  # stored and shown in UTC
    assert call["overdue"] is False

    meeting = plan(
        admin,
        lead_id,
        type="meeting",
        title="  Avaliação   presencial ",
        notes="Trazer exames",
        scheduled_at=at(timedelta(days=3)),
        responsible_id=agent_id,
    )
    assert (meeting["title"], meeting["notes"], meeting["responsible_id"]) == (
        "Avaliação presencial",
        "Trazer exames",
        agent_id,
    )
    task = plan(admin, lead_id, type="task", scheduled_at=at(timedelta(days=10)))

    assert ids(listed(admin, lead_id=lead_id)) == [call["id"], meeting["id"], task["id"]]
    assert ids(listed(admin, lead_id=lead_id, sort="-scheduled_at")) == [task["id"], meeting["id"], call["id"]]
    assert ids(listed(admin, lead_id=lead_id, type="meeting,task")) == [meeting["id"], task["id"]]
    assert ids(listed(admin, lead_id=lead_id, responsible_id=agent_id)) == [meeting["id"]]
    assert ids(listed(agent, lead_id=lead_id, mine="true")) == [meeting["id"]]
    window = {"scheduled_from": at(timedelta(days=1)), "scheduled_to": at(timedelta(days=5))}
    assert ids(listed(admin, lead_id=lead_id, **window)) == [meeting["id"]]
    page = admin.http.get(ACTIVITIES, params={"lead_id": lead_id, "limit": 1, "offset": 1}).json()
    assert (ids(page["items"]), page["total"], page["limit"], page["offset"]) == ([meeting["id"]], 3, 1, 1)
    by_lead = admin.http.get(f"/api/v1/leads/{lead_id}/activities").json()
    assert ids(by_lead["items"]) == [call["id"], meeting["id"], task["id"]]
    assert admin.http.get(f"{ACTIVITIES}/{meeting['id']}").json() == meeting

    # Reschedule: the plan changes, activity.scheduled is published again with the new time.
    new_time = at(timedelta(days=4, hours=1))
    moved = agent.http.patch(f"{ACTIVITIES}/{meeting['id']}", json={"scheduled_at": new_time, "notes": None})
    assert moved.status_code == 200, moved.text
    assert utc(moved.json()["scheduled_at"]) == utc(new_time)
    assert moved.json()["notes"] is None

    done = agent.http.post(f"{ACTIVITIES}/{meeting['id']}/complete", json={"result": "Fechou o orçamento"})
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["result"], done.json()["completed_by"]) == (
        "done",
        "Fechou o orçamento",
        agent_id,
    )
    assert done.json()["completed_at"] is not None
    again = agent.http.post(f"{ACTIVITIES}/{meeting['id']}/complete", json={})
    assert again.status_code == 409, again.text
    assert "already done" in again.json()["detail"]
    late_edit = agent.http.patch(f"{ACTIVITIES}/{meeting['id']}", json={"title": "Outra"})
    assert late_edit.status_code == 409

    cancelled = admin.http.post(f"{ACTIVITIES}/{task['id']}/cancel", json={"reason": "Paciente desistiu"})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["state"], body["cancel_reason"], body["cancelled_by"], body["result"]) == (
        "cancelled",
        "Paciente desistiu",
        admin_id,
        None,
    )
    twice = admin.http.post(f"{ACTIVITIES}/{task['id']}/cancel")
    assert twice.status_code == 409
    assert "already cancelled" in twice.json()["detail"]
    assert admin.http.post(f"{ACTIVITIES}/{task['id']}/complete").status_code == 409
    no_body = admin.http.post(f"{ACTIVITIES}/{call['id']}/complete")
    assert no_body.status_code == 200, no_body.text
    assert no_body.json()["result"] is None

    assert ids(listed(admin, lead_id=lead_id, state="done")) == [call["id"], meeting["id"]]
    assert ids(listed(admin, lead_id=lead_id, state="cancelled")) == [task["id"]]
    assert listed(admin, lead_id=lead_id, state="scheduled") == []

    trail = admin.http.get(f"/api/v1/leads/{lead_id}/audit").json()["items"]
    activity_trail = [(e["entity_id"], e["action"]) for e in trail if e["entity"] == "activity"]
    assert activity_trail == [
        (call["id"], "created"),
        (meeting["id"], "created"),
        (task["id"], "created"),
        (meeting["id"], "updated"),
        (meeting["id"], "completed"),
        (task["id"], "cancelled"),
        (call["id"], "completed"),
    ]
    meeting_created = next(e for e in trail if e["entity_id"] == meeting["id"])
    assert meeting_created["changes"]["title"] == [None, "Avaliação presencial"]
    assert next(e for e in trail if e["action"] == "cancelled")["changes"]["reason"] == "Paciente desistiu"

    events = [(t, p) for t, p in outbox(stack, lead_id) if t in (SCHEDULED, COMPLETED)]
    assert [(t, p["activity_id"]) for t, p in events] == [
        (SCHEDULED, call["id"]),
        (SCHEDULED, meeting["id"]),
        (SCHEDULED, task["id"]),
        (SCHEDULED, meeting["id"]),  # rescheduled
        (COMPLETED, meeting["id"]),
        (COMPLETED, call["id"]),
    ]
    assert utc(events[3][1]["scheduled_at"]) == utc(new_time)
    assert events[1][1]["responsible_id"] == agent_id
    assert (events[4][1]["result"], events[4][1]["completed_by"], events[4][1]["type"]) == (
        "Fechou o orçamento",
        agent_id,
        "meeting",
    )


def test_private_activities_are_seen_only_by_the_responsible_and_managers(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    agent_a, a_id = staff(stack, admin, "sales_agent")
    agent_b, _ = staff(stack, admin, "sales_agent")
    manager, _ = staff(stack, admin, "manager")
    lead_id = admin.create_lead(phone=unique_phone())["id"]

    secret = plan(
        agent_a,
        lead_id,
        type="meeting",
        title="Conversa sobre dívida",
        notes="Assunto delicado",
        scheduled_at=at(timedelta(hours=-2)),  # overdue, to show in A's bell
        private=True,
    )
    public = plan(agent_a, lead_id, type="call", title="Retorno", scheduled_at=at(timedelta(hours=5)))
    assert secret["private"] is True
    assert secret["responsible_id"] == a_id

    # A and the manager see it; B does not, anywhere.
    assert agent_a.http.get(f"{ACTIVITIES}/{secret['id']}").status_code == 200
    assert manager.http.get(f"{ACTIVITIES}/{secret['id']}").json()["title"] == "Conversa sobre dívida"
    assert admin.http.get(f"{ACTIVITIES}/{secret['id']}").status_code == 200
    assert ids(listed(agent_a, lead_id=lead_id)) == [secret["id"], public["id"]]
    assert ids(listed(manager, lead_id=lead_id)) == [secret["id"], public["id"]]
    assert ids(listed(manager, responsible_id=a_id, overdue="true")) == [secret["id"]]

    hidden = agent_b.http.get(f"{ACTIVITIES}/{secret['id']}")
    assert hidden.status_code == 404  # not 403: its existence is not revealed
    assert ids(listed(agent_b, lead_id=lead_id)) == [public["id"]]
    assert secret["id"] not in ids(listed(agent_b, responsible_id=a_id))
    assert secret["id"] not in ids(listed(agent_b, overdue="true"))
    assert agent_b.http.get(ACTIVITIES, params={"lead_id": lead_id}).json()["total"] == 1
    assert ids(agent_b.http.get(f"/api/v1/leads/{lead_id}/activities").json()["items"]) == [public["id"]]
    for path, body in (
        (f"{ACTIVITIES}/{secret['id']}/complete", {"result": "x"}),
        (f"{ACTIVITIES}/{secret['id']}/cancel", {"reason": "x"}),
    ):
        assert agent_b.http.post(path, json=body).status_code == 404
    assert agent_b.http.patch(f"{ACTIVITIES}/{secret['id']}", json={"private": False}).status_code == 404
    bell_b = agent_b.http.get(f"{ACTIVITIES}/bell").json()
    assert (bell_b["pending"], bell_b["overdue"], bell_b["next"]) == (0, 0, [])

    # The lead's audit trail records the private activity without its title and notes.
    trail = agent_b.http.get(f"/api/v1/leads/{lead_id}/audit")
    assert trail.status_code == 200
    assert "Conversa sobre dívida" not in trail.text
    assert "Assunto delicado" not in trail.text
    entry = next(e for e in trail.json()["items"] if e["entity_id"] == secret["id"])
    assert entry["changes"]["private"] == [None, True]
    assert "Retorno" in trail.text  # the public one is shown in full

    # A's bell counts it; the manager may act on it; its result stays out of the trail.
    bell_a = agent_a.http.get(f"{ACTIVITIES}/bell").json()
    assert (bell_a["pending"], bell_a["overdue"]) == (2, 1)
    assert ids(bell_a["next"]) == [secret["id"], public["id"]]
    edited = agent_a.http.patch(f"{ACTIVITIES}/{secret['id']}", json={"notes": "Ainda mais delicado"})
    assert edited.status_code == 200, edited.text
    done = manager.http.post(f"{ACTIVITIES}/{secret['id']}/complete", json={"result": "Acordo feito"})
    assert done.status_code == 200, done.text
    trail_text = admin.http.get(f"/api/v1/leads/{lead_id}/audit").text
    assert "Ainda mais delicado" not in trail_text
    assert "Acordo feito" not in trail_text
    assert agent_b.http.get(f"{ACTIVITIES}/{secret['id']}").status_code == 404


def test_the_bell_counts_my_pending_overdue_and_todays_activities(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    agent, agent_id = staff(stack, admin, "sales_agent")
    other, _ = staff(stack, admin, "sales_agent")
    zone = ZoneInfo(me(agent)["tenant"]["timezone"])
    lead_id = admin.create_lead(phone=unique_phone())["id"]

    empty = agent.http.get(f"{ACTIVITIES}/bell").json()
    assert empty == {"pending": 0, "overdue": 0, "due_today": 0, "next": []}

    offsets = [timedelta(minutes=-90), timedelta(minutes=30), timedelta(days=1), timedelta(days=2)]
    offsets += [timedelta(days=3), timedelta(days=10)]
    mine = [plan(agent, lead_id, scheduled_at=at(d)) for d in offsets]
    # Planned for me by someone else: mine too.
    mine.append(plan(admin, lead_id, type="task", scheduled_at=at(timedelta(days=20)), responsible_id=agent_id))
    # Not pending: a call logged in the past and completed, one cancelled, one that is someone else's.
    logged = plan(agent, lead_id, scheduled_at=at(timedelta(hours=-5)))
    assert agent.http.post(f"{ACTIVITIES}/{logged['id']}/complete", json={"result": "Atendeu"}).status_code == 200
    dropped = plan(agent, lead_id, scheduled_at=at(timedelta(hours=-3)))
    assert agent.http.post(f"{ACTIVITIES}/{dropped['id']}/cancel").status_code == 200
    plan(other, lead_id, scheduled_at=at(timedelta(hours=-1)))

    today = datetime.now(zone).date()
    expected_today = sum(1 for a in mine if utc(a["scheduled_at"]).astimezone(zone).date() == today)
    bell = agent.http.get(f"{ACTIVITIES}/bell").json()
    assert (bell["pending"], bell["overdue"], bell["due_today"]) == (7, 1, expected_today)
    assert ids(bell["next"]) == ids(mine[:5])  # five, soonest (the overdue one) first
    assert bell["next"][0]["overdue"] is True
    assert bell["next"][1]["overdue"] is False

    overdue = listed(agent, mine="true", overdue="true")
    assert ids(overdue) == [mine[0]["id"]]
    assert ids(listed(agent, mine="true", state="scheduled")) == ids(mine)


def test_bad_input_is_a_problem_naming_the_field(admin: Api, unique_phone: Callable[[], str]) -> None:
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    url = f"/api/v1/leads/{lead_id}/activities"
    soon = at(timedelta(hours=1))
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"type": "fax", "scheduled_at": soon}, 422, "type"),
        ({"type": "call", "scheduled_at": "2026-12-01T10:00:00"}, 422, "scheduled_at"),
        ({"type": "call", "scheduled_at": "tomorrow at ten"}, 400, "scheduled_at"),
        ({"type": "call", "scheduled_at": at(timedelta(days=3 * 365))}, 422, "scheduled_at"),
        ({"type": "call", "scheduled_at": at(timedelta(days=-3 * 365))}, 422, "scheduled_at"),
        ({"type": "call", "scheduled_at": soon, "title": "   "}, 422, "title"),
        ({"type": "call", "scheduled_at": soon, "title": "t" * 201}, 422, "title"),
        ({"type": "call", "scheduled_at": soon, "responsible_id": "the boss"}, 422, "responsible_id"),
        ({"type": "call", "scheduled_at": soon, "state": "done"}, 400, "state"),
        ({"type": "call"}, 400, "scheduled_at"),
    ]
    for body, status, field in cases:
        answer = admin.http.post(url, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field_of(answer) == field, (body, answer.text)

    queries: list[tuple[dict[str, Any], int, str]] = [
        ({"state": "open"}, 422, "state"),
        ({"type": "fax"}, 422, "type"),
        ({"scheduled_from": "2026-12-01T00:00:00"}, 422, "scheduled_from"),
        ({"scheduled_to": "someday"}, 400, "scheduled_to"),
        ({"scheduled_from": at(timedelta(days=2)), "scheduled_to": at(timedelta(days=1))}, 422, "scheduled_from"),
        ({"responsible_id": "x"}, 422, "responsible_id"),
        ({"lead_id": "not-a-lead"}, 422, "lead_id"),
        ({"mine": "true", "responsible_id": str(uuid.uuid4())}, 422, "mine"),
        ({"sort": "title"}, 422, "sort"),
        ({"limit": 0}, 400, "limit"),
        ({"limit": 201}, 400, "limit"),
    ]
    for params, status, field in queries:
        answer = admin.http.get(ACTIVITIES, params=params)
        assert answer.status_code == status, (params, answer.text)
        assert field_of(answer) == field, (params, answer.text)

    unknown = str(uuid.uuid4())
    assert (
        admin.http.post(f"/api/v1/leads/{unknown}/activities", json={"type": "call", "scheduled_at": soon}).status_code
        == 404
    )
    assert admin.http.get(ACTIVITIES, params={"lead_id": unknown}).status_code == 404
    for answer in (
        admin.http.get(f"{ACTIVITIES}/{unknown}"),
        admin.http.patch(f"{ACTIVITIES}/{unknown}", json={"title": "x"}),
        admin.http.post(f"{ACTIVITIES}/{unknown}/complete"),
        admin.http.post(f"{ACTIVITIES}/{unknown}/cancel"),
    ):
        assert answer.status_code == 404, answer.text
    activity = plan(admin, lead_id, scheduled_at=soon)
    for patch, status, field in [
        ({"type": "meeting"}, 400, "type"),
        ({"title": ""}, 422, "title"),
        ({"scheduled_at": "2026-12-01T10:00:00"}, 422, "scheduled_at"),
        ({"result": "x"}, 400, "result"),
    ]:
        answer = admin.http.patch(f"{ACTIVITIES}/{activity['id']}", json=patch)
        assert answer.status_code == status, (patch, answer.text)
        assert field_of(answer) == field, (patch, answer.text)
    long_result = admin.http.post(f"{ACTIVITIES}/{activity['id']}/complete", json={"result": "r" * 2001})
    assert long_result.status_code == 422
    assert field_of(long_result) == "result"


def test_reading_needs_crm_read_and_planning_crm_write(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    professional, _ = staff(stack, admin, "professional")
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    activity = plan(admin, lead_id, scheduled_at=at(timedelta(hours=1)))
    assert professional.http.get(f"{ACTIVITIES}/{activity['id']}").status_code == 200
    assert professional.http.get(f"{ACTIVITIES}/bell").status_code == 200
    body = {"type": "call", "scheduled_at": at(timedelta(hours=1))}
    assert professional.http.post(f"/api/v1/leads/{lead_id}/activities", json=body).status_code == 403
    assert professional.http.post(f"{ACTIVITIES}/{activity['id']}/complete").status_code == 403
    assert professional.http.patch(f"{ACTIVITIES}/{activity['id']}", json={"title": "x"}).status_code == 403


def test_a_second_clinic_sees_none_of_the_first_clinics_activities(
    admin: Api, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    activity = plan(admin, lead_id, scheduled_at=at(timedelta(hours=-1)), title="Ligar para Ana")
    theirs = other_clinic.http.get(ACTIVITIES, params={"limit": 200}).json()
    assert activity["id"] not in ids(theirs["items"])
    assert all(a["lead_id"] != lead_id for a in theirs["items"])
    assert other_clinic.http.get(ACTIVITIES, params={"overdue": "true"}).json()["total"] == 0
    bell = other_clinic.http.get(f"{ACTIVITIES}/bell").json()
    assert (bell["pending"], bell["overdue"]) == (0, 0)
    assert other_clinic.http.get(f"{ACTIVITIES}/{activity['id']}").status_code == 404
    assert other_clinic.http.get(ACTIVITIES, params={"lead_id": lead_id}).status_code == 404
    assert other_clinic.http.get(f"/api/v1/leads/{lead_id}/activities").status_code == 404
    assert other_clinic.http.patch(f"{ACTIVITIES}/{activity['id']}", json={"title": "Mine now"}).status_code == 404
    assert other_clinic.http.post(f"{ACTIVITIES}/{activity['id']}/complete").status_code == 404
    assert other_clinic.http.post(f"{ACTIVITIES}/{activity['id']}/cancel").status_code == 404
    body = {"type": "call", "scheduled_at": at(timedelta(hours=1))}
    assert other_clinic.http.post(f"/api/v1/leads/{lead_id}/activities", json=body).status_code == 404
    unchanged = admin.http.get(f"{ACTIVITIES}/{activity['id']}").json()
    assert (unchanged["state"], unchanged["title"]) == ("scheduled", "Ligar para Ana")
