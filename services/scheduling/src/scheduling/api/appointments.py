"""Availability, holds, booking and the life of an appointment; the waitlist and booking links."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from kit.web import AuthRequest, requires
from scheduling.api.views import From, To, free_times_out, opt_str
from scheduling.schemas import (
    AppointmentDetail,
    AppointmentOut,
    BookIn,
    BookingLinkIn,
    BookingLinkOut,
    CancelIn,
    FreeTimesOut,
    HoldIn,
    ItemList,
    ReminderOut,
    RescheduleIn,
    WaitlistIn,
)
from scheduling.services import booking, public, waitlist
from scheduling.services.env import Env
from scheduling.services.reception import BOOK, CHECK_IN, READ


class AppointmentController(Controller):
    path = "/api/v1/scheduling"
    tags = ["scheduling: appointments"]

    @get(
        "/availability",
        guards=[requires(READ)],
        summary="Free start times per professional and local date (default the coming week, 31 days at most)",
    )
    async def availability(
        self,
        request: AuthRequest,
        env: Env,
        branch_id: UUID,
        procedure_id: UUID,
        start: From = None,
        end: To = None,
        professional_id: UUID | None = None,
    ) -> FreeTimesOut:
        found = await booking.availability(
            env,
            request.user.tenant_id,
            branch_id=str(branch_id),
            procedure_id=str(procedure_id),
            professional_id=opt_str(professional_id),
            start=start,
            end=end,
            country=request.user.country,
        )
        return free_times_out(found)

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
            hold_id=opt_str(data.hold_id),
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
            professional_id=opt_str(data.professional_id),
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
            professional_id=opt_str(data.professional_id),
            person=data.person.person(),
            not_before=data.not_before,
            not_after=data.not_after,
        )
        return waitlist.entry_view(entry)

    @get("/waitlist", guards=[requires(READ)], summary="The waitlist in order, with offers and outcomes")
    async def list_waitlist(self, request: AuthRequest, env: Env, branch_id: UUID | None = None) -> ItemList:
        return ItemList([waitlist.entry_view(e) for e in await waitlist.listing(env, request.user, opt_str(branch_id))])

    @post("/booking-links", guards=[requires(BOOK)], summary="A signed online-booking link (for a person or the site)")
    async def booking_link(self, request: AuthRequest, env: Env, data: BookingLinkIn) -> BookingLinkOut:
        url, token = public.booking_link(env, request.user.tenant_id, data.person.person() if data.person else None)
        return BookingLinkOut(url=url, token=token)
