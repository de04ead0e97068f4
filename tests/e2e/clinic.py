"""A clinic's scheduling set-up for e2e tests, through the gateway like a clinic admin would do it: a branch,
professionals with their week, procedures; and the free times read back from the compact availability answer.
Shared by tests/e2e/scheduling and the leads tests that follow the agenda."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx

from tests.e2e.conftest import Api

SCHEDULING = "/api/v1/scheduling"


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def every_day(branch_id: str, start: str = "07:00", end: str = "21:00") -> list[dict[str, Any]]:
    """Working hours at one branch, Monday to Sunday."""
    return [{"weekday": d, "start": start, "end": end, "branch_id": branch_id} for d in range(7)]


def daily_break(start: str = "12:00", end: str = "13:00") -> list[dict[str, Any]]:
    return [{"weekday": d, "start": start, "end": end} for d in range(7)]


def add_branch(admin: Api, name: str, **fields: Any) -> dict[str, Any]:
    """A branch in São Paulo, open on holidays unless told otherwise (the tests pick dates freely); its name gets
    a suffix so that module fixtures of one session never collide."""
    body = {"name": f"{name} {uuid.uuid4().hex[:4]}", "timezone": "America/Sao_Paulo", "open_on_holidays": True}
    return ok(admin.http.post(f"{SCHEDULING}/branches", json=body | fields), 201)  # type: ignore[no-any-return]


def add_professional(
    admin: Api,
    branch: dict[str, Any],
    name: str,
    *,
    kind: str = "doctor",
    specialties: tuple[str, ...] = ("aesthetics",),
    lunch: bool = True,
    user_id: str | None = None,
) -> dict[str, Any]:
    """Works at `branch` 07:00-21:00 every day, with a 12:00-13:00 break when `lunch`."""
    body: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "specialties": list(specialties),
        "branch_ids": [branch["id"]],
        "hours": every_day(branch["id"]),
        "breaks": daily_break() if lunch else [],
    }
    if user_id is not None:
        body["user_id"] = user_id
    return ok(admin.http.post(f"{SCHEDULING}/professionals", json=body), 201)  # type: ignore[no-any-return]


def add_procedure(
    admin: Api, name: str, minutes: int = 30, *, specialty: str = "aesthetics", **fields: Any
) -> dict[str, Any]:
    body = {"name": name, "duration_minutes": minutes, "specialty": specialty} | fields
    return ok(admin.http.post(f"{SCHEDULING}/procedures", json=body), 201)  # type: ignore[no-any-return]


def tenant_of(api: Api) -> str:
    return ok(api.http.get("/api/v1/me"))["tenant"]["id"]  # type: ignore[no-any-return]


def free_times(
    api: Api, branch_id: str, procedure_id: str, day: date, professional_id: str | None = None
) -> list[dict[str, str]]:
    """The free starts of one local day, flattened from `GET /availability` (per professional, per date,
    "HH:MM" at a UTC offset): each with `professional_id`, `local` ("YYYY-MM-DD HH:MM") and `starts_at`."""
    params = {"branch_id": branch_id, "procedure_id": procedure_id, "from": day.isoformat(), "to": day.isoformat()}
    if professional_id:
        params["professional_id"] = professional_id
    answer = ok(api.http.get(f"{SCHEDULING}/availability", params=params))
    return [
        {
            "professional_id": p["id"],
            "local": f"{d['date']} {t}",
            "starts_at": f"{d['date']}T{t}:00{d['utc_offset']}",
        }
        for p in answer["professionals"]
        for d in p["days"]
        for t in d["times"]
    ]


def free_start(
    api: Api, branch_id: str, procedure_id: str, day: date, hour: str, professional_id: str | None = None
) -> str:
    """`starts_at` of the free time `hour` ("HH:MM") of that day (the test fails if it is not free)."""
    found = [s["starts_at"] for s in free_times(api, branch_id, procedure_id, day, professional_id)]
    wanted = [s for s in found if s[11:16] == hour]
    assert wanted, f"{hour} is not free on {day}: {found[:10]}…"
    return wanted[0]
