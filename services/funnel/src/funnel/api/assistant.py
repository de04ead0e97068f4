"""Thin controllers of the assistant: the clinic's set-up and texts, the processes, take over and hand back."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post, put
from litestar.status_codes import HTTP_201_CREATED

from contracts.claims import FUNNEL_ADMIN, FUNNEL_READ, FUNNEL_WRITE
from funnel.api import _clock
from funnel.domain import assistant as a
from funnel.schemas import CreatedOut
from funnel.schemas.assistant import OptionOut, ProcessOut, SettingsIn, SettingsOut, StartIn, StepOut
from funnel.services import assistant as cases
from funnel.services.work import FunnelWorkFactory
from kit.paging import CommaList, Limit, Offset, Page, comma_list
from kit.web import AuthRequest, requires

STATUSES = (a.ACTIVE, a.AGENT, a.COMPLETED)


def _process(row: Any, history: list[Any] | None = None) -> ProcessOut:
    return ProcessOut(
        **cases.describe(row),
        history=[StepOut(h.at, h.step, h.actor, h.action, h.detail) for h in history or []],
    )


class AssistantController(Controller):
    path = "/api/v1/funnel/assistant"
    tags = ["funnel assistant"]

    @get("/settings", guards=[requires(FUNNEL_READ)], summary="The assistant's set-up, texts and the defaults")
    async def get_settings(self, request: AuthRequest, uow: FunnelWorkFactory) -> SettingsOut:
        row = await cases.settings(uow, request.user)
        return SettingsOut(
            enabled=bool(row and row.enabled),
            procedures=[OptionOut(o["id"], o["title"], o.get("amount")) for o in (row.procedures if row else [])],
            regions=[OptionOut(o["id"], o["title"]) for o in (row.regions if row else [])],
            messages=row.messages if row else {}, default_locale=row.default_locale if row else "pt-BR",
            currency=row.currency if row else "BRL", reply_minutes=row.reply_minutes if row else 60,
            handoff_minutes=row.handoff_minutes if row else 120, defaults=a.DEFAULT_MESSAGES,
            variables={k: list(v) for k, v in a.MESSAGE_VARS.items()}, updated_at=row.updated_at if row else None,
        )  # fmt: skip

    @put("/settings", guards=[requires(FUNNEL_ADMIN)], summary="Switch on, the procedures and regions, the texts")
    async def put_settings(self, request: AuthRequest, data: SettingsIn, uow: FunnelWorkFactory) -> None:
        await cases.put_settings(
            uow, request.user, enabled=data.enabled,
            procedures=[a.Option(o.id, o.title, o.amount) for o in data.procedures],
            regions=[a.Option(o.id, o.title, o.amount) for o in data.regions], messages=data.messages,
            default_locale=data.default_locale, currency=data.currency, reply_minutes=data.reply_minutes,
            handoff_minutes=data.handoff_minutes, now=_clock(request)(),
        )  # fmt: skip

    @post("/processes", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_WRITE)], summary="Start for a lead")
    async def start(self, request: AuthRequest, data: StartIn, uow: FunnelWorkFactory) -> CreatedOut:
        process_id = await cases.start(
            uow, request.user, lead_id=str(data.lead_id), channel=data.channel, address=data.address,
            name=data.name, locale=data.locale, now=_clock(request)(),
        )  # fmt: skip
        return CreatedOut(process_id)

    @get("/processes", guards=[requires(FUNNEL_READ)], summary="The clinic's assistant processes, latest first")
    async def list(
        self, request: AuthRequest, uow: FunnelWorkFactory, status: CommaList = None, limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ProcessOut]:  # fmt: skip
        wanted = comma_list(status, field="status", allowed=STATUSES)
        rows, total = await cases.processes(uow, request.user, status=wanted or None, limit=limit, offset=offset)
        return Page.of([_process(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/processes/{process_id:uuid}", guards=[requires(FUNNEL_READ)], summary="A process and its history")
    async def show(self, request: AuthRequest, process_id: Any, uow: FunnelWorkFactory) -> ProcessOut:
        return _process(*await cases.process(uow, request.user, str(process_id)))

    @get("/deals/{deal_id:uuid}", guards=[requires(FUNNEL_READ)], summary="The deal's assistant and its history")
    async def of_deal(self, request: AuthRequest, deal_id: Any, uow: FunnelWorkFactory) -> ProcessOut:
        return _process(*await cases.of_deal(uow, request.user, str(deal_id)))

    @post("/processes/{process_id:uuid}/take-over", guards=[requires(FUNNEL_WRITE)], summary="Stop the assistant now")
    async def take_over(self, request: AuthRequest, process_id: Any, uow: FunnelWorkFactory) -> None:
        await cases.take_over(uow, request.user, str(process_id), _clock(request)())

    @post("/processes/{process_id:uuid}/hand-back", guards=[requires(FUNNEL_WRITE)], summary="The assistant goes on")
    async def hand_back(self, request: AuthRequest, process_id: Any, uow: FunnelWorkFactory) -> None:
        await cases.hand_back(uow, request.user, str(process_id), _clock(request)())
