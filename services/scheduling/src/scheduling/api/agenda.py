"""The clinic's day: agenda and visits list (one implementation), check-in, visits, returns."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from kit.web import AuthRequest, requires
from scheduling.api.views import OnDate, agenda_item, opt_str
from scheduling.domain.errors import Invalid
from scheduling.schemas import Agenda, AppointmentOut, CompleteIn, ItemList, ReturnIn
from scheduling.services import reception
from scheduling.services.env import Env
from scheduling.services.reception import BOOK, CHECK_IN, READ, VISIT


async def agenda_of(
    env: Env,
    request: AuthRequest,
    day: date | None,
    *,
    days: int,
    branch_id: UUID | None,
    professional_id: UUID | None,
    statuses: list[str] | None,
    confirmed: bool | None = None,
    default_day_offset: int = 0,
) -> Agenda:
    """The agenda and the visits list are one query with different defaults."""
    start, zone, rows = await reception.agenda(
        env,
        request.user,
        day=day,
        days=days,
        branch_id=opt_str(branch_id),
        professional_id=opt_str(professional_id),
        statuses=statuses,
        confirmed=confirmed,
        default_day_offset=default_day_offset,
    )
    return Agenda(
        start=start, end=start + timedelta(days=days - 1), timezone=zone, items=[agenda_item(r) for r in rows]
    )


class AgendaController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: agenda and reception"]

    @get("/agenda", guards=[requires(READ)], summary="Day or week of a branch and/or professional")
    async def agenda(
        self,
        request: AuthRequest,
        env: Env,
        day: OnDate = None,
        view: str = "day",
        branch_id: UUID | None = None,
        professional_id: UUID | None = None,
        status: list[str] | None = None,
    ) -> Agenda:
        if view not in ("day", "week"):
            raise Invalid("view is day or week.", field="view")
        return await agenda_of(
            env,
            request,
            day,
            days=7 if view == "week" else 1,
            branch_id=branch_id,
            professional_id=professional_id,
            statuses=status,
        )

    @get("/visits", guards=[requires(READ)], summary="The visits list: a day's appointments (default tomorrow)")
    async def visits(
        self,
        request: AuthRequest,
        env: Env,
        day: OnDate = None,
        branch_id: UUID | None = None,
        professional_id: UUID | None = None,
        confirmed: bool | None = None,
    ) -> Agenda:
        return await agenda_of(
            env,
            request,
            day,
            days=1,
            branch_id=branch_id,
            professional_id=professional_id,
            statuses=["booked", "confirmed"],
            confirmed=confirmed,
            default_day_offset=1,
        )

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
        rows = await reception.returns_to_book(env, request.user, opt_str(branch_id))
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
            professional_id=opt_str(data.professional_id),
            procedure_id=opt_str(data.procedure_id),
        )
        return AppointmentOut.of(a)
