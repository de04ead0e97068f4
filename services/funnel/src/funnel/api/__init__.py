"""Thin controllers of funnel: decode, one use case, a schema."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from contracts.claims import FUNNEL_ADMIN, FUNNEL_READ, FUNNEL_WRITE
from funnel import services as cases
from funnel.clock import Clock
from funnel.domain import MAX_SIGNED_FILE, PlanItem, StageSpec, task_counts
from funnel.schemas import (
    AssignIn,
    BoardColumn,
    BoardOut,
    BookingOut,
    CardOut,
    CommentIn,
    CreatedOut,
    CuratorIn,
    CuratorOut,
    DealIn,
    DealMessageOut,
    DealOut,
    DealPaymentOut,
    EarningOut,
    EarningsOut,
    FeedOut,
    FunnelSettingsIn,
    FunnelSettingsOut,
    MoveIn,
    NewPipelineIn,
    PipelineIn,
    PipelineOut,
    PlanIn,
    PlanItemOut,
    PlanOut,
    QueueTaskOut,
    RemovedOut,
    SignedFileOut,
    SignedLinkOut,
    StageIn,
    StageOut,
    StagePatch,
    TaskIn,
    TaskOut,
    TaskPatch,
    VisitOut,
)
from funnel.services.work import FunnelWorkFactory
from kit.objects import ObjectStore
from kit.paging import Page
from kit.web import AuthRequest, requires

From = Annotated[date, Parameter(query="from", description="first day (UTC)")]
To = Annotated[date, Parameter(query="to", description="last day (UTC), inclusive")]


def _clock(request: Request[Any, Any, Any]) -> Clock:
    clock: Clock = request.app.state["clock"]
    return clock


def _stage(s: Any) -> StageOut:
    return StageOut(id=s.id, key=s.key, name=s.name, position=s.position, color=s.color, outcome=s.outcome)


class PipelineController(Controller):
    path = "/api/v1/funnel/pipelines"
    tags = ["funnel"]

    @get("/", guards=[requires(FUNNEL_READ)], summary="The clinic's pipelines and their stages")
    async def list(self, request: AuthRequest, uow: FunnelWorkFactory) -> Page[PipelineOut]:
        found, listed = await cases.pipelines(uow, request.user)
        return Page.all(
            PipelineOut(p.id, p.kind, p.name, p.automatic, [_stage(s) for s in listed if s.pipeline_id == p.id])
            for p in found
        )

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_ADMIN)],
          summary="A pipeline of the clinic's own, with its stages in order (moved by hand)")  # fmt: skip
    async def create(self, request: AuthRequest, data: NewPipelineIn, uow: FunnelWorkFactory) -> CreatedOut:
        specs = [StageSpec(s.key, s.name, s.color, s.outcome) for s in data.stages]
        return CreatedOut(await cases.create_pipeline(uow, request.user, name=data.name, stages=specs))

    @delete("/{pipeline_id:uuid}", status_code=200, guards=[requires(FUNNEL_ADMIN)],
            summary="Remove a pipeline of the clinic's own: deleted if it never held a deal, else archived; "
            "refused while it holds open deals")  # fmt: skip
    async def remove(self, request: AuthRequest, pipeline_id: Any, uow: FunnelWorkFactory) -> RemovedOut:
        return RemovedOut(await cases.remove_pipeline(uow, request.user, str(pipeline_id), _clock(request)()))

    @patch("/{pipeline_id:uuid}", guards=[requires(FUNNEL_ADMIN)], summary="Rename; automatic or manual mode")
    async def edit(self, request: AuthRequest, pipeline_id: Any, data: PipelineIn, uow: FunnelWorkFactory) -> None:
        await cases.configure_pipeline(uow, request.user, str(pipeline_id), name=data.name, automatic=data.automatic)

    @post("/{pipeline_id:uuid}/stages", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_ADMIN)])
    async def add_stage(
        self, request: AuthRequest, pipeline_id: Any, data: StageIn, uow: FunnelWorkFactory
    ) -> CreatedOut:
        stage_id = await cases.add_stage(
            uow, request.user, str(pipeline_id), key=data.key, name=data.name, color=data.color, outcome=data.outcome
        )
        return CreatedOut(stage_id)

    @patch("/stages/{stage_id:uuid}", guards=[requires(FUNNEL_ADMIN)], summary="Rename, recolour, reorder a stage")
    async def edit_stage(self, request: AuthRequest, stage_id: Any, data: StagePatch, uow: FunnelWorkFactory) -> None:
        await cases.edit_stage(
            uow, request.user, str(stage_id), name=data.name, color=data.color, position=data.position
        )

    @delete("/stages/{stage_id:uuid}", status_code=HTTP_204_NO_CONTENT, guards=[requires(FUNNEL_ADMIN)])
    async def delete_stage(self, request: AuthRequest, stage_id: Any, uow: FunnelWorkFactory) -> None:
        await cases.delete_stage(uow, request.user, str(stage_id))

    @get("/{pipeline_id:uuid}/board", guards=[requires(FUNNEL_READ)], summary="Deals per stage with counts and sums")
    async def board(
        self, request: AuthRequest, pipeline_id: Any, uow: FunnelWorkFactory, curator_id: UUID | None = None,
        stage_id: UUID | None = None, overdue: bool = False, no_future_booking: bool = False, per_stage: int = 50,
        plan_state: str | None = None, activity: str | None = None, active_days: int = 90,
    ) -> BoardOut:  # fmt: skip
        _, listed, totals, rows = await cases.board(
            uow, request.user, str(pipeline_id), now=_clock(request)(),
            curator_id=str(curator_id) if curator_id else None, stage_id=str(stage_id) if stage_id else None,
            overdue=overdue, no_future_booking=no_future_booking, per_stage=max(1, min(per_stage, 200)),
            plan_state=plan_state, activity=activity, active_days=active_days,
        )  # fmt: skip
        by_stage = {t.stage_id: t for t in totals}
        return BoardOut(
            pipeline_id=str(pipeline_id),
            columns=[
                BoardColumn(
                    stage=_stage(s),
                    count=by_stage[s.id].count if s.id in by_stage else 0,
                    sum=str(by_stage[s.id].sum) if s.id in by_stage else "0",
                    deals=[DealOut.of(r, green=r.green, red=r.red) for r in rows if r.stage_id == s.id],
                )
                for s in listed
            ],
        )


class DealController(Controller):
    path = "/api/v1/funnel/deals"
    tags = ["funnel"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_WRITE)],
          summary="Open a deal by hand in a pipeline of the clinic's own")  # fmt: skip
    async def open(self, request: AuthRequest, data: DealIn, uow: FunnelWorkFactory) -> CreatedOut:
        deal_id = await cases.open_deal(
            uow, request.user, str(data.pipeline_id), stage=data.stage, name=data.name, phone=data.phone,
            lead_id=data.lead_id, patient_id=data.patient_id, amount=data.amount, now=_clock(request)(),
        )  # fmt: skip
        return CreatedOut(deal_id)

    @get("/{deal_id:uuid}", guards=[requires(FUNNEL_READ)], summary="The deal card in one request")
    async def card(self, request: AuthRequest, deal_id: Any, uow: FunnelWorkFactory) -> CardOut:
        found = await cases.card(uow, request.user, str(deal_id))
        now = _clock(request)()
        open_dues = [t.due_at for t in found["tasks"] if t.completed_at is None]
        counts = task_counts(open_dues, now)
        return CardOut(
            deal=DealOut.of(found["deal"], green=counts.green, red=counts.red),
            plans=[
                PlanOut(
                    id=p.id, title=p.title, status=p.status, total=str(p.total), currency=p.currency,
                    signed_at=p.signed_at, completed_at=p.completed_at, signed_file=_file(p),
                    items=[
                        PlanItemOut(i.procedure, i.procedure_id, i.quantity, str(i.price), str(i.discount), i.stage)
                        for i in found["items"] if i.plan_id == p.id
                    ],
                )
                for p in found["plans"]
            ],
            tasks=[_task(t) for t in found["tasks"]],
            visits=[VisitOut(v.appointment_id, v.completed_at, list(v.procedures)) for v in found["visits"]],
            bookings=[BookingOut(b.id, b.starts_at, b.cancelled_at, b.done_at) for b in found["bookings"]],
            feed=[FeedOut(f.at, f.kind, f.text) for f in found["feed"]],
            payments=[
                DealPaymentOut(m.payment_id, m.kind, str(m.amount), m.currency, m.procedure_id, m.at)
                for m in found["money"]
            ],
            debt=str(max(found["deal"].amount - found["deal"].paid, Decimal(0))),
            messages=[DealMessageOut(m.id, m.channel, m.to, m.template, m.sent_at) for m in found["messages"]],
        )  # fmt: skip

    @post("/{deal_id:uuid}/move", guards=[requires(FUNNEL_WRITE)], summary="Move by hand (manual mode), with a reason")
    async def move(self, request: AuthRequest, deal_id: Any, data: MoveIn, uow: FunnelWorkFactory) -> None:
        await cases.move_by_hand(uow, request.user, str(deal_id), data.stage, data.reason, _clock(request)())

    @put("/{deal_id:uuid}/curator", guards=[requires(FUNNEL_WRITE)], summary="Assign the deal's curator")
    async def assign(self, request: AuthRequest, deal_id: Any, data: AssignIn, uow: FunnelWorkFactory) -> None:
        await cases.assign_curator(uow, request.user, str(deal_id), str(data.curator_id), _clock(request)())

    @post("/{deal_id:uuid}/plans", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_WRITE)])
    async def plan(self, request: AuthRequest, deal_id: Any, data: PlanIn, uow: FunnelWorkFactory) -> CreatedOut:
        items = [
            PlanItem(i.procedure, i.quantity, i.price, i.discount or Decimal(0), i.stage, i.procedure_id)
            for i in data.items
        ]
        plan_id = await cases.create_plan(
            uow, request.user, str(deal_id), data.title, data.currency, items, _clock(request)()
        )
        return CreatedOut(plan_id)

    @post("/{deal_id:uuid}/tasks", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_WRITE)])
    async def task(self, request: AuthRequest, deal_id: Any, data: TaskIn, uow: FunnelWorkFactory) -> CreatedOut:
        task_id = await cases.add_task(
            uow, request.user, str(deal_id), kind=data.kind, title=data.title,
            responsible_id=str(data.responsible_id) if data.responsible_id else None, due_at=data.due_at,
            now=_clock(request)(),
        )  # fmt: skip
        return CreatedOut(task_id)

    @get("/{deal_id:uuid}/tasks", guards=[requires(FUNNEL_READ)], summary="The deal's tasks, soonest due first")
    async def tasks(self, request: AuthRequest, deal_id: Any, uow: FunnelWorkFactory) -> Page[TaskOut]:
        return Page.all(_task(t) for t in await cases.tasks_of(uow, request.user, str(deal_id)))


def _file(p: Any) -> SignedFileOut | None:
    if p.file_key is None:
        return None
    return SignedFileOut(p.id, p.file_type, p.file_size, p.file_sha256, f"/api/v1/funnel/plans/{p.id}/signed-file")


def _task(t: Any) -> TaskOut:
    return TaskOut(
        t.id, t.kind, t.title, t.responsible_id, t.due_at, t.automatic, t.completed_at, list(t.comments),
        deal_id=t.deal_id, reason=t.reason, phone=t.phone, ref=t.ref,
    )  # fmt: skip


class WorkController(Controller):
    path = "/api/v1/funnel"
    tags = ["funnel"]

    @post("/plans/{plan_id:uuid}/sign", guards=[requires(FUNNEL_WRITE)], summary="Signed without upload")
    async def sign(self, request: AuthRequest, plan_id: Any, uow: FunnelWorkFactory) -> None:
        await cases.sign_plan(uow, request.user, str(plan_id), _clock(request)())

    @put(
        "/plans/{plan_id:uuid}/signed-file", guards=[requires(FUNNEL_WRITE)], request_max_body_size=MAX_SIGNED_FILE + 1,
        summary="Upload the signed plan (the body is the file: PDF, JPEG or PNG, at most 8 MB); signs the plan",
    )  # fmt: skip
    async def upload_signed(
        self, request: AuthRequest, plan_id: Any, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> SignedFileOut:
        body = await request.body()
        await cases.upload_signed_file(
            uow, objects, request.user, str(plan_id), request.headers.get("content-type"), body, _clock(request)()
        )
        found = await cases.plan_row(uow, request.user, str(plan_id))
        out = _file(found)
        assert out is not None
        return out

    @get("/plans/{plan_id:uuid}/signed-file", guards=[requires(FUNNEL_READ)], summary="Download the signed plan")
    async def download_signed(
        self, request: AuthRequest, plan_id: Any, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> Response[bytes]:
        _, data, kind = await cases.signed_file(uow, objects, request.user, str(plan_id), link=False)
        return Response(data or b"", media_type=kind, headers={"cache-control": "private, no-store"})

    @get("/plans/{plan_id:uuid}/signed-file/link", guards=[requires(FUNNEL_READ)],
         summary="A signed, time-limited download link of the signed plan")  # fmt: skip
    async def signed_link(
        self, request: AuthRequest, plan_id: Any, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> SignedLinkOut:
        url, _, _ = await cases.signed_file(uow, objects, request.user, str(plan_id), link=True)
        return SignedLinkOut(url, cases.SIGNED_LINK_SECONDS)

    @get("/tasks/queue", guards=[requires(FUNNEL_READ)], summary="The clinic's queue: open tasks nobody has")
    async def queue(self, request: AuthRequest, uow: FunnelWorkFactory, limit: int = 100) -> Page[QueueTaskOut]:
        limit = max(1, min(limit, 500))
        found = await cases.queue(uow, request.user, limit=limit)
        return Page.window([QueueTaskOut(_task(t), t.deal_name, t.deal_kind) for t in found], limit=limit, offset=0)

    @get("/settings", guards=[requires(FUNNEL_READ)], summary="The clinic's funnel settings")
    async def get_settings(self, request: AuthRequest, uow: FunnelWorkFactory) -> FunnelSettingsOut:
        return FunnelSettingsOut(await cases.get_settings(uow, request.user))

    @put("/settings", guards=[requires(FUNNEL_ADMIN)], summary="Hours before an unconfirmed appointment to call")
    async def put_settings(
        self, request: AuthRequest, data: FunnelSettingsIn, uow: FunnelWorkFactory
    ) -> FunnelSettingsOut:
        await cases.put_settings(uow, request.user, data.confirm_call_hours, _clock(request)())
        return FunnelSettingsOut(await cases.get_settings(uow, request.user))

    @patch("/tasks/{task_id:uuid}", guards=[requires(FUNNEL_WRITE)], summary="Retitle, reschedule, hand over")
    async def edit_task(self, request: AuthRequest, task_id: Any, data: TaskPatch, uow: FunnelWorkFactory) -> None:
        await cases.edit_task(
            uow, request.user, str(task_id), title=data.title, due_at=data.due_at,
            responsible_id=str(data.responsible_id) if data.responsible_id else None, now=_clock(request)(),
        )  # fmt: skip

    @post("/tasks/{task_id:uuid}/complete", guards=[requires(FUNNEL_WRITE)])
    async def complete(self, request: AuthRequest, task_id: Any, uow: FunnelWorkFactory) -> None:
        await cases.complete_task(uow, request.user, str(task_id), _clock(request)())

    @post("/tasks/{task_id:uuid}/comments", guards=[requires(FUNNEL_WRITE)])
    async def comment(self, request: AuthRequest, task_id: Any, data: CommentIn, uow: FunnelWorkFactory) -> None:
        await cases.comment_task(uow, request.user, str(task_id), data.text, _clock(request)())

    @put("/curators/{user_id:uuid}", guards=[requires(FUNNEL_ADMIN)], summary="A curator's commission percentages")
    async def curator(self, request: AuthRequest, user_id: Any, data: CuratorIn, uow: FunnelWorkFactory) -> None:
        await cases.set_curator_terms(uow, request.user, str(user_id), data.general_percent, data.per_service)

    @get("/curators/earnings", guards=[requires(FUNNEL_READ)],
         summary="What each curator earned from their patients' payments (general and per-service %)")  # fmt: skip
    async def earnings(
        self, request: AuthRequest, uow: FunnelWorkFactory, start: From, end: To, curator_id: UUID | None = None
    ) -> EarningsOut:
        found = await cases.earnings(uow, request.user, start, end, str(curator_id) if curator_id else None)
        return EarningsOut(
            start.isoformat(), end.isoformat(),
            [EarningOut(str(r.curator_id), r.currency, str(r.paid), str(r.refunded), str(r.earned), r.payments)
             for r in found],
        )  # fmt: skip

    @get("/curators", guards=[requires(FUNNEL_READ)])
    async def curators(self, request: AuthRequest, uow: FunnelWorkFactory) -> Page[CuratorOut]:
        return Page.all(
            CuratorOut(c.user_id, str(c.general_percent), dict(c.per_service))
            for c in await cases.curators(uow, request.user)
        )
