"""Thin controllers of privacy: decode, one use case, a schema."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.status_codes import HTTP_201_CREATED

from contracts.claims import CRM_READ, CRM_WRITE
from kit.paging import Page
from kit.web import AuthRequest, Limit, Offset, requires
from privacy import services as cases
from privacy.schemas import ItemIn, ItemOut
from privacy.services import PrivacyWorkFactory


class ItemController(Controller):
    path = "/api/v1/privacy/items"
    tags = ["privacy"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(CRM_WRITE)], summary="Add an item")
    async def add(self, request: AuthRequest, data: ItemIn, uow: PrivacyWorkFactory) -> ItemOut:
        return ItemOut.of(await cases.add_item(uow, request.user, data.title))

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's items, newest first")
    async def list(
        self, request: AuthRequest, uow: PrivacyWorkFactory, limit: Limit = 50, offset: Offset = 0
    ) -> Page[ItemOut]:
        found, total = await cases.list_items(uow, request.user, limit=limit, offset=offset)
        return Page.of([ItemOut.of(i) for i in found], total=total, limit=limit, offset=offset)
