"""HTTP: leads, their status, owner, requests, audit trail; metrics; clinic settings."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from kit.inputs import uuids
from kit.paging import Page, comma_list
from kit.web import AuthRequest, Limit, Offset, requires
from leads.domain.queries import LeadQuery
from leads.schemas.leads import (
    AssignIn,
    AuditOut,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    MetricsOut,
    RequestIn,
    RequestOut,
    RequestPatch,
    SettingsIn,
    SettingsOut,
    StatusChangeOut,
    StatusIn,
)
from leads.services import leads as cases
from leads.services import lists as list_cases
from leads.services import requests as request_cases
from leads.services.work import LeadsWorkFactory


def _split(values: list[str] | None, field: str) -> tuple[str, ...]:
    """Repeated or comma-separated (`?status=a&status=b,c`); the domain checks the values (422)."""
    return tuple(comma_list(values, field=field))


class LeadController(Controller):
    path = "/api/v1/leads"
    tags = ["leads"]

    @post("/", guards=[requires(CRM_WRITE)], summary="Register a lead", status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: AuthRequest,
        data: LeadIn,
        uow: LeadsWorkFactory,
        on_duplicate: Annotated[str, Parameter(description="reject | add_request | create")] = "reject",
    ) -> Response[LeadOut]:
        """Phones become E.164 with the clinic's country as the default region. When the person already has an
        open lead (same phone or e-mail, same person), the default answer is 409 with the candidates;
        `on_duplicate=add_request` records this contact as a request on that lead (200), `create` makes a new
        lead anyway (e.g. a relative sharing the family phone)."""
        created = await cases.create_lead(
            uow,
            request.user,
            cases.NewLead(
                name=data.name,
                phones=data.all_phones(),
                source=data.source,
                email=data.email,
                cpf=data.cpf,
                birth_date=data.birth_date,
                city=data.city,
                locale=data.locale,
                urgency=data.urgency,
                status=data.status,
                owner_id=data.owner_id,
                next_follow_up=data.next_follow_up,
                notes=data.notes,
                consents=data.consents,
                treatment=data.treatment,
                group=data.group,
                request_channel=data.channel,
                reason=data.reason,
            ),
            on_duplicate=on_duplicate,
        )
        return Response(
            LeadOut.of(created.lead),
            status_code=HTTP_200_OK if created.existing else HTTP_201_CREATED,
            headers={"Location": f"/api/v1/leads/{created.lead.id}"},
        )

    @get("/", guards=[requires(CRM_READ)], summary="Find leads")
    async def find(
        self,
        request: AuthRequest,
        uow: LeadsWorkFactory,
        created_from: Annotated[date | None, Parameter(description="first day, clinic time")] = None,
        created_to: Annotated[date | None, Parameter(description="last day, inclusive")] = None,
        status: Annotated[list[str] | None, Parameter(description="one or more, repeated or comma-separated")] = None,
        source: list[str] | None = None,
        owner_id: Annotated[list[str] | None, Parameter(description="user ids; 'none' for unassigned")] = None,
        urgency: list[str] | None = None,
        follow_up_from: date | None = None,
        follow_up_to: date | None = None,
        follow_up: Annotated[str | None, Parameter(description="today | overdue")] = None,
        q: Annotated[str | None, Parameter(description="a name, phone, e-mail or CPF", max_length=200)] = None,
        sort: Annotated[
            str, Parameter(description="created_at, name, next_follow_up, updated_at; '-' = desc")
        ] = "-created_at",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> LeadPage:
        principal = request.user
        owners = uuids(_split(owner_id, "owner_id"), "owner_id", allow=("none",))
        query = LeadQuery(
            statuses=_split(status, "status"),
            sources=_split(source, "source"),
            owner_ids=tuple(o for o in owners if o != "none"),
            unassigned="none" in owners,
            urgencies=_split(urgency, "urgency"),
            follow_up_from=follow_up_from,
            follow_up_to=follow_up_to,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        query = cases.clinic_query(
            principal, query, created_from=created_from, created_to=created_to, follow_up=follow_up
        )
        found = await cases.list_leads(uow, principal, query, q)
        return LeadPage(
            items=[LeadOut.of(x) for x in found.items],
            total=found.total,
            total_capped=found.capped,
            limit=limit,
            offset=offset,
        )

    @get("/metrics", guards=[requires(CRM_READ)], summary="Lead metrics for a period")
    async def metrics(
        self,
        request: AuthRequest,
        uow: LeadsWorkFactory,
        from_: Annotated[date | None, Parameter(query="from", description="first day; default 29 days ago")] = None,
        to: Annotated[date | None, Parameter(description="last day; default today (clinic time)")] = None,
    ) -> MetricsOut:
        """Total and high-urgency leads created in the period, counts by status and source; today's and overdue
        follow-ups."""
        return MetricsOut.of(await cases.metrics(uow, request.user, from_, to))

    @get("/settings", guards=[requires(CRM_READ)], summary="The clinic's lead settings")
    async def settings(self, request: AuthRequest, uow: LeadsWorkFactory) -> SettingsOut:
        return SettingsOut(dedupe_window_days=await list_cases.dedupe_window(uow, request.user))

    @put("/settings", guards=[requires(CRM_ADMIN)], summary="Change the clinic's lead settings")
    async def put_settings(self, request: AuthRequest, uow: LeadsWorkFactory, data: SettingsIn) -> SettingsOut:
        """`dedupe_window_days`: an intake matching an open lead updated within this many days adds a request
        to it instead of creating a lead (0 turns it off)."""
        return SettingsOut(
            dedupe_window_days=await list_cases.set_dedupe_window(uow, request.user, data.dedupe_window_days)
        )

    @get("/requests", guards=[requires(CRM_READ)], summary="The clinic's requests, newest first")
    async def recent_requests(
        self,
        request: AuthRequest,
        uow: LeadsWorkFactory,
        latest_only: Annotated[bool, Parameter(description="only each lead's newest request")] = False,
        handled: bool | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[RequestOut]:
        found = await request_cases.recent(
            uow, request.user, latest_only=latest_only, handled=handled, limit=limit, offset=offset
        )
        return Page.window([RequestOut.of(r) for r in found], limit=limit, offset=offset)

    @get("/{lead_id:uuid}", guards=[requires(CRM_READ)], summary="One lead")
    async def read(self, request: AuthRequest, lead_id: UUID, uow: LeadsWorkFactory) -> LeadOut:
        return LeadOut.of(await cases.get_lead(uow, request.user, str(lead_id)))

    @patch("/{lead_id:uuid}", guards=[requires(CRM_WRITE)], summary="Edit a lead")
    async def edit(self, request: AuthRequest, lead_id: UUID, data: LeadPatch, uow: LeadsWorkFactory) -> LeadOut:
        """Send only what changes; null clears an optional field. Status and owner have their own actions."""
        return LeadOut.of(await cases.edit_lead(uow, request.user, str(lead_id), data.changes()))

    @delete("/{lead_id:uuid}", guards=[requires(CRM_ADMIN)], status_code=HTTP_204_NO_CONTENT, summary="Delete a lead")
    async def remove(
        self,
        request: AuthRequest,
        lead_id: UUID,
        uow: LeadsWorkFactory,
        confirm: Annotated[bool, Parameter(description="must be true")] = False,
    ) -> None:
        await cases.delete_lead(uow, request.user, str(lead_id), confirm=confirm)

    @post(
        "/{lead_id:uuid}/status",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Change the status, with an optional comment",
    )
    async def status(self, request: AuthRequest, lead_id: UUID, data: StatusIn, uow: LeadsWorkFactory) -> LeadOut:
        lead, _ = await cases.change_status(uow, request.user, str(lead_id), data.status, data.comment)
        return LeadOut.of(lead)

    @get("/{lead_id:uuid}/status-history", guards=[requires(CRM_READ)], summary="Who changed the status, when")
    async def status_history(self, request: AuthRequest, lead_id: UUID, uow: LeadsWorkFactory) -> Page[StatusChangeOut]:
        return Page.all(StatusChangeOut.of(c) for c in await cases.status_history(uow, request.user, str(lead_id)))

    @post(
        "/{lead_id:uuid}/assign",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Give the lead to another agent",
    )
    async def assign(self, request: AuthRequest, lead_id: UUID, data: AssignIn, uow: LeadsWorkFactory) -> LeadOut:
        return LeadOut.of(await cases.assign(uow, request.user, str(lead_id), data.owner_id))

    @get("/{lead_id:uuid}/audit", guards=[requires(CRM_READ)], summary="The lead's audit trail")
    async def audit(
        self, request: AuthRequest, lead_id: UUID, uow: LeadsWorkFactory, limit: Limit = 100, offset: Offset = 0
    ) -> Page[AuditOut]:
        """Every create, change, status change, assignment, request, activity, merge and deletion."""
        trail = await cases.audit_trail(uow, request.user, str(lead_id), limit=limit, offset=offset)
        return Page.window([AuditOut.of(e) for e in trail], limit=limit, offset=offset)

    @post(
        "/{lead_id:uuid}/requests", guards=[requires(CRM_WRITE)], status_code=HTTP_201_CREATED, summary="Add a request"
    )
    async def add_request(
        self, request: AuthRequest, lead_id: UUID, data: RequestIn, uow: LeadsWorkFactory
    ) -> RequestOut:
        return RequestOut.of(
            await request_cases.add(
                uow,
                request.user,
                str(lead_id),
                treatment=data.treatment,
                group=data.group,
                channel=data.channel,
                reason=data.reason,
                status=data.status,
            )
        )

    @get("/{lead_id:uuid}/requests", guards=[requires(CRM_READ)], summary="The lead's requests")
    async def requests(
        self, request: AuthRequest, lead_id: UUID, uow: LeadsWorkFactory, latest_only: bool = False
    ) -> Page[RequestOut]:
        found = await request_cases.for_lead(uow, request.user, str(lead_id))
        return Page.all(RequestOut.of(r) for r in (found[:1] if latest_only else found))

    @patch("/{lead_id:uuid}/requests/{request_id:uuid}", guards=[requires(CRM_WRITE)], summary="Edit a request")
    async def edit_request(
        self, request: AuthRequest, lead_id: UUID, request_id: UUID, data: RequestPatch, uow: LeadsWorkFactory
    ) -> RequestOut:
        return RequestOut.of(
            await request_cases.update(uow, request.user, str(lead_id), str(request_id), data.changes())
        )
