"""Events published by the gateway (identity) on `clinicflow.identity.events`: the clinics' staff directory.

Every event is keyed by the user id and carries the member's whole current record, so a consumer keeps the
latest one per `user_id` (the topic is compacted). Services use it to refuse unknown staff as owners or
responsible people; they check permissions from the token, never from roles here.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.envelope import Event
from contracts.topics import IDENTITY


class _StaffEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = IDENTITY.name
    AGGREGATE: ClassVar[str] = "user_id"

    user_id: str
    full_name: str
    email: str
    roles: list[str]
    active: bool = True
    #: Ids of the sections and departments the member belongs to (routing, reports).
    section_ids: list[str] = []
    department_ids: list[str] = []
    changed_at: datetime


class StaffCreatedV1(_StaffEvent, frozen=True, kw_only=True):
    """A staff account was opened in a clinic (or, once on first start, an existing one is announced)."""

    TYPE: ClassVar[str] = "clinicflow.identity.staff.created.v1"


class StaffUpdatedV1(_StaffEvent, frozen=True, kw_only=True):
    """A staff member's name, roles, sections or departments changed."""

    TYPE: ClassVar[str] = "clinicflow.identity.staff.updated.v1"


class StaffDeactivatedV1(_StaffEvent, frozen=True, kw_only=True):
    """A staff account was disabled: it may no longer log in or be given leads or activities."""

    TYPE: ClassVar[str] = "clinicflow.identity.staff.deactivated.v1"
