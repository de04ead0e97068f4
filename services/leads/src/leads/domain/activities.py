"""Activities on a lead: calls, letters, e-mails, messages, meetings and tasks; their states; who sees them.

An activity is planned (`scheduled`) and ends either `done` (with a result) or `cancelled` (with a reason);
both are final. A private activity is seen only by its responsible person, by whoever created it (they wrote
it, hiding it from them hides nothing) and by holders of `crm:responsible`; to anyone else it does not exist.
Whoever sees an activity may change it (given `crm:write`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from leads.domain.errors import InvalidLead, InvalidTransition, NotFound

TYPES = ("call", "letter", "email", "message", "meeting", "task")
DEFAULT_TITLES = {
    "call": "Call",
    "letter": "Letter",
    "email": "E-mail",
    "message": "Message",
    "meeting": "Meeting",
    "task": "Task",
}

SCHEDULED = "scheduled"
DONE = "done"
CANCELLED = "cancelled"
STATES = (SCHEDULED, DONE, CANCELLED)
FINAL_STATES = frozenset({DONE, CANCELLED})

#: The permission that sees every private activity (contracts.claims.CRM_RESPONSIBLE; the domain imports no contracts).
SEES_PRIVATE = "crm:responsible"

MAX_TITLE = 200
MAX_NOTES = 10_000
MAX_RESULT = 2_000
#: An activity is planned (or logged) at most this far from now, either way.
HORIZON = timedelta(days=731)
#: Fields PATCH may change while the activity is scheduled.
EDITABLE = ("title", "notes", "scheduled_at", "responsible_id", "private")
#: Changing one of these publishes ActivityScheduledV1 again (they are the event's fields).
PLAN_FIELDS = frozenset({"scheduled_at", "responsible_id", "private"})
#: What the audit log never shows of a private activity.
PRIVATE_FIELDS = ("title", "notes", "result", "reason")
SORTS = ("scheduled_at", "-scheduled_at")
BELL_NEXT = 5


class ActivityNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Activity:
    id: str
    tenant_id: str
    lead_id: str
    type: str
    title: str
    notes: str | None
    scheduled_at: datetime
    responsible_id: str
    state: str
    #: Done: how it went. Cancelled: why.
    result: str | None
    private: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: Who closed it (completed or cancelled) and when.
    completed_by: str | None = None
    completed_at: datetime | None = None
    #: The lead's name as read with the activity (the same query joins the lead); not the activity's own: never
    #: stored with it, None on an activity not read from the database.
    lead_name: str | None = None

    def is_overdue(self, now: datetime) -> bool:
        """Still scheduled and its time has passed."""
        return self.state == SCHEDULED and self.scheduled_at < now


# --- visibility -----------------------------------------------------------------------------------
def can_see(activity: Activity, user_id: str, permissions: frozenset[str] | set[str]) -> bool:
    """Public activities: everyone in the clinic. Private ones: the responsible person and holders of
    crm:responsible only (issue 3) — not even whoever scheduled it for someone else."""
    if not activity.private or SEES_PRIVATE in permissions:
        return True
    return user_id == activity.responsible_id


def viewer_of(user_id: str, permissions: frozenset[str] | set[str]) -> str | None:
    """Whose private activities a list may show: None = all of them, else only this user's (as can_see)."""
    return None if SEES_PRIVATE in permissions else user_id


# --- values ---------------------------------------------------------------------------------------
def check_type(value: str) -> str:
    if value not in TYPES:
        raise InvalidLead(f"Unknown activity type {value!r}; use one of: {', '.join(TYPES)}.", field="type")
    return value


def clean_title(title: str | None, activity_type: str) -> str:
    """None: the type's name ('Call'). Otherwise 1-200 characters, spaces folded."""
    if title is None:
        return DEFAULT_TITLES[activity_type]
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidLead("The title must not be empty; leave it out to use the type's name.", field="title")
    if len(cleaned) > MAX_TITLE:
        raise InvalidLead(f"The title holds at most {MAX_TITLE} characters.", field="title")
    return cleaned


