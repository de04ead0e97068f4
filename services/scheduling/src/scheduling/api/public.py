"""Patient pages behind the gateway's public ingress: the signed link (`?token=`) is the credential."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from kit.web import client_ip
from scheduling.api.views import From, To, opt_str, slots_out
from scheduling.schemas import AnamnesisDraftIn, AnamnesisIn, Availability, OnlineBookIn, OnlineHoldIn, RescheduleIn
from scheduling.services import public
from scheduling.services.env import Env

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
        start: From = None,
        end: To = None,
        professional_id: UUID | None = None,
    ) -> Availability:
        found = await public.booking_slots(
            env, token, str(branch_id), str(procedure_id), opt_str(professional_id), start, end
        )
        return slots_out(found)

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
        start: From = None,
        end: To = None,
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

    @put("/anamnesis/draft", request_max_body_size=128 * 1024,
         summary="Keep the answers given so far (another phone opens the link where the patient stopped)")  # fmt: skip
    async def anamnesis_draft(self, env: Env, token: Token, data: AnamnesisDraftIn) -> dict[str, Any]:
        return await public.save_anamnesis_draft(env, token, data.answers)

    @post("/anamnesis", summary="Submit and sign the questionnaire (immutable once signed)")
    async def anamnesis_submit(
        self, request: Request[Any, Any, Any], env: Env, state: State, token: Token, data: AnamnesisIn
    ) -> dict[str, Any]:
        ip = client_ip(request, state.proxy_hops)
        agent = request.headers.get("user-agent", "")[:500]
        return await public.submit_anamnesis(env, token, data, ip=ip, user_agent=agent)
