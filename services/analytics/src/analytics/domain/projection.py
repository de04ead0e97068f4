"""Order-free, duplicate-free read models (docs/analytics.md, "How the projections stay exact").

Every projection row is a set of *groups* of columns. An event contributes a `Patch`: some whole groups of one
row. Two values of a group are merged by a rule that is commutative, associative and idempotent:

- `first`: the group whose tuple (ordering column first, then the other values) is the smallest wins,
  e.g. the first booking of a lead with its branch and doctor;
- `last`: the largest wins, e.g. the current owner by the time it was assigned;
- `max`: one column, the largest non-null value (ids seen on any event, a cumulative refund).

So the same events applied in any order, any number of times, give the same row: a replay from the start
of the topics rebuilds the same figures, and the consumers of different topics never have to wait for one
another (a payment may be projected before the lead it belongs to).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from analytics.domain.attribution import channel_of

Rule = Literal["first", "last", "max"]


@dataclass(frozen=True)
class Group:
    rule: Rule
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Projection:
    table: str
    key: tuple[str, ...]
    groups: tuple[Group, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for g in self.groups for c in g.columns)


@dataclass(frozen=True)
class Patch:
    """Whole groups of one row of `table`, keyed by `key` (the projection's key columns)."""

    table: str
    key: Mapping[str, Any]
    values: Mapping[str, Any] = field(default_factory=dict)


def _comparable(value: Any) -> tuple[int, Any]:
    """None sorts first; dicts and lists compare by their canonical JSON."""
    if value is None:
        return (0, "")
    if isinstance(value, dict | list):
        return (1, json.dumps(value, sort_keys=True, default=str))
    return (1, value)


def merge(projection: Projection, row: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The row after `patch` (only the projection's columns; absent groups stay as they are)."""
    merged: dict[str, Any] = {c: None for c in projection.columns}
    if row:
        merged.update({c: row.get(c) for c in projection.columns})
    for group in projection.groups:
        if group.columns[0] not in patch:
            continue
        new = tuple(patch.get(c) for c in group.columns)
        if new[0] is None:
            continue
        old = tuple(merged[c] for c in group.columns)
        if old[0] is None:
            chosen = new
        else:
            key_new = tuple(_comparable(v) for v in new)
            key_old = tuple(_comparable(v) for v in old)
            # first: the smaller wins; last and max (a group of one column): the larger wins
            wins = key_new < key_old if group.rule == "first" else key_new > key_old
            chosen = new if wins else old
        merged.update(zip(group.columns, chosen, strict=True))
    return merged


def merge_all(projection: Projection, patches: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] | None = None
    for patch in patches:
        row = merge(projection, row, patch)
    return row or merge(projection, None, {})


def _g(rule: Rule, *columns: str) -> Group:
    return Group(rule, columns)


_PERSON = (_g("max", "lead_id"), _g("max", "patient_id"), _g("max", "phone"))

LEADS = Projection(
    "leads",
    ("tenant_id", "lead_id"),
    (
        _g("first", "created_at", "name", "phone", "intake", "source", "attribution"),
        _g("last", "owner_at", "owner_id"),
        _g("last", "status_at", "status"),
        _g("first", "first_contact_at", "first_contact_by"),
        _g("first", "first_message_at", "message_channel"),
        _g("last", "converted_at", "patient_id"),
        _g("first", "merged_at", "merged_into"),
        _g("first", "deleted_at"),
    ),
)

APPOINTMENTS = Projection(
    "appointments",
    ("tenant_id", "appointment_id"),
    (
        *_PERSON,
        _g(
            "first",
            "booked_at",
            "booking_source",
            "booked_by",
            "branch_id",
            "professional_id",
            "procedure_id",
            "timezone",
        ),
        _g("last", "slot_at", "starts_at", "slot_branch_id", "slot_professional_id"),
        _g("first", "confirmed_at", "confirmed_via"),
        _g("first", "cancelled_at"),
        _g("first", "no_show_at"),
        _g("first", "arrived_at"),
        _g("first", "visit_started_at"),
        _g("first", "completed_at"),
    ),
)

REMINDERS = Projection(
    "reminders",
    ("tenant_id", "reminder_id"),
    (_g("first", "due_at", "appointment_id", "offset_minutes"),),
)

PAYMENTS = Projection(
    "payments",
    ("tenant_id", "payment_id"),
    (
        *_PERSON,
        _g("max", "appointment_id"),
        _g("max", "procedure_id"),
        _g("first", "link_created_at", "amount", "amount_before_discount", "currency", "created_by"),
        _g("first", "paid_at", "paid_amount", "method"),
        _g("max", "refunded_total"),
    ),
)

CALLS = Projection(
    "calls",
    ("tenant_id", "call_id"),
    (
        _g("first", "started_at", "direction", "caller", "tracking_number", "call_source"),
        _g("max", "lead_id"),
        _g("first", "answered_at"),
        _g("first", "missed_at"),
    ),
)

DEALS = Projection(
    "deals",
    ("tenant_id", "deal_id"),
    (
        *_PERSON,
        _g("first", "created_at", "pipeline_kind", "deal_source"),
        _g("last", "curator_at", "curator_id"),
        _g("first", "lost_at"),
    ),
)

PLANS = Projection(
    "plans",
    ("tenant_id", "plan_id"),
    (
        _g("first", "created_at", "deal_id", "title", "total", "total_before_discount", "currency"),
        _g("first", "signed_at"),
        _g("first", "completed_at"),
    ),
)

TASKS = Projection(
    "tasks",
    ("tenant_id", "task_id"),
    (
        _g("first", "created_at", "deal_id", "lead_id", "origin", "kind", "title", "responsible_id", "due_at"),
        _g("first", "completed_at"),
        _g("first", "cancelled_at"),
    ),
)

#: Names shown in reports: branches, professionals, procedures (the latest name an event gave).
NAMES = Projection(
    "names",
    ("tenant_id", "kind", "id"),
    (_g("last", "named_at", "name"),),
)


#: The reply assistant (notifications): each request for suggestions, and the staff reply that used them first.
SUGGESTIONS = Projection(
    "suggestions",
    ("tenant_id", "suggestion_id"),
    (
        _g(
            "first",
            "suggested_at",
            "staff_id",
            "conversation_id",
            "lead_id",
            "patient_id",
            "channel",
            "model",
            "offered",
            "prompt_tokens",
            "completion_tokens",
            "cost",
        ),
        _g("first", "used_at", "use", "message_id"),
    ),
)


#: Conversations of notifications: when the person last wrote in each.
CONVERSATIONS = Projection(
    "conversations",
    ("tenant_id", "conversation_id"),
    (_g("max", "last_received_at"),),
)


def derive(projection: Projection, row: dict[str, Any]) -> dict[str, Any]:
    """Columns computed from the merged row (so they are as order-free as the row itself)."""
    if projection.table == "leads":
        row["channel"] = channel_of(row.get("intake"), row.get("source"), row.get("message_channel"))
    return row


PROJECTIONS: dict[str, Projection] = {
    p.table: p
    for p in (LEADS, APPOINTMENTS, REMINDERS, PAYMENTS, CALLS, DEALS, PLANS, TASKS, NAMES, SUGGESTIONS, CONVERSATIONS)
}
