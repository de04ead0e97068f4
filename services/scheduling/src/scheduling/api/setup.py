"""Set-up: the clinic's policy, branches, professionals, procedures, holidays, questionnaires."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post, put

from kit.web import AuthRequest, requires
from scheduling.api.views import opt_str
from scheduling.schemas import (
    BranchIn,
    BranchOut,
    HolidayOut,
    ItemList,
    PolicyIn,
    PolicyOut,
    ProcedureIn,
    ProcedureOut,
    ProfessionalIn,
    ProfessionalOut,
    QuestionnaireIn,
)
from scheduling.services import public, setup
from scheduling.services.env import Env
from scheduling.services.reception import ADMIN, READ


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
        items = await setup.list_professionals(env, request.user, opt_str(branch_id))
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
        items = await setup.holidays(env, request.user, year, opt_str(branch_id))
        return ItemList([HolidayOut(d, n) for d, n in items])

    @post("/questionnaires", guards=[requires(ADMIN)], summary="Add an anamnesis questionnaire template")
    async def add_questionnaire(self, request: AuthRequest, env: Env, data: QuestionnaireIn) -> dict[str, Any]:
        sections = msgspec.to_builtins(data.sections)
        qid = await setup.add_questionnaire(env, request.user, data.name, sections)
        return {"id": qid, "name": data.name, "sections": sections}

    @put("/questionnaires/{questionnaire_id:uuid}", guards=[requires(ADMIN)],
         summary="Replace a questionnaire's name and questions (forms signed before keep theirs)")  # fmt: skip
    async def put_questionnaire(
        self, request: AuthRequest, env: Env, questionnaire_id: UUID, data: QuestionnaireIn
    ) -> dict[str, Any]:
        sections = msgspec.to_builtins(data.sections)
        await setup.update_questionnaire(env, request.user, str(questionnaire_id), data.name, sections)
        return {"id": str(questionnaire_id), "name": data.name, "sections": sections}

    @delete("/questionnaires/{questionnaire_id:uuid}", guards=[requires(ADMIN)],
            summary="Remove (archive) a questionnaire: links sent still open it, signed forms are kept")  # fmt: skip
    async def remove_questionnaire(self, request: AuthRequest, env: Env, questionnaire_id: UUID) -> None:
        await setup.remove_questionnaire(env, request.user, str(questionnaire_id))

    @get("/questionnaires", guards=[requires(READ)], summary="The clinic's questionnaires")
    async def questionnaires(self, request: AuthRequest, env: Env) -> ItemList:
        rows = await setup.list_questionnaires(env, request.user)
        return ItemList([{"id": r.id, "name": r.name, "sections": r.sections} for r in rows])

    @get("/anamnesis", guards=[requires(READ)], summary="A lead's signed questionnaires (the patient's card)")
    async def anamnesis(self, request: AuthRequest, env: Env, lead_id: UUID) -> ItemList:
        rows = await setup.anamnesis_of_lead(env, request.user, str(lead_id))
        return ItemList([public.submission_view(r) for r in rows])
