"""HTTP: thin controllers over the use cases. Staff paths need a token; /public/scheduling/... a patient link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from kit.web import AuthRequest, client_ip, requires
from scheduling.domain.appointments import waiting_minutes
from scheduling.domain.errors import Invalid
from scheduling.schemas import (
    Agenda,
    AgendaItem,
    AnamnesisIn,
    AppointmentDetail,
    AppointmentOut,
    Availability,
    Board,
    BoardItem,
    BookIn,
    BookingLinkIn,
    BookingLinkOut,
    BranchIn,
    BranchOut,
    CancelIn,
    CompleteIn,
    HoldIn,
    HolidayOut,
    ItemList,
    OnlineBookIn,
    OnlineHoldIn,
    PolicyIn,
    PolicyOut,
    ProcedureIn,
    ProcedureOut,
    ProfessionalIn,
    ProfessionalOut,
    QuestionnaireIn,
    ReminderOut,
    RescheduleIn,
    ReturnIn,
    SlotOut,
    WaitlistIn,
)
from scheduling.services import booking, public, reception, setup, waitlist
from scheduling.services.env import Env
from scheduling.services.live import BoardHub
from scheduling.services.reception import ADMIN, BOOK, CHECK_IN, READ, VISIT, Row

Day = Annotated[date | None, Parameter(description="local date, YYYY-MM-DD")]


def _local(at: datetime, zone: str) -> str:
    """The branch's wall-clock "YYYY-MM-DD HH:MM" (isoformat: far cheaper than strftime per slot)."""
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")


def agenda_item(r: Row) -> AgendaItem:
    a = r.appointment
    return AgendaItem(
        id=a.id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        local_start=_local(a.starts_at, r.branch.timezone),
        status=a.status,
        confirmed_at=a.confirmed_at,
        confirmed_via=a.confirmed_via,
        patient_name=a.person.name,
        phone=a.person.phone,
        lead_id=a.person.lead_id,
        patient_id=a.person.patient_id,
        procedure_id=r.procedure.id,
        procedure_name=r.procedure.name,
        specialty=r.procedure.specialty,
        professional_id=r.professional.id,
        professional_name=r.professional.name,
        branch_id=r.branch.id,
        branch_name=r.branch.name,
        source=a.source,
    )


def slots_out(branch_tz: str, found: list[Any]) -> list[SlotOut]:
    return [
        SlotOut(
            professional_id=s.professional_id,
            professional_name=p.name,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            local=_local(s.starts_at, branch_tz),
        )
        for s, p in found
    ]


def _str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


