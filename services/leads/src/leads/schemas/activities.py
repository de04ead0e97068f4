"""HTTP bodies for activities and the bell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from kit.inputs import Uuid
from leads.domain.activities import CANCELLED, DONE, Activity, Bell

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType
#: Lengths are checked by the domain (with a clear message); these only bound the request size.
Title = Annotated[str, msgspec.Meta(max_length=1_000, examples=["Call back about the evaluation"])]
Notes = Annotated[str, msgspec.Meta(max_length=20_000)]
Result = Annotated[str, msgspec.Meta(max_length=5_000)]
When = Annotated[datetime, msgspec.Meta(examples=["2026-05-04T14:30:00-03:00"])]
#: A staff member's user id.
UserId = Uuid


class ActivityIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: call, letter, email, message, meeting, task.
    type: Annotated[str, msgspec.Meta(max_length=20, examples=["call"])]
    #: With a time zone offset; may be in the past (logging a call already made), at most two years away.
    scheduled_at: When
    #: Default: the type's name ("Call").
    title: Title | None = None
    notes: Notes | None = None
    #: A staff member's user id; default: you.
    responsible_id: UserId | None = None
    #: Seen only by the responsible person, the creator and holders of crm:responsible.
    private: bool = False


class ActivityPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change (only while scheduled); null clears the notes."""

    title: Title | UnsetType = UNSET
    notes: Notes | UnsetType | None = UNSET
    scheduled_at: When | UnsetType = UNSET
    responsible_id: UserId | UnsetType = UNSET
    private: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class CompleteIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: How it went.
    result: Result | None = None


class CancelIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Result | None = None


class ActivityOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lead_id: str
    #: The prospect's name, read with the activity in the same query (lists, the bell, reads and changes).
    lead_name: str | None = None
    type: str
    title: str
    notes: str | None
    #: UTC.
    scheduled_at: datetime
    responsible_id: str
    #: scheduled, done or cancelled.
    state: str
    #: Still scheduled and its time has passed.
    overdue: bool
    private: bool
    #: How it went (done only).
    result: str | None
    completed_by: str | None
    completed_at: datetime | None
    #: Why, who and when (cancelled only).
    cancel_reason: str | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Activity, now: datetime | None = None) -> ActivityOut:
        now = now or datetime.now(UTC)
        done, cancelled = a.state == DONE, a.state == CANCELLED
        return cls(
            id=a.id,
            lead_id=a.lead_id,
            lead_name=a.lead_name,
            type=a.type,
            title=a.title,
            notes=a.notes,
            scheduled_at=a.scheduled_at,
            responsible_id=a.responsible_id,
            state=a.state,
            overdue=a.is_overdue(now),
            private=a.private,
            result=a.result if done else None,
            completed_by=a.completed_by if done else None,
            completed_at=a.completed_at if done else None,
            cancel_reason=a.result if cancelled else None,
            cancelled_by=a.completed_by if cancelled else None,
            cancelled_at=a.completed_at if cancelled else None,
            created_by=a.created_by,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class ActivityPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


class BellOut(msgspec.Struct, frozen=True, kw_only=True):
    #: Scheduled activities you are responsible for.
    pending: int
    #: Of those, the ones whose time has passed.
    overdue: int
    #: Of those, the ones planned for today (the clinic's day), overdue ones of today included.
    due_today: int
    #: Up to five, soonest (most overdue) first.
    next: list[ActivityOut]

    @classmethod
    def of(cls, bell: Bell, now: datetime | None = None) -> BellOut:
        now = now or datetime.now(UTC)
        return cls(
            pending=bell.pending,
            overdue=bell.overdue,
            due_today=bell.due_today,
            next=[ActivityOut.of(a, now) for a in bell.next],
        )
