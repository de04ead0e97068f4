"""The clinic's staff as leads knows them: who may own a lead or be responsible for an activity."""

from __future__ import annotations

from dataclasses import dataclass

from leads.domain.errors import InvalidLead


@dataclass(frozen=True)
class StaffMember:
    user_id: str
    tenant_id: str
    full_name: str
    email: str
    roles: tuple[str, ...]
    active: bool


def check_members(wanted: dict[str, str], known: set[str]) -> None:
    """`wanted`: field -> user id. Each must be an active staff member of the clinic (`known`), else a 422
    naming the field."""
    for field, user_id in wanted.items():
        if user_id not in known:
            raise InvalidLead(f"{user_id} is not an active staff member of this clinic.", field=field)
