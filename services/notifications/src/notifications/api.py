"""HTTP: messages of a lead and the clinic's templates."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, put
from litestar.status_codes import HTTP_204_NO_CONTENT

from kit.auth import CRM_ADMIN, CRM_READ
from kit.db import UnitOfWorkFactory
from kit.web import AuthRequest, requires
from notifications import rendering, services
from notifications.schemas import MessageList, MessageOut, TemplateIn, TemplateList, TemplateOut


class MessageController(Controller):
    path = "/api/v1/notifications/messages"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="Messages sent to a lead, with their status")
    async def for_lead(self, request: AuthRequest, uow: UnitOfWorkFactory, lead_id: UUID) -> MessageList:
        items = await services.messages_for_lead(uow, request.user, str(lead_id))
        return MessageList([MessageOut.of(m) for m in items])


class TemplateController(Controller):
    path = "/api/v1/notifications/templates"
    tags = ["notifications"]

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's message templates per locale")
    async def list(self, request: AuthRequest, uow: UnitOfWorkFactory) -> TemplateList:
        rows = await services.list_templates(uow, request.user)
        return TemplateList(
            [TemplateOut(name=n, locale=loc, channel=services.CHANNEL, body=b, customised=c) for n, loc, b, c in rows],
            list(rendering.VARIABLES),
        )

    @put("/{name:str}/{locale:str}", guards=[requires(CRM_ADMIN)], summary="Set the clinic's own text")
    async def put(
        self, request: AuthRequest, uow: UnitOfWorkFactory, name: str, locale: str, data: TemplateIn
    ) -> TemplateOut:
        await services.set_template(uow, request.user, name, locale, data.body)
        return TemplateOut(name=name, locale=locale, channel=services.CHANNEL, body=data.body, customised=True)

    @delete(
        "/{name:str}/{locale:str}",
        guards=[requires(CRM_ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Go back to the built-in text",
    )
    async def reset(self, request: AuthRequest, uow: UnitOfWorkFactory, name: str, locale: str) -> None:
        await services.reset_template(uow, request.user, name, locale)