def clean_text(value: str | None, *, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise InvalidLead(f"The {field} holds at most {limit} characters.", field=field)
    return value.strip()


def check_id(value: str, *, field: str) -> str:
    """A user or lead id: a UUID, returned in its canonical lower-case form."""
    try:
        return str(UUID(value.strip()))
    except (ValueError, AttributeError):
        raise InvalidLead(f"{field} must be an id (UUID), not {value!r}.", field=field) from None


def check_aware(value: datetime, *, field: str) -> datetime:
    """Date-times carry their offset ('2026-05-04T14:30:00-03:00' or '...Z'); stored in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidLead(
            f"{field} needs a time zone offset, e.g. 2026-05-04T14:30:00-03:00 or 2026-05-04T17:30:00Z.", field=field
        )
    return value.astimezone(UTC)


def check_scheduled_at(value: datetime, now: datetime) -> datetime:
    """Aware, and at most two years from now either way (the past is allowed: logging a call made earlier)."""
    when = check_aware(value, field="scheduled_at")
    if abs(when - now) > HORIZON:
        raise InvalidLead("scheduled_at must be within two years of now.", field="scheduled_at")
    return when


# --- life cycle -----------------------------------------------------------------------------------
def new_activity(
    *,
    activity_id: str,
    tenant_id: str,
    lead_id: str,
    activity_type: str,
    title: str | None,
    notes: str | None,
    scheduled_at: datetime,
    responsible_id: str | None,
    private: bool,
    created_by: str,
    now: datetime,
) -> Activity:
    kind = check_type(activity_type)
    return Activity(
        id=activity_id,
        tenant_id=tenant_id,
        lead_id=lead_id,
        type=kind,
        title=clean_title(title, kind),
        notes=clean_text(notes, field="notes", limit=MAX_NOTES),
        scheduled_at=check_scheduled_at(scheduled_at, now),
        responsible_id=check_id(responsible_id, field="responsible_id") if responsible_id else created_by,
        state=SCHEDULED,
        result=None,
        private=private,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )


def _must_be_scheduled(activity: Activity, doing: str) -> None:
    if activity.state == DONE:
        raise InvalidTransition(f"The activity is already done; a done activity cannot be {doing}.", field="state")
    if activity.state == CANCELLED:
        raise InvalidTransition(
            f"The activity is already cancelled; a cancelled activity cannot be {doing}.", field="state"
        )


def edit(activity: Activity, changes: dict[str, Any], *, now: datetime) -> tuple[Activity, dict[str, tuple[Any, Any]]]:
    """Reschedule, retitle, hand over, annotate, make (not) private; only while scheduled."""
    unknown = [k for k in changes if k not in EDITABLE]
    if unknown:
        raise InvalidLead(f"{', '.join(unknown)} cannot be edited; editable: {', '.join(EDITABLE)}.", field=unknown[0])
    _must_be_scheduled(activity, "changed")
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "title":
            values["title"] = clean_title(value, activity.type)
        elif key == "notes":
            values["notes"] = clean_text(value, field="notes", limit=MAX_NOTES)
        elif key == "scheduled_at":
            values["scheduled_at"] = check_scheduled_at(value, now)
        elif key == "responsible_id":
            values["responsible_id"] = check_id(value, field="responsible_id")
        elif key == "private":
            values["private"] = bool(value)
    diff = {k: (getattr(activity, k), v) for k, v in values.items() if getattr(activity, k) != v}
    if not diff:
        return activity, {}
    return replace(activity, **values, updated_at=now), diff


def complete(activity: Activity, result: str | None, *, actor: str, now: datetime) -> Activity:
    _must_be_scheduled(activity, "completed")
    return replace(
        activity,
        state=DONE,
        result=clean_text(result, field="result", limit=MAX_RESULT),
        completed_by=actor,
        completed_at=now,
        updated_at=now,
    )


def cancel(activity: Activity, reason: str | None, *, actor: str, now: datetime) -> Activity:
    _must_be_scheduled(activity, "cancelled")
    return replace(
        activity,
        state=CANCELLED,
        result=clean_text(reason, field="reason", limit=MAX_RESULT),
        completed_by=actor,
        completed_at=now,
        updated_at=now,
    )


# --- audit ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def audit_created(activity: Activity) -> dict[str, Any]:
    """The new activity as the lead's audit trail shows it; a private one without title and notes."""
    fields = ("type", "title", "notes", "scheduled_at", "responsible_id", "state", "private")
    shown = [f for f in fields if not (activity.private and f in PRIVATE_FIELDS)]
    return {f: [None, _plain(getattr(activity, f))] for f in shown if getattr(activity, f) is not None}


def audit_diff(before: Activity, after: Activity, diff: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """before -> after of each change; for an activity private before or after, the private fields are only
    named (under `hidden`), never shown."""
    private = before.private or after.private
    out: dict[str, Any] = {}
    hidden = []
    for key, (old, new) in diff.items():
        if private and key in PRIVATE_FIELDS:
            hidden.append(key)
        else:
            out[key] = [_plain(old), _plain(new)]
    if hidden:
        out["hidden"] = sorted(hidden)
    return out


def audit_closed(before: Activity, after: Activity, *, text_field: str) -> dict[str, Any]:
    """Completion (`result`) or cancellation (`reason`); the text is left out for a private activity."""
    out: dict[str, Any] = {"state": [before.state, after.state]}
    if not after.private:
        out[text_field] = after.result
    elif after.result:
        out["hidden"] = [text_field]
    return out


# --- lists and the bell ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityQuery:
    states: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    responsible_ids: tuple[str, ...] = ()
    lead_id: str | None = None
    scheduled_from: datetime | None = None
    #: Exclusive.
    scheduled_to: datetime | None = None
    #: Only scheduled activities whose time has passed (`now` says when that is).
    overdue: bool = False
    now: datetime | None = None
    #: None: sees every private activity; else only private ones this user is responsible for or created.
    viewer: str | None = None
    sort: str = "scheduled_at"
    limit: int = 50
    offset: int = 0


def responsible_filter(mine: bool, responsible_ids: tuple[str, ...], user_id: str) -> tuple[str, ...]:
    if mine and responsible_ids:
        raise InvalidLead("Send either mine=true or responsible_id, not both.", field="mine")
    return (user_id,) if mine else responsible_ids


def check_query(query: ActivityQuery) -> ActivityQuery:
    for state in query.states:
        if state not in STATES:
            raise InvalidLead(f"Unknown state {state!r}; use one of: {', '.join(STATES)}.", field="state")
    for kind in query.types:
        if kind not in TYPES:
            raise InvalidLead(f"Unknown activity type {kind!r}; use one of: {', '.join(TYPES)}.", field="type")
    if query.sort not in SORTS:
        raise InvalidLead(f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    start = check_aware(query.scheduled_from, field="scheduled_from") if query.scheduled_from else None
    end = check_aware(query.scheduled_to, field="scheduled_to") if query.scheduled_to else None
    if start and end and start > end:
        raise InvalidLead("scheduled_from is after scheduled_to.", field="scheduled_from")
    if query.overdue and query.now is None:
        raise ValueError("an overdue filter needs `now`")
    return replace(
        query,
        responsible_ids=tuple(check_id(r, field="responsible_id") for r in query.responsible_ids),
        lead_id=check_id(query.lead_id, field="lead_id") if query.lead_id else None,
        scheduled_from=start,
        scheduled_to=end,
    )


@dataclass(frozen=True)
class Bell:
    #: Scheduled activities the user is responsible for.
    pending: int
    #: ... of which the time has passed.
    overdue: int
    #: ... planned for today in the clinic's time zone (overdue ones of today included).
    due_today: int
    #: Up to five of them, soonest (most overdue) first.
    next: list[Activity]


def day_window(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """Today at the clinic, as [start, end) in UTC (23 or 25 hours long on DST days)."""
    try:
        zone: Any = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = UTC
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
