"""HTTP: the clinic-configurable lists (read: crm:read; change: crm:admin)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from contracts.claims import CRM_ADMIN, CRM_READ
from kit.paging import Page
from kit.web import AuthRequest, requires
from leads.schemas.lists import ListItemIn, ListItemOut, ListItemPatch, ListOrderIn
from leads.services import lists as cases
from leads.services.work import LeadsWorkFactory


class ListController(Controller):
    path = "/api/v1/leads/lists"
    tags = ["lists"]

    @get("/{kind:str}", guards=[requires(CRM_READ)], summary="A list, in the clinic's order")
    async def items(
        self, request: AuthRequest, kind: str, uow: LeadsWorkFactory, include_inactive: bool = False
    ) -> Page[ListItemOut]:
        """Lists: source, group, treatment, channel, request_status, contact_method."""
        return Page.all(
            ListItemOut.of(i) for i in await cases.items(uow, request.user, kind, include_inactive=include_inactive)
        )

    @post("/{kind:str}", guards=[requires(CRM_ADMIN)], status_code=HTTP_201_CREATED, summary="Add an item")
    async def add(self, request: AuthRequest, kind: str, data: ListItemIn, uow: LeadsWorkFactory) -> ListItemOut:
        return ListItemOut.of(
            await cases.add(uow, request.user, kind, label=data.label, slug=data.slug, color=data.color)
        )

    @patch("/{kind:str}/{item_id:uuid}", guards=[requires(CRM_ADMIN)], summary="Rename, recolour, (de)activate")
    async def edit(
        self, request: AuthRequest, kind: str, item_id: UUID, data: ListItemPatch, uow: LeadsWorkFactory
    ) -> ListItemOut:
        return ListItemOut.of(
            await cases.update(
                uow,
                request.user,
                kind,
                str(item_id),
                label=data.label,
                color=data.color,
                active=data.active,
                clear_color=data.clear_color,
            )
        )

    @put("/{kind:str}/order", guards=[requires(CRM_ADMIN)], summary="Put the items in a new order")
    async def order(
        self, request: AuthRequest, kind: str, data: ListOrderIn, uow: LeadsWorkFactory
    ) -> Page[ListItemOut]:
        return Page.all(ListItemOut.of(i) for i in await cases.reorder(uow, request.user, kind, data.ids))

    @delete(
        "/{kind:str}/{item_id:uuid}",
        guards=[requires(CRM_ADMIN)],
        status_code=HTTP_200_OK,
        summary="Delete an item, or deactivate it when data uses it",
    )
    async def remove(
        self, request: AuthRequest, kind: str, item_id: UUID, uow: LeadsWorkFactory
    ) -> Response[ListItemOut | None]:
        kept = await cases.remove(uow, request.user, kind, str(item_id))
        if kept is None:
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        return Response(ListItemOut.of(kept), status_code=HTTP_200_OK)