class SetupController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: set-up"]

    @get("/policy", guards=[requires(READ)], summary="Reminder offsets, refund cut-off, hold minutes, country")
    async def get_policy(self, request: AuthRequest, env: Env) -> PolicyOut:
        return PolicyOut.of(await setup.get_policy(env, request.user))

    @put("/policy", guards=[requires(ADMIN)], summary="Change the clinic's scheduling policy")
    async def put_policy(self, request: AuthRequest, env: Env, data: PolicyIn) -> PolicyOut:
        return PolicyOut.of(await setup.set_policy(env, request.user, data))

    @post("/branches", guards=[requires(ADMIN)], summary="Add a branch (region) with its address and time zone")
    async def add_branch(self, request: AuthRequest, env: Env, data: BranchIn) -> BranchOut:
        return BranchOut.of(await setup.add_branch(env, request.user, data))

    @put("/branches/{branch_id:uuid}", guards=[requires(ADMIN)], summary="Replace a branch")
    async def put_branch(self, request: AuthRequest, env: Env, branch_id: UUID, data: BranchIn) -> BranchOut:
        return BranchOut.of(await setup.update_branch(env, request.user, str(branch_id), data))

    @get("/branches", guards=[requires(READ)], summary="The clinic's branches")
    async def branches(self, request: AuthRequest, env: Env) -> ItemList:
        return ItemList([BranchOut.of(b) for b in await setup.list_branches(env, request.user)])

    @post("/professionals", guards=[requires(ADMIN)], summary="Add a professional with week, breaks, days off")
    async def add_professional(self, request: AuthRequest, env: Env, data: ProfessionalIn) -> ProfessionalOut:
        return ProfessionalOut.of(await setup.add_professional(env, request.user, data))

    @put("/professionals/{professional_id:uuid}", guards=[requires(ADMIN)], summary="Replace a professional")
    async def put_professional(
        self, request: AuthRequest, env: Env, professional_id: UUID, data: ProfessionalIn
    ) -> ProfessionalOut:
        return ProfessionalOut.of(await setup.update_professional(env, request.user, str(professional_id), data))

    @get("/professionals", guards=[requires(READ)], summary="Professionals, optionally of one branch")
    async def professionals(self, request: AuthRequest, env: Env, branch_id: UUID | None = None) -> ItemList:
        items = await setup.list_professionals(env, request.user, _str(branch_id))
        return ItemList([ProfessionalOut.of(p) for p in items])

    @post("/procedures", guards=[requires(ADMIN)], summary="Add a procedure (service) with duration and prepayment")
    async def add_procedure(self, request: AuthRequest, env: Env, data: ProcedureIn) -> ProcedureOut:
        return ProcedureOut.of(await setup.add_procedure(env, request.user, data))

    @put("/procedures/{procedure_id:uuid}", guards=[requires(ADMIN)], summary="Replace a procedure")
    async def put_procedure(
        self, request: AuthRequest, env: Env, procedure_id: UUID, data: ProcedureIn
    ) -> ProcedureOut:
        return ProcedureOut.of(await setup.update_procedure(env, request.user, str(procedure_id), data))

    @get("/procedures", guards=[requires(READ)], summary="The clinic's procedures")
    async def procedures(self, request: AuthRequest, env: Env) -> ItemList:
        return ItemList([ProcedureOut.of(p) for p in await setup.list_procedures(env, request.user)])

    @get("/holidays", guards=[requires(READ)], summary="Public holidays of a year (closed unless a branch opts in)")
    async def holidays(self, request: AuthRequest, env: Env, year: int, branch_id: UUID | None = None) -> ItemList:
        items = await setup.holidays(env, request.user, year, _str(branch_id))
        return ItemList([HolidayOut(d, n) for d, n in items])

    @post("/questionnaires", guards=[requires(ADMIN)], summary="Add an anamnesis questionnaire template")
    async def add_questionnaire(self, request: AuthRequest, env: Env, data: QuestionnaireIn) -> dict[str, Any]:
        sections = msgspec.to_builtins(data.sections)
        qid = await setup.add_questionnaire(env, request.user, data.name, sections)
        return {"id": qid, "name": data.name, "sections": sections}

    @get("/questionnaires", guards=[requires(READ)], summary="The clinic's questionnaires")
    async def questionnaires(self, request: AuthRequest, env: Env) -> ItemList:
        rows = await setup.list_questionnaires(env, request.user)
        return ItemList([{"id": r.id, "name": r.name, "sections": r.sections} for r in rows])

    @get("/anamnesis", guards=[requires(READ)], summary="A lead's signed questionnaires (the patient's card)")
    async def anamnesis(self, request: AuthRequest, env: Env, lead_id: UUID) -> ItemList:
        rows = await setup.anamnesis_of_lead(env, request.user, str(lead_id))
        return ItemList([public.submission_view(r) for r in rows])


