"""HTTP: decode, one use-case call, encode."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import Parameter

from kit.auth import CRM_READ, CRM_WRITE, Principal
from kit.db import UnitOfWorkFactory
from kit.web import requires
from leads import services
from leads.schemas import CreateLead, LeadOut, LeadPage

AuthRequest = Request[Principal, str, Any]


class LeadController(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @post("/", guards=[requires(CRM_WRITE)], summary="Register a lead")
    async def create(self, request: AuthRequest, data: CreateLead, uow: UnitOfWorkFactory) -> LeadOut:
        """Phones are normalised to E.164 with the clinic's country as the default region."""
        lead = await services.create_lead(
            uow,
            request.user,
            services.NewLead(
                name=data.name, phone=data.phone, source=data.source, email=data.email, locale=data.locale
            ),
        )
        return LeadOut.of(lead)

    @get("/{lead_id:uuid}", guards=[requires(CRM_READ)], summary="One lead")
    async def read(self, request: AuthRequest, lead_id: UUID, uow: UnitOfWorkFactory) -> LeadOut:
        return LeadOut.of(await services.get_lead(uow, request.user, str(lead_id)))

    @get("/", guards=[requires(CRM_READ)], summary="Leads, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: UnitOfWorkFactory,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> LeadPage:
        items, total = await services.list_leads(uow, request.user, limit=limit, offset=offset)
        return LeadPage(items=[LeadOut.of(x) for x in items], total=total, limit=limit, offset=offset)
