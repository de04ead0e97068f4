"""HTTP: activities (calls, letters, e-mails, messages, meetings, tasks) and the bell."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from contracts.claims import CRM_READ, CRM_WRITE
from kit.inputs import uuids
from kit.paging import comma_list
from kit.web import AuthRequest, Limit, Offset, requires
from leads.domain.activities import ActivityQuery
from leads.schemas.activities import ActivityIn, ActivityOut, ActivityPage, ActivityPatch, BellOut, CancelIn, CompleteIn
from leads.services import activities as cases
from leads.services.work import LeadsWorkFactory

_PRIVATE_NOTE = (
    "Private activities are shown only to their responsible person, their creator and holders of crm:responsible; "
    "to anyone else they do not exist (404)."
)


def _split(values: list[str] | None, field: str) -> tuple[str, ...]:
    """Repeated or comma-separated (`?status=a&status=b,c`); the domain checks the values (422)."""
    return tuple(comma_list(values, field=field))


class ActivityController(Controller):
    path = "/api/v1/leads/activities"
    tags = ["activities"]

    @get("/", guards=[requires(CRM_READ)], summary="Find activities", description=_PRIVATE_NOTE)
    async def find(
        self,
        request: AuthRequest,
        uow: LeadsWorkFactory,
        state_: Annotated[list[str] | None, Parameter(query="state", description="scheduled, done, cancelled")] = None,
        type_: Annotated[
            list[str] | None, Parameter(query="type", description="call, letter, email, message, meeting, task")
        ] = None,
        responsible_id: Annotated[list[str] | None, Parameter(description="staff user ids")] = None,
        mine: Annotated[bool, Parameter(description="only those you are responsible for")] = False,
        lead_id: UUID | None = None,
        scheduled_from: Annotated[datetime | None, Parameter(description="from (inclusive), with an offset")] = None,
        scheduled_to: Annotated[datetime | None, Parameter(description="until (exclusive), with an offset")] = None,
        overdue: Annotated[bool, Parameter(description="only scheduled ones whose time has passed")] = False,
        sort: Annotated[str, Parameter(description="scheduled_at or -scheduled_at")] = "scheduled_at",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ActivityPage:
        query = ActivityQuery(
            states=_split(state_, "state"),
            types=_split(type_, "type"),
            responsible_ids=uuids(_split(responsible_id, "responsible_id"), "responsible_id"),
            lead_id=str(lead_id) if lead_id else None,
            scheduled_from=scheduled_from,
            scheduled_to=scheduled_to,
            overdue=overdue,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        items, total = await cases.find(uow, request.user, query, mine=mine)
        return ActivityPage(items=[ActivityOut.of(a) for a in items], total=total, limit=limit, offset=offset)

    @get("/bell", guards=[requires(CRM_READ)], summary="Your pending and overdue activities")
    async def bell(self, request: AuthRequest, uow: LeadsWorkFactory) -> BellOut:
        """Counts of the scheduled activities you are responsible for: all of them (`pending`), those whose time
        has passed (`overdue`) and those planned for today in the clinic's time zone (`due_today`); `next`
        lists up to five, soonest first."""
        return BellOut.of(await cases.bell(uow, request.user))

    @get("/{activity_id:uuid}", guards=[requires(CRM_READ)], summary="One activity", description=_PRIVATE_NOTE)
    async def read(self, request: AuthRequest, activity_id: UUID, uow: LeadsWorkFactory) -> ActivityOut:
        return ActivityOut.of(await cases.get(uow, request.user, str(activity_id)))

    @patch("/{activity_id:uuid}", guards=[requires(CRM_WRITE)], summary="Reschedule or edit a scheduled activity")
    async def edit(
        self, request: AuthRequest, activity_id: UUID, data: ActivityPatch, uow: LeadsWorkFactory
    ) -> ActivityOut:
        """Send only what changes: title, notes, scheduled_at, responsible_id, private. A done or cancelled
        activity cannot change (409). A new time, responsible person or private flag publishes
        `activity.scheduled` again."""
        return ActivityOut.of(await cases.edit(uow, request.user, str(activity_id), data.changes()))

    @post(
        "/{activity_id:uuid}/complete",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Mark a scheduled activity done, with its result",
    )
    async def complete(
        self, request: AuthRequest, activity_id: UUID, uow: LeadsWorkFactory, data: CompleteIn | None = None
    ) -> ActivityOut:
        result = data.result if data else None
        return ActivityOut.of(await cases.complete(uow, request.user, str(activity_id), result))

    @post(
        "/{activity_id:uuid}/cancel",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Cancel a scheduled activity",
    )
    async def cancel(
        self, request: AuthRequest, activity_id: UUID, uow: LeadsWorkFactory, data: CancelIn | None = None
    ) -> ActivityOut:
        reason = data.reason if data else None
        return ActivityOut.of(await cases.cancel(uow, request.user, str(activity_id), reason))


class LeadActivityController(Controller):
    path = "/api/v1/leads"
    tags = ["activities"]

    @post(
        "/{lead_id:uuid}/activities",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_201_CREATED,
        summary="Plan (or log) an activity on a lead",
    )
    async def schedule(
        self, request: AuthRequest, lead_id: UUID, data: ActivityIn, uow: LeadsWorkFactory
    ) -> Response[ActivityOut]:
        """`scheduled_at` needs a time zone offset and may be in the past (a call already made: then complete
        it); the responsible person defaults to you; the title to the type's name."""
        activity = await cases.schedule(
            uow,
            request.user,
            str(lead_id),
            cases.NewActivity(
                type=data.type,
                scheduled_at=data.scheduled_at,
                title=data.title,
                notes=data.notes,
                responsible_id=data.responsible_id,
                private=data.private,
            ),
        )
        return Response(
            ActivityOut.of(activity),
            status_code=HTTP_201_CREATED,
            headers={"Location": f"/api/v1/leads/activities/{activity.id}"},
        )

    @get("/{lead_id:uuid}/activities", guards=[requires(CRM_READ)], summary="A lead's activities")
    async def for_lead(
        self,
        request: AuthRequest,
        lead_id: UUID,
        uow: LeadsWorkFactory,
        state_: Annotated[list[str] | None, Parameter(query="state", description="scheduled, done, cancelled")] = None,
        sort: Annotated[str, Parameter(description="scheduled_at or -scheduled_at")] = "scheduled_at",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ActivityPage:
        """The same as GET /api/v1/leads/activities?lead_id=..., with 404 for a lead not in the clinic."""
        query = ActivityQuery(
            lead_id=str(lead_id), states=_split(state_, "state"), sort=sort, limit=limit, offset=offset
        )
        items, total = await cases.find(uow, request.user, query)
        return ActivityPage(items=[ActivityOut.of(a) for a in items], total=total, limit=limit, offset=offset)