class AppointmentController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: appointments"]

    @get("/availability", guards=[requires(READ)], summary="Free slots by branch, procedure, professional, dates")
    async def availability(
        self,
        request: AuthRequest,
        env: Env,
        branch_id: UUID,
        procedure_id: UUID,
        start: Annotated[date, Parameter(query="from")],
        end: Annotated[date, Parameter(query="to")],
        professional_id: UUID | None = None,
    ) -> Availability:
        branch, found = await booking.availability(
            env,
            request.user.tenant_id,
            branch_id=str(branch_id),
            procedure_id=str(procedure_id),
            professional_id=_str(professional_id),
            start=start,
            end=end,
            country=request.user.country,
        )
        return Availability(
            branch_id=branch.id,
            procedure_id=str(procedure_id),
            timezone=branch.timezone,
            slots=slots_out(branch.timezone, found),
        )

    @post("/holds", guards=[requires(BOOK)], summary="Hold a slot for a few minutes (while the patient pays)")
    async def hold(self, request: AuthRequest, env: Env, data: HoldIn) -> AppointmentOut:
        held = await booking.hold(
            env,
            request.user.tenant_id,
            branch_id=str(data.branch_id),
            procedure_id=str(data.procedure_id),
            professional_id=str(data.professional_id),
            starts_at=data.starts_at,
            person=data.person.person(),
            held_by=request.user.user_id,
            country=request.user.country,
        )
        return AppointmentOut.of(held)

    @post(
        "/holds/{hold_id:uuid}/release",
        guards=[requires(BOOK)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Give a held slot back",
    )
    async def release(self, request: AuthRequest, env: Env, hold_id: UUID) -> None:
        await booking.release_hold(env, request.user.tenant_id, str(hold_id))

    @post("/appointments", guards=[requires(BOOK)], summary="Book (409 when the slot is taken, 402 when unpaid)")
    async def book(self, request: AuthRequest, env: Env, data: BookIn) -> AppointmentOut:
        a = await booking.book(
            env,
            request.user.tenant_id,
            booked_by=request.user.user_id,
            country=request.user.country,
            branch_id=str(data.branch_id),
            procedure_id=str(data.procedure_id),
            professional_id=str(data.professional_id),
            starts_at=data.starts_at,
            person=data.person.person(),
            payment_id=data.payment_id,
            hold_id=_str(data.hold_id),
        )
        return AppointmentOut.of(a)

    @get("/appointments/{appointment_id:uuid}", guards=[requires(READ)], summary="One appointment and its reminders")
    async def detail(self, request: AuthRequest, env: Env, appointment_id: UUID) -> AppointmentDetail:
        a, rows = await booking.get(env, request.user.tenant_id, str(appointment_id))
        return AppointmentDetail(
            appointment=AppointmentOut.of(a),
            reminders=[
                ReminderOut(
                    id=r.id, offset_minutes=r.offset_minutes, due_at=r.due_at, status=r.status, sent_at=r.sent_at
                )
                for r in rows
            ],
        )

    @post(
        "/appointments/{appointment_id:uuid}/confirm",
        guards=[requires(BOOK)],
        status_code=HTTP_200_OK,
        summary="Confirm on the patient's behalf (e.g. after a call)",
    )
    async def confirm(self, request: AuthRequest, env: Env, appointment_id: UUID) -> AppointmentOut:
        a = await booking.confirm(
            env, request.user.tenant_id, str(appointment_id), via="staff", by=request.user.user_id
        )
        return AppointmentOut.of(a)

    @post(
        "/appointments/{appointment_id:uuid}/reschedule",
        guards=[requires(BOOK)],
        status_code=HTTP_200_OK,
        summary="Move to another time (payment carries over)",
    )
    async def reschedule(
        self, request: AuthRequest, env: Env, appointment_id: UUID, data: RescheduleIn
    ) -> AppointmentOut:
        a = await booking.reschedule(
            env,
            request.user.tenant_id,
            str(appointment_id),
            starts_at=data.starts_at,
            professional_id=_str(data.professional_id),
            by=request.user.user_id,
            country=request.user.country,
        )
        return AppointmentOut.of(a)

    @post(
        "/appointments/{appointment_id:uuid}/cancel",
        guards=[requires(BOOK)],
        status_code=HTTP_200_OK,
        summary="Cancel (a refund is due within the clinic's cut-off)",
    )
    async def cancel(self, request: AuthRequest, env: Env, appointment_id: UUID, data: CancelIn) -> AppointmentOut:
        a, _ = await booking.cancel(
            env,
            request.user.tenant_id,
            str(appointment_id),
            reason=data.reason,
            by=request.user.user_id,
            country=request.user.country,
        )
        return AppointmentOut.of(a)

    @post(
        "/appointments/{appointment_id:uuid}/no-show",
        guards=[requires(CHECK_IN)],
        status_code=HTTP_200_OK,
        summary="The patient did not come",
    )
    async def no_show(self, request: AuthRequest, env: Env, appointment_id: UUID) -> AppointmentOut:
        return AppointmentOut.of(
            await booking.no_show(env, request.user.tenant_id, str(appointment_id), by=request.user.user_id)
        )

    @get(
        "/appointments/{appointment_id:uuid}/no-show-risk",
        guards=[requires(READ)],
        summary="A simple, explained no-show risk (history, lead time, confirmation)",
    )
    async def no_show_risk(self, request: AuthRequest, env: Env, appointment_id: UUID) -> dict[str, Any]:
        a, found = await waitlist.risk(env, request.user.tenant_id, str(appointment_id))
        return {"appointment_id": a.id, "score": found.score, "level": found.level, "reasons": found.reasons}

    @post("/waitlist", guards=[requires(BOOK)], summary="Wait for an earlier slot of a procedure at a branch")
    async def join_waitlist(self, request: AuthRequest, env: Env, data: WaitlistIn) -> dict[str, Any]:
        entry = await waitlist.join(
            env,
            request.user,
            branch_id=str(data.branch_id),
            procedure_id=str(data.procedure_id),
            professional_id=_str(data.professional_id),
            person=data.person.person(),
            not_before=data.not_before,
            not_after=data.not_after,
        )
        return waitlist.entry_view(entry)

    @get("/waitlist", guards=[requires(READ)], summary="The waitlist in order, with offers and outcomes")
    async def list_waitlist(self, request: AuthRequest, env: Env, branch_id: UUID | None = None) -> ItemList:
        return ItemList([waitlist.entry_view(e) for e in await waitlist.listing(env, request.user, _str(branch_id))])

    @post("/booking-links", guards=[requires(BOOK)], summary="A signed online-booking link (for a person or the site)")
    async def booking_link(self, request: AuthRequest, env: Env, data: BookingLinkIn) -> BookingLinkOut:
        url, token = public.booking_link(env, request.user.tenant_id, data.person.person() if data.person else None)
        return BookingLinkOut(url=url, token=token)


class AgendaController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: agenda and reception"]

    @get("/agenda", guards=[requires(READ)], summary="Day or week of a branch and/or professional")
    async def agenda(
        self,
        request: AuthRequest,
        env: Env,
        day: Annotated[date | None, Parameter(query="date")] = None,
        view: str = "day",
        branch_id: UUID | None = None,
        professional_id: UUID | None = None,
        status: list[str] | None = None,
    ) -> Agenda:
        if view not in ("day", "week"):
            raise Invalid("view is day or week.", field="view")
        days = 7 if view == "week" else 1
        start, zone, rows = await reception.agenda(
            env,
            request.user,
            day=day,
            days=days,
            branch_id=_str(branch_id),
            professional_id=_str(professional_id),
            statuses=status,
        )
        return Agenda(
            start=start, end=start + timedelta(days=days - 1), timezone=zone, items=[agenda_item(r) for r in rows]
        )

    @get("/visits", guards=[requires(READ)], summary="The visits list: a day's appointments (default tomorrow)")
    async def visits(
        self,
        request: AuthRequest,
        env: Env,
        day: Annotated[date | None, Parameter(query="date")] = None,
        branch_id: UUID | None = None,
        professional_id: UUID | None = None,
        confirmed: bool | None = None,
    ) -> Agenda:
        when = day or (env.clock.now().astimezone(ZoneInfo(request.user.timezone)).date() + timedelta(days=1))
        start, zone, rows = await reception.agenda(
            env,
            request.user,
            day=when,
            days=1,
            branch_id=_str(branch_id),
            professional_id=_str(professional_id),
            statuses=["booked", "confirmed"],
            confirmed=confirmed,
        )
        return Agenda(start=start, end=start, timezone=zone, items=[agenda_item(r) for r in rows])

    @post(
        "/appointments/{appointment_id:uuid}/check-in",
        guards=[requires(CHECK_IN)],
        status_code=HTTP_200_OK,
        summary="The patient arrived (patient.arrived, with the anamnesis link)",
    )
    async def check_in(self, request: AuthRequest, env: Env, appointment_id: UUID) -> AppointmentOut:
        return AppointmentOut.of(await reception.check_in(env, request.user, str(appointment_id)))

    @post(
        "/appointments/{appointment_id:uuid}/start",
        guards=[requires(VISIT)],
        status_code=HTTP_200_OK,
        summary="The professional calls the patient in",
    )
    async def start(self, request: AuthRequest, env: Env, appointment_id: UUID) -> AppointmentOut:
        return AppointmentOut.of(await reception.start_visit(env, request.user, str(appointment_id)))

    @post(
        "/appointments/{appointment_id:uuid}/complete",
        guards=[requires(VISIT)],
        status_code=HTTP_200_OK,
        summary="The visit ended (return needed? in how many days? procedures done)",
    )
    async def complete(self, request: AuthRequest, env: Env, appointment_id: UUID, data: CompleteIn) -> AppointmentOut:
        a = await reception.complete_visit(
            env,
            request.user,
            str(appointment_id),
            return_needed=data.return_needed,
            return_in_days=data.return_in_days,
            procedures_done=[str(p) for p in data.procedures_done] if data.procedures_done is not None else None,
        )
        return AppointmentOut.of(a)

    @get("/returns", guards=[requires(READ)], summary="Finished visits whose return is still to book")
    async def returns(self, request: AuthRequest, env: Env, branch_id: UUID | None = None) -> ItemList:
        rows = await reception.returns_to_book(env, request.user, _str(branch_id))
        return ItemList(
            [{**msgspec.to_builtins(agenda_item(r)), "return_in_days": r.appointment.return_in_days} for r in rows]
        )

    @post(
        "/appointments/{appointment_id:uuid}/return",
        guards=[requires(BOOK)],
        status_code=HTTP_201_CREATED,
        summary="Book the return of a finished visit (return.booked)",
    )
    async def book_return(self, request: AuthRequest, env: Env, appointment_id: UUID, data: ReturnIn) -> AppointmentOut:
        a = await reception.book_return(
            env,
            request.user,
            str(appointment_id),
            starts_at=data.starts_at,
            professional_id=_str(data.professional_id),
            procedure_id=_str(data.procedure_id),
        )
        return AppointmentOut.of(a)

    @get("/waiting-room", guards=[requires(READ)], summary="Today's board of a branch: waiting, in service, done")
    async def waiting_room(self, request: AuthRequest, env: Env, branch_id: UUID) -> Board:
        return await board_of(env, request.user.tenant_id, str(branch_id))

    @get(
        "/waiting-room/stream",
        guards=[requires(READ)],
        summary="The board as server-sent events: `board` at once and after every change",
    )
    async def stream(self, request: AuthRequest, env: Env, state: State, branch_id: UUID) -> ServerSentEvent:
        tenant_id = request.user.tenant_id
        first = await board_of(env, tenant_id, str(branch_id))  # 404 for a branch of another clinic
        return ServerSentEvent(board_events(env, state.board_hub, tenant_id, str(branch_id), first))


async def board_of(env: Env, tenant_id: str, branch_id: str) -> Board:
    today, rows = await reception.board(env, tenant_id, branch_id)
    now = env.clock.now()
    columns: dict[str, list[BoardItem]] = {"arrived": [], "in_service": [], "done": []}
    for r in rows:
        a = r.appointment
        assert a.arrived_at is not None
        column = {"arrived": "arrived", "in_service": "in_service", "done": "done"}.get(a.status)
        if column is None:
            continue
        columns[column].append(
            BoardItem(
                appointment_id=a.id,
                patient_name=a.person.name,
                professional_name=r.professional.name,
                procedure_name=r.procedure.name,
                starts_at=a.starts_at,
                arrived_at=a.arrived_at,
                started_at=a.started_at,
                completed_at=a.completed_at,
                waiting_minutes=waiting_minutes(a.arrived_at, a.started_at, now),
            )
        )
    return Board(
        branch_id=branch_id,
        date=today,
        waiting=columns["arrived"],
        in_service=columns["in_service"],
        done=columns["done"],
    )


async def board_events(
    env: Env, hub: BoardHub, tenant_id: str, branch_id: str, first: Board
) -> AsyncIterator[ServerSentEventMessage]:
    key = f"{tenant_id}:{branch_id}"
    changed = await hub.subscribe(key)
    try:
        yield ServerSentEventMessage(data=msgspec.json.encode(first).decode(), event="board")
        while True:
            try:
                woke = await asyncio.wait_for(changed.get(), timeout=15.0)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if woke == BoardHub.CLOSED:
                return
            while not changed.empty():
                if changed.get_nowait() == BoardHub.CLOSED:
                    return
            board = await board_of(env, tenant_id, branch_id)
            yield ServerSentEventMessage(data=msgspec.json.encode(board).decode(), event="board")
    finally:
        hub.unsubscribe(key, changed)


# --- patient pages (public ingress; the signed link is the credential) ---------------------------
Token = Annotated[str, Parameter(query="token", max_length=4096)]


class PublicController(Controller):
    path = "/public/scheduling"
    tags = ["scheduling: patient pages"]
    security = [{}]

    @get("/booking", summary="The booking page: branches, procedures, professionals")
    async def booking_page(self, env: Env, token: Token) -> dict[str, Any]:
        return await public.booking_page(env, token)

    @get("/booking/slots", summary="Free times for a branch and procedure, optionally one professional")
    async def booking_slots(
        self,
        env: Env,
        token: Token,
        branch_id: UUID,
        procedure_id: UUID,
        start: Annotated[date, Parameter(query="from")],
        end: Annotated[date, Parameter(query="to")],
        professional_id: UUID | None = None,
    ) -> Availability:
        branch, found = await public.booking_slots(
            env, token, str(branch_id), str(procedure_id), _str(professional_id), start, end
        )
        return Availability(
            branch_id=branch.id,
            procedure_id=str(procedure_id),
            timezone=branch.timezone,
            slots=slots_out(branch.timezone, found),
        )

    @post("/booking/hold", summary="Hold the picked time while the patient fills in their details")
    async def hold_online(self, env: Env, token: Token, data: OnlineHoldIn) -> dict[str, Any]:
        return await public.hold_online(env, token, data)

    @post("/booking", summary="Book online (an unknown person becomes a lead: source online_booking)")
    async def book_online(self, env: Env, token: Token, data: OnlineBookIn) -> dict[str, Any]:
        return await public.book_online(env, token, data)

    @get("/confirm", summary="What the confirm link is about")
    async def confirm_page(self, env: Env, token: Token) -> dict[str, Any]:
        return await public.appointment_page(env, token, "confirm")

    @post("/confirm", status_code=HTTP_200_OK, summary="The patient confirms")
    async def confirm(self, env: Env, token: Token) -> dict[str, Any]:
        return await public.confirm(env, token)

    @get("/reschedule", summary="The appointment and free times to move it to")
    async def reschedule_page(
        self,
        env: Env,
        token: Token,
        start: Annotated[date | None, Parameter(query="from")] = None,
        end: Annotated[date | None, Parameter(query="to")] = None,
    ) -> dict[str, Any]:
        return await public.reschedule_page(env, token, start, end)

    @post("/reschedule", status_code=HTTP_200_OK, summary="The patient moves the appointment")
    async def reschedule(self, env: Env, token: Token, data: RescheduleIn) -> dict[str, Any]:
        return await public.reschedule(env, token, data)

    @get("/calendar.ics", summary="The appointment as an iCalendar file")
    async def ics(self, env: Env, token: Token) -> Response[bytes]:
        body, name = await public.ics(env, token)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    @post("/waitlist/accept", summary="Take the slot offered from the waitlist (first to accept gets it)")
    async def accept_offer(self, env: Env, token: Token) -> dict[str, Any]:
        return await public.accept_offer(env, token)

    @get("/anamnesis", summary="The questionnaire to fill in")
    async def anamnesis_page(self, env: Env, token: Token) -> dict[str, Any]:
        return await public.anamnesis_page(env, token)

    @post("/anamnesis", summary="Submit and sign the questionnaire (immutable once signed)")
    async def anamnesis_submit(
        self, request: Request[Any, Any, Any], env: Env, state: State, token: Token, data: AnamnesisIn
    ) -> dict[str, Any]:
        ip = client_ip(request, state.proxy_hops)
        agent = request.headers.get("user-agent", "")[:500]
        return await public.submit_anamnesis(env, token, data, ip=ip, user_agent=agent)


ROUTES = [SetupController, AppointmentController, AgendaController, PublicController]
