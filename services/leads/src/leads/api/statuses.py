"""HTTP: the clinic's lead statuses with their colour and order (read: crm:read; change: crm:admin)."""

from __future__ import annotations

from litestar import Controller, get, patch, put

from contracts.claims import CRM_ADMIN, CRM_READ
from kit.paging import Page
from kit.web import AuthRequest, requires
from leads.schemas.statuses import StatusOrderIn, StatusStyleOut, StatusStylePatch
from leads.services import statuses as cases
from leads.services.work import LeadsWorkFactory


class StatusController(Controller):
    path = "/api/v1/leads/statuses"
    tags = ["lists"]

    @get("/", guards=[requires(CRM_READ)], summary="The lead statuses in the clinic's order, with their colours")
    async def styles(self, request: AuthRequest, uow: LeadsWorkFactory) -> Page[StatusStyleOut]:
        """The fixed set of statuses (their transitions are the rules), as this clinic paints and orders them."""
        return Page.all(StatusStyleOut.of(s) for s in await cases.styles(uow, request.user))

    @put("/order", guards=[requires(CRM_ADMIN)], summary="Put the lead statuses in a new order")
    async def order(self, request: AuthRequest, data: StatusOrderIn, uow: LeadsWorkFactory) -> Page[StatusStyleOut]:
        return Page.all(StatusStyleOut.of(s) for s in await cases.reorder(uow, request.user, data.statuses))

    @patch("/{status:str}", guards=[requires(CRM_ADMIN)], summary="Recolour or rename a lead status")
    async def edit(
        self, request: AuthRequest, status: str, data: StatusStylePatch, uow: LeadsWorkFactory
    ) -> StatusStyleOut:
        return StatusStyleOut.of(
            await cases.restyle(
                uow,
                request.user,
                status,
                label=data.label,
                clear_label=data.clear_label,
                color=data.color,
                reset_color=data.reset_color,
            )
        )
