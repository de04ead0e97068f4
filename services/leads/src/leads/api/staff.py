"""HTTP: the clinic's staff directory as leads knows it (who may own a lead or be responsible for an activity)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from contracts.claims import CRM_READ
from kit.web import AuthRequest, requires
from leads.domain.staff import StaffMember
from leads.services import staff as cases
from leads.services.work import LeadsWorkFactory


class StaffOut(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    full_name: str
    email: str
    roles: list[str]

    @classmethod
    def of(cls, m: StaffMember) -> StaffOut:
        return cls(user_id=m.user_id, full_name=m.full_name, email=m.email, roles=list(m.roles))


class StaffList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[StaffOut]


class StaffController(Controller):
    path = "/api/v1/leads/staff"
    tags = ["staff"]

    @get("/", guards=[requires(CRM_READ)], summary="Active staff who may own leads and activities")
    async def directory(self, request: AuthRequest, uow: LeadsWorkFactory) -> StaffList:
        """Kept from the gateway's staff events (a moment behind it): owners and responsible people must be
        among these, else 422 naming the field."""
        return StaffList(items=[StaffOut.of(m) for m in await cases.directory(uow, request.user)])
