"""Thin controllers of analytics: decode, one use case, a schema (docs/analytics.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from analytics import exports
from analytics.domain import reports as rules
from analytics.schemas import (
    CommissionIn,
    CommissionOut,
    DashboardOut,
    PanelDetailOut,
    PanelOut,
    ReportOut,
    SourceIn,
    SourceOut,
    SpendIn,
    SpendOut,
)
from analytics.services import dashboard, inputs
from analytics.services import reports as cases
from analytics.services.work import AnalyticsWorkFactory
from contracts.claims import ANALYTICS_ALL, ANALYTICS_READ, ANALYTICS_WRITE
from kit.auth import Principal
from kit.inputs import Uuid, uuids
from kit.paging import CommaList, Page, comma_list
from kit.web import AuthRequest, Limit, Offset, requires

Format = Literal["json", "csv", "xlsx"]
From = Annotated[date | None, Parameter(query="from", description="first clinic day; default 29 days before `to`")]
To = Annotated[date | None, Parameter(query="to", description="last clinic day (inclusive); default today")]
Branch = Annotated[str | None, Parameter(query="branch_id", description="only this branch (first booking's)")]
GroupBy = Annotated[CommaList, Parameter(query="group_by", description="comma list of dimensions")]
Sort = Annotated[str | None, Parameter(description="a column; a leading '-' sorts descending")]
Fmt = Annotated[Format, Parameter(query="format", description="json (default), csv or xlsx")]

ReportCase = Callable[[AnalyticsWorkFactory, Principal, cases.Query], Awaitable[cases.Report]]


def _out(report: cases.Report, fmt: Format) -> ReportOut | Response[bytes]:
    if fmt == "json":
        return ReportOut(
            report=report.name,
            first=report.period.first,
            last=report.period.last,
            scope=report.scope,
            group_by=list(report.group_by),
            sort=report.sort,
            columns=report.columns,
            rows=report.rows,
            totals=report.totals,
        )
    body = exports.to_csv(report) if fmt == "csv" else exports.to_xlsx(report)
    return Response(
        body,
        status_code=HTTP_200_OK,
        media_type=exports.MEDIA[fmt],
        headers={"content-disposition": f'attachment; filename="{exports.filename(report, fmt)}"'},
    )


async def _report(
    case: ReportCase, request: AuthRequest, uow: AnalyticsWorkFactory, first: date | None, last: date | None,
    branch: str | None, group_by: str | None, sort: str | None, fmt: Format, allowed: tuple[str, ...],
) -> ReportOut | Response[bytes]:  # fmt: skip
    dims = tuple(comma_list(group_by, field="group_by", allowed=allowed)) if allowed else ()
    uuids([branch] if branch else [], "branch_id")
    query = cases.Query(first=first, last=last, branch_id=branch or None, group_by=dims, sort=sort)
    return _out(await case(uow, request.user, query), fmt)


class ReportController(Controller):
    """Every report takes `from`/`to` (clinic days), `branch_id`, `sort` and `format` (json, csv, xlsx)."""

    path = "/api/v1/analytics/reports"
    tags = ["analytics"]
    guards = [requires(ANALYTICS_READ)]

    @get("/leads", summary="Leads per channel and source")
    async def leads(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, group_by: GroupBy = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """`group_by`: channel, source (default), doctor, branch. Counts the leads created in the period under
        their corrected source; `corrected` counts those whose source staff changed by hand."""
        return await _report(cases.leads, request, uow, from_, to, branch_id, group_by, sort, fmt,
                             rules.LEAD_DIMENSIONS)  # fmt: skip

    @get("/conversion", summary="Conversion lead -> booked -> arrived -> treated -> paid")
    async def conversion(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, group_by: GroupBy = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """The leads created in the period and how many of them reached each step (ever), the share of the
        leads and the drop from the step before."""
        return await _report(cases.conversion, request, uow, from_, to, branch_id, group_by, sort, fmt,
                             rules.LEAD_DIMENSIONS)  # fmt: skip

    @get("/revenue", summary="Revenue per channel, source, doctor, procedure; cost per lead")
    async def revenue(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, group_by: GroupBy = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """Payments confirmed in the period less their refunds. Grouped by source (or channel and source), the
        rows also carry the campaign spend of the period and the cost per lead."""
        return await _report(cases.revenue, request, uow, from_, to, branch_id, group_by, sort, fmt,
                             rules.REVENUE_DIMENSIONS)  # fmt: skip

    @get("/visits", summary="The curators' Visits report")
    async def visits(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """Per patient with a curator: treatment plans of the period (before and after discounts), payments of
        the period, open debt, the curator's commission; `totals.curators` sums them per curator."""
        return await _report(cases.visits, request, uow, from_, to, branch_id, None, sort, fmt, ())

    @get("/attendance", summary="No-show rate and reminder confirmation rate")
    async def attendance(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, group_by: GroupBy = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """`group_by`: channel (default) or step (the reminder's minutes before the start)."""
        return await _report(cases.attendance, request, uow, from_, to, branch_id, group_by, sort, fmt,
                             ("channel", "step"))  # fmt: skip

    @get("/response-times", summary="Minutes from a lead's arrival to its first contact, per agent")
    async def response_times(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        branch_id: Branch = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        return await _report(cases.response_times, request, uow, from_, to, branch_id, None, sort, fmt, ())

    @get("/ai-usage", summary="The reply assistant: suggestions asked for, used as is / edited / ignored, tokens, cost")
    async def ai_usage(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, from_: From = None, to: To = None,
        group_by: GroupBy = None, sort: Sort = None, fmt: Fmt = "json",
    ) -> ReportOut | Response[bytes]:  # fmt: skip
        """`group_by`: staff (default), channel, model. Requests made in the period; managers and admins see the
        clinic's, agents their own. `booked` / `paid`: used suggestions followed by the lead's booking / payment."""
        return await _report(cases.ai_usage, request, uow, from_, to, None, group_by, sort, fmt,
                             rules.AI_DIMENSIONS)  # fmt: skip


class DashboardController(Controller):
    path = "/api/v1/analytics/dashboard"
    tags = ["analytics"]
    guards = [requires(ANALYTICS_READ)]

    @get("/", summary="The console's panels: counts")
    async def panels(self, request: AuthRequest, uow: AnalyticsWorkFactory) -> DashboardOut:
        counts = await dashboard.panels(uow, request.user)
        return DashboardOut(
            scope="clinic" if request.user.has(ANALYTICS_ALL) else "own",
            panels={
                name: PanelOut(
                    count=int(value["count"]),
                    amount=value["amount"],
                    detail=f"/api/v1/analytics/dashboard/{name}",
                )
                for name, value in counts.items()
            },
        )

    @get("/{panel:str}", summary="One panel's items (the 10 newest leads, ...), each with its link")
    async def detail(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, panel: str,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 10,
    ) -> PanelDetailOut:  # fmt: skip
        return PanelDetailOut(panel=panel, items=await dashboard.detail(uow, request.user, panel, limit))


class InputController(Controller):
    path = "/api/v1/analytics"
    tags = ["analytics"]

    @get("/leads/{lead_id:str}/source", guards=[requires(ANALYTICS_READ)], summary="A lead's source in reports")
    async def source(self, request: AuthRequest, uow: AnalyticsWorkFactory, lead_id: Uuid) -> SourceOut:
        return SourceOut.of(await inputs.lead_source(uow, request.user, lead_id))

    @put("/leads/{lead_id:str}/source", guards=[requires(ANALYTICS_WRITE)], summary="Correct a lead's source")
    async def correct(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, lead_id: Uuid, data: SourceIn
    ) -> SourceOut:
        """Reports count the lead under this source; the source it came with stays as `original_source`."""
        return SourceOut.of(await inputs.correct_source(uow, request.user, lead_id, data.source, data.note))

    @delete("/leads/{lead_id:str}/source", guards=[requires(ANALYTICS_WRITE)], status_code=HTTP_200_OK,
            summary="Undo the correction")  # fmt: skip
    async def uncorrect(self, request: AuthRequest, uow: AnalyticsWorkFactory, lead_id: Uuid) -> SourceOut:
        return SourceOut.of(await inputs.clear_correction(uow, request.user, lead_id))

    @post("/spend", guards=[requires(ANALYTICS_WRITE)], status_code=HTTP_201_CREATED,
          summary="Record campaign spend")  # fmt: skip
    async def add_spend(self, request: AuthRequest, uow: AnalyticsWorkFactory, data: SpendIn) -> SpendOut:
        return SpendOut.of(
            await inputs.add_spend(
                uow,
                request.user,
                source=data.source,
                channel=data.channel,
                campaign=data.campaign,
                first=data.first,
                last=data.last,
                amount=data.amount,
                currency=data.currency,
            )
        )

    @get("/spend", guards=[requires(ANALYTICS_ALL)], summary="The clinic's recorded campaign spend")
    async def spend(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, limit: Limit = 50, offset: Offset = 0
    ) -> Page[SpendOut]:
        rows, total = await inputs.list_spend(uow, request.user, limit=limit, offset=offset)
        return Page.of([SpendOut.of(r) for r in rows], total=total, limit=limit, offset=offset)

    # A typed path: a spend id that is no UUID is a 422 naming it, never a failed cast in PostgreSQL.
    @delete("/spend/{spend_id:uuid}", guards=[requires(ANALYTICS_WRITE)], status_code=HTTP_204_NO_CONTENT,
            summary="Remove a spend record")  # fmt: skip
    async def remove_spend(self, request: AuthRequest, uow: AnalyticsWorkFactory, spend_id: UUID) -> None:
        await inputs.delete_spend(uow, request.user, str(spend_id))

    @get("/commissions", guards=[requires(ANALYTICS_ALL)], summary="The curators' commission rates")
    async def commissions(self, request: AuthRequest, uow: AnalyticsWorkFactory) -> Page[CommissionOut]:
        return Page.all(CommissionOut.of(r) for r in await inputs.commissions(uow, request.user))

    @put("/commissions/{curator_id:str}", guards=[requires(ANALYTICS_WRITE)],
         summary="Set a curator's commission rate ('*': the clinic's default)")  # fmt: skip
    async def set_commission(
        self, request: AuthRequest, uow: AnalyticsWorkFactory, curator_id: str, data: CommissionIn
    ) -> Page[CommissionOut]:
        uuids([curator_id], "curator_id", allow=("*",))
        return Page.all(
            CommissionOut.of(r) for r in await inputs.set_commission(uow, request.user, curator_id, data.percent)
        )
