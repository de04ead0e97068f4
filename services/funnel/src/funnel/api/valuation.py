"""HTTP of the valuation → quote process (docs/quotes.md): staff paths under /api/v1/funnel, the prospect's
pages under /public/funnel (the signed link in `token` is the credential)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from contracts.claims import CRM_READ, FUNNEL_ADMIN, FUNNEL_WRITE
from funnel.clock import Clock
from funnel.domain import InvalidFunnel
from funnel.domain import valuation as rules
from funnel.schemas import CreatedOut
from funnel.schemas.valuation import (
    AgentIn,
    AnswerIn,
    CancelIn,
    CostIn,
    CostOut,
    CostPatch,
    DetailsPatch,
    DiscountIn,
    DiscountOut,
    DiscountPatch,
    DoctorIn,
    NoteIn,
    PhotoOut,
    PhotoPageOut,
    QuoteIn,
    QuoteLineOut,
    QuoteOut,
    QuotePageOut,
    RecordIn,
    StepOut,
    ValuationCard,
    ValuationIn,
    ValuationOut,
    ValuationSettingsIn,
    ValuationSettingsOut,
)
from funnel.services import valuation as cases
from funnel.services.work import FunnelWorkFactory
from kit.objects import ObjectStore
from kit.paging import Page, comma_list
from kit.web import AuthRequest, Limit, Offset, requires

Token = Annotated[str, Parameter(query="token", max_length=4096)]
#: `state` is a name Litestar reserves for the app state, hence the alias.
StateList = Annotated[str | None, Parameter(query="state", description="comma-separated states")]
#: A photo plus room for headers; the domain refuses more than rules.MAX_PHOTO_BYTES with a clear message.
_PHOTO_BODY = rules.MAX_PHOTO_BYTES + 1024 * 1024


def _env(request: Request[Any, Any, Any], uow: FunnelWorkFactory, objects: ObjectStore) -> cases.Env:
    clock: Clock = request.app.state["clock"]
    return cases.Env(uow, clock, request.app.state["valuation_links"], objects)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _out(row: Any, photos: int) -> ValuationOut:
    return ValuationOut(
        id=row.id, state=row.state, lead_id=row.lead_id, name=row.name, phone=row.phone, email=row.email,
        locale=row.locale, agent_id=row.agent_id, doctor_id=row.doctor_id, photos_received=photos,
        photos_required=rules.PHOTOS_REQUIRED, quote_id=row.quote_id, waiting_for=row.waiting_for,
        answer_due_at=row.answer_due_at, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _lines(items: list[dict[str, Any]]) -> list[QuoteLineOut]:
    return [QuoteLineOut(**i) for i in items]


def _quote(q: Any) -> QuoteOut:
    return QuoteOut(
        id=q.id, status=q.status, currency=q.currency, subtotal=str(q.subtotal), total=str(q.total),
        items=_lines(q.items), note=q.note, created_at=q.created_at, sent_at=q.sent_at,
    )  # fmt: skip


class ValuationController(Controller):
    path = "/api/v1/funnel/valuations"
    tags = ["funnel: valuations and quotes"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_WRITE)], summary="Open a valuation process")
    async def open(
        self, request: AuthRequest, data: ValuationIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> dict[str, str]:
        valuation_id, url = await cases.open_valuation(
            _env(request, uow, objects), request.user, lead_id=_s(data.lead_id), name=data.name, phone=data.phone,
            email=data.email, locale=data.locale, agent_id=_s(data.agent_id),
        )  # fmt: skip
        return {"id": valuation_id, "upload_url": url}

    @get("/", guards=[requires(CRM_READ)], summary="Valuation processes (a doctor without funnel:read: their own)")
    async def list(
        self, request: AuthRequest, uow: FunnelWorkFactory, objects: ObjectStore, states: StateList = None,
        agent_id: UUID | None = None, doctor_id: UUID | None = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[ValuationOut]:  # fmt: skip
        rows, total = await cases.valuations(
            _env(request, uow, objects), request.user, states=comma_list(states, field="state", allowed=rules.STATES),
            agent_id=_s(agent_id), doctor_id=_s(doctor_id), limit=limit, offset=offset,
        )  # fmt: skip
        return Page.of([_out(r, r.photo_count) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{valuation_id:uuid}", guards=[requires(CRM_READ)], summary="The process: photos, quotes, history")
    async def card(
        self, request: AuthRequest, valuation_id: Any, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> ValuationCard:
        found = await cases.valuation(_env(request, uow, objects), request.user, str(valuation_id))
        row, photos = found["row"], found["photos"]
        have = {p.slot for p in photos}
        return ValuationCard(
            valuation=_out(row, len(photos)), summary=row.summary, grafts=row.grafts, notes=row.notes,
            photos=[
                PhotoOut(p.slot, p.source, p.content_type, p.size, p.received_at, found["urls"][p.slot]) for p in photos
            ],
            missing=[s for s in rules.SLOTS if s not in have], quotes=[_quote(q) for q in found["quotes"]],
            history=[StepOut(h.at, h.kind, h.by, h.text) for h in found["history"]],
        )  # fmt: skip

    @patch("/{valuation_id:uuid}", guards=[requires(FUNNEL_WRITE)], summary="Edit the prospect's details")
    async def edit(
        self, request: AuthRequest, valuation_id: Any, data: DetailsPatch, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.edit_details(_env(request, uow, objects), request.user, str(valuation_id), data.changes())

    @put("/{valuation_id:uuid}/agent", guards=[requires(FUNNEL_WRITE)], summary="Give the prospect to another agent")
    async def agent(
        self, request: AuthRequest, valuation_id: Any, data: AgentIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.reassign_agent(_env(request, uow, objects), request.user, str(valuation_id), str(data.agent_id))

    @put("/{valuation_id:uuid}/doctor", guards=[requires(FUNNEL_ADMIN)], summary="Move to another diagnostic doctor")
    async def doctor(
        self, request: AuthRequest, valuation_id: Any, data: DoctorIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.assign_doctor(_env(request, uow, objects), request.user, str(valuation_id), str(data.doctor_id))

    @post("/{valuation_id:uuid}/valuation", status_code=HTTP_200_OK, guards=[requires(CRM_READ)],
          summary="The diagnostic doctor records the valuation")  # fmt: skip
    async def record(
        self, request: AuthRequest, valuation_id: Any, data: RecordIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.record_valuation(
            _env(request, uow, objects), request.user, str(valuation_id), summary=data.summary, grafts=data.grafts,
            notes=data.notes,
        )  # fmt: skip

    @put("/{valuation_id:uuid}/quote", guards=[requires(CRM_READ)],
         summary="Save the quote (items from the clinic's costs and discounts); send it now or later")  # fmt: skip
    async def quote(
        self, request: AuthRequest, valuation_id: Any, data: QuoteIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> CreatedOut:
        items = [cases.ItemIn(str(i.cost_id), i.quantity, _s(i.discount_id)) for i in data.items]
        quote_id = await cases.save_quote(
            _env(request, uow, objects), request.user, str(valuation_id), items, discount_id=_s(data.discount_id),
            note=data.note, send=data.send,
        )  # fmt: skip
        return CreatedOut(quote_id)

    @post("/{valuation_id:uuid}/quote/send", status_code=HTTP_200_OK, guards=[requires(CRM_READ)],
          summary="Send the saved quote to the prospect")  # fmt: skip
    async def send(
        self, request: AuthRequest, valuation_id: Any, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> CreatedOut:
        return CreatedOut(await cases.send_quote(_env(request, uow, objects), request.user, str(valuation_id)))

    @post("/{valuation_id:uuid}/reply", status_code=HTTP_200_OK, guards=[requires(FUNNEL_WRITE)],
          summary="The clinic replied to the prospect's acceptance or question")  # fmt: skip
    async def reply(
        self, request: AuthRequest, valuation_id: Any, data: NoteIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.reply(_env(request, uow, objects), request.user, str(valuation_id), data.note)

    @post("/{valuation_id:uuid}/cancel", status_code=HTTP_200_OK, guards=[requires(FUNNEL_WRITE)])
    async def cancel(
        self, request: AuthRequest, valuation_id: Any, data: CancelIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.cancel(_env(request, uow, objects), request.user, str(valuation_id), data.reason)


def _cost(c: Any) -> CostOut:
    return CostOut(c.id, c.name, str(c.price), c.currency, c.active)


def _discount(d: Any) -> DiscountOut:
    return DiscountOut(d.id, d.name, str(d.percent), d.active)


class PriceListController(Controller):
    path = "/api/v1/funnel"
    tags = ["funnel: valuations and quotes"]

    @get("/quote-costs", guards=[requires(CRM_READ)], summary="The clinic's costs (items of quotes)")
    async def costs(self, request: AuthRequest, uow: FunnelWorkFactory, objects: ObjectStore) -> Page[CostOut]:
        return Page.all(_cost(c) for c in await cases.costs(_env(request, uow, objects), request.user))

    @post("/quote-costs", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_ADMIN)])
    async def add_cost(
        self, request: AuthRequest, data: CostIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> CreatedOut:
        env = _env(request, uow, objects)
        return CreatedOut(
            await cases.add_cost(env, request.user, name=data.name, price=data.price, currency=data.currency)
        )

    @patch("/quote-costs/{cost_id:uuid}", guards=[requires(FUNNEL_ADMIN)], summary="Rename, reprice, retire a cost")
    async def edit_cost(
        self, request: AuthRequest, cost_id: Any, data: CostPatch, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.edit_cost(_env(request, uow, objects), request.user, str(cost_id), data.changes())

    @get("/valuation-settings", guards=[requires(CRM_READ)],
         summary="Which lead requests open a valuation by themselves")  # fmt: skip
    async def request_settings(
        self, request: AuthRequest, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> ValuationSettingsOut:
        return ValuationSettingsOut(**await cases.request_settings(_env(request, uow, objects), request.user))

    @put("/valuation-settings", guards=[requires(FUNNEL_ADMIN)],
         summary="The treatments whose requests open a valuation; the agent of leads with no owner")  # fmt: skip
    async def put_request_settings(
        self, request: AuthRequest, data: ValuationSettingsIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> ValuationSettingsOut:
        saved = await cases.put_request_settings(
            _env(request, uow, objects), request.user, treatments=data.treatments, agent_id=_s(data.agent_id)
        )
        return ValuationSettingsOut(**saved)

    @get("/quote-discounts", guards=[requires(CRM_READ)], summary="The clinic's discounts")
    async def discounts(self, request: AuthRequest, uow: FunnelWorkFactory, objects: ObjectStore) -> Page[DiscountOut]:
        return Page.all(_discount(d) for d in await cases.discounts(_env(request, uow, objects), request.user))

    @post("/quote-discounts", status_code=HTTP_201_CREATED, guards=[requires(FUNNEL_ADMIN)])
    async def add_discount(
        self, request: AuthRequest, data: DiscountIn, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> CreatedOut:
        env = _env(request, uow, objects)
        return CreatedOut(await cases.add_discount(env, request.user, name=data.name, percent=data.percent))

    @patch("/quote-discounts/{discount_id:uuid}", guards=[requires(FUNNEL_ADMIN)])
    async def edit_discount(
        self, request: AuthRequest, discount_id: Any, data: DiscountPatch, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> None:
        await cases.edit_discount(_env(request, uow, objects), request.user, str(discount_id), data.changes())


def _photo_page(row: Any, photos: list[Any]) -> PhotoPageOut:
    have = [p.slot for p in photos]
    return PhotoPageOut(
        name=row.name, received=have, missing=[s for s in rules.SLOTS if s not in have],
        complete=len(set(have)) >= rules.PHOTOS_REQUIRED, locale=row.locale,
    )  # fmt: skip


def _quote_page(row: Any, q: Any) -> QuotePageOut:
    return QuotePageOut(
        name=row.name, currency=q.currency, subtotal=str(q.subtotal), total=str(q.total), items=_lines(q.items),
        note=q.note, status=q.status, answer=row.answer if row.quote_id == q.id else None, state=row.state,
        locale=row.locale, valuation=row.summary, grafts=row.grafts,
    )  # fmt: skip


class ProspectController(Controller):
    """The prospect's side (JSON for the patient pages)."""

    path = "/public/funnel"
    tags = ["funnel: patient pages"]
    security = [{}]

    @get("/photos", summary="Which photos the clinic has and which are missing")
    async def photos(
        self, request: Request[Any, Any, Any], token: Token, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> PhotoPageOut:
        return _photo_page(*await cases.photo_page(_env(request, uow, objects), token))

    @put("/photos/{slot:str}", request_max_body_size=_PHOTO_BODY,
         summary="Upload one photo (the body is the image: JPEG, PNG, WebP or HEIC, at most 8 MB)")  # fmt: skip
    async def upload(
        self, request: Request[Any, Any, Any], slot: str, token: Token, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> PhotoPageOut:
        body = await request.body()
        return _photo_page(*await cases.upload_photo(_env(request, uow, objects), token, slot, body))

    @get("/quotes", summary="The quote the link was sent with")
    async def quote(
        self, request: Request[Any, Any, Any], token: Token, uow: FunnelWorkFactory, objects: ObjectStore
    ) -> QuotePageOut:
        return _quote_page(*await cases.quote_page(_env(request, uow, objects), token))

    @post("/quotes/{action:str}", status_code=HTTP_200_OK,
          summary="accept, reject, or question (talk to the agent); the same answer again is a no-op")  # fmt: skip
    async def answer(
        self, request: Request[Any, Any, Any], action: str, token: Token, uow: FunnelWorkFactory,
        objects: ObjectStore, data: AnswerIn | None = None,
    ) -> QuotePageOut:  # fmt: skip
        if action not in (rules.ACCEPT, rules.REJECT, rules.ASK):
            raise InvalidFunnel("The answer is accept, reject or question.", field="action")
        message = data.message if data else None
        return _quote_page(*await cases.answer(_env(request, uow, objects), token, action, message))
