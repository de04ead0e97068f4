"""Clinic set-up by its admin: policy, branches, professionals, procedures, holidays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from kit.auth import Principal
from kit.context import new_id
from scheduling.domain.anamnesis import check_removable, check_template
from scheduling.domain.errors import Invalid, NotFound
from scheduling.domain.setup import (
    Branch,
    ClinicPolicy,
    Procedure,
    Professional,
    breaks_from,
    check_country,
    check_timezone,
    hours_from,
    public_holidays,
)
from scheduling.repository.setup import SetupRepository
from scheduling.services.env import Env, policy_of, setup_changed
from scheduling.services.inputs import BranchData, PolicyData, ProcedureData, ProfessionalData
from scheduling.services.staff import check_member
from scheduling.services.work import SchedulingWork


async def get_policy(env: Env, principal: Principal) -> ClinicPolicy:
    async with env.uow() as uow:
        return await policy_of(uow, principal.tenant_id, principal.country)


async def set_policy(env: Env, principal: Principal, data: PolicyData) -> ClinicPolicy:
    async with env.uow() as uow:
        repo = uow.setup
        current = await policy_of(uow, principal.tenant_id, principal.country)
        changes: dict[str, object] = {}
        if data.country is not None:
            changes["country"] = check_country(data.country)
        if data.reminder_offsets is not None:
            changes["reminder_offsets"] = tuple(data.reminder_offsets)
        for name in ("refund_cutoff_hours", "hold_minutes", "slot_step_minutes", "min_lead_minutes"):
            value = getattr(data, name)
            if value is not None:
                changes[name] = value
        if data.anamnesis_questionnaire_id is not None:
            qid = str(data.anamnesis_questionnaire_id)
            if await repo.questionnaire(principal.tenant_id, qid, live=True) is None:
                raise NotFound("No such questionnaire in this clinic.", field="anamnesis_questionnaire_id")
            changes["anamnesis_questionnaire_id"] = qid
        policy = replace(current, **changes)  # type: ignore[arg-type]
        await repo.save_policy(principal.tenant_id, policy, env.clock.now())
        await uow.commit()
        setup_changed(env, principal.tenant_id)
        return policy


def _branch(principal: Principal, branch_id: str, data: BranchData) -> Branch:
    check_timezone(data.timezone)
    return Branch(
        id=branch_id,
        tenant_id=principal.tenant_id,
        name=data.name.strip(),
        address=data.address,
        timezone=data.timezone,
        open_on_holidays=data.open_on_holidays,
        subdivision=data.subdivision,
        active=data.active,
    )


async def add_branch(env: Env, principal: Principal, data: BranchData) -> Branch:
    branch = _branch(principal, new_id(), data)
    async with env.uow() as uow:
        await uow.setup.add_branch(branch, env.clock.now())
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return branch


async def update_branch(env: Env, principal: Principal, branch_id: str, data: BranchData) -> Branch:
    branch = _branch(principal, branch_id, data)
    async with env.uow() as uow:
        repo = uow.setup
        if await repo.branch(principal.tenant_id, branch_id) is None:
            raise NotFound("No such branch in this clinic.", field="branch_id")
        await repo.save_branch(branch)
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return branch


async def list_branches(env: Env, principal: Principal) -> list[Branch]:
    async with env.uow() as uow:
        return await uow.setup.branches(principal.tenant_id)


async def _professional(
    uow: SchedulingWork, principal: Principal, professional_id: str, data: ProfessionalData
) -> Professional:
    repo = uow.setup
    branch_ids = tuple(dict.fromkeys(str(b) for b in data.branch_ids))
    known = {b.id for b in await repo.branches(principal.tenant_id)}
    for b in branch_ids:
        if b not in known:
            raise NotFound(f"No branch {b} in this clinic.", field="branch_ids")
    for h in data.hours:
        if str(h.branch_id) not in branch_ids:
            raise Invalid("Working hours name a branch the professional is not at.", field="hours")
    user_id = str(data.user_id) if data.user_id else None
    await check_member(uow.staff, principal, user_id, field="user_id")
    return Professional(
        id=professional_id,
        tenant_id=principal.tenant_id,
        name=data.name.strip(),
        kind=data.kind,
        specialties=tuple(data.specialties),
        branch_ids=branch_ids,
        hours=hours_from([(h.weekday, h.start, h.end, str(h.branch_id)) for h in data.hours]),
        breaks=breaks_from([(b.weekday, b.start, b.end) for b in data.breaks]),
        days_off=tuple(sorted(set(data.days_off))),
        user_id=user_id,
        active=data.active,
    )


async def add_professional(env: Env, principal: Principal, data: ProfessionalData) -> Professional:
    async with env.uow() as uow:
        repo = uow.setup
        professional = await _professional(uow, principal, new_id(), data)
        await repo.add_professional(professional, env.clock.now())
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return professional


async def update_professional(
    env: Env, principal: Principal, professional_id: str, data: ProfessionalData
) -> Professional:
    async with env.uow() as uow:
        repo = uow.setup
        if await repo.professional(principal.tenant_id, professional_id) is None:
            raise NotFound("No such professional in this clinic.", field="professional_id")
        professional = await _professional(uow, principal, professional_id, data)
        await repo.save_professional(professional)
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return professional


async def list_professionals(env: Env, principal: Principal, branch_id: str | None) -> list[Professional]:
    async with env.uow() as uow:
        return await uow.setup.professionals(principal.tenant_id, branch_id)


async def _procedure(repo: SetupRepository, principal: Principal, procedure_id: str, data: ProcedureData) -> Procedure:
    branch_ids = tuple(dict.fromkeys(str(b) for b in data.branch_ids))
    known = {b.id for b in await repo.branches(principal.tenant_id)}
    for b in branch_ids:
        if b not in known:
            raise NotFound(f"No branch {b} in this clinic.", field="branch_ids")
    return Procedure(
        id=procedure_id,
        tenant_id=principal.tenant_id,
        name=data.name.strip(),
        duration_minutes=data.duration_minutes,
        specialty=data.specialty,
        price_reference=data.price_reference,
        currency=data.currency,
        prepayment_required=data.prepayment_required,
        branch_ids=branch_ids,
        active=data.active,
    )


async def add_procedure(env: Env, principal: Principal, data: ProcedureData) -> Procedure:
    async with env.uow() as uow:
        repo = uow.setup
        procedure = await _procedure(repo, principal, new_id(), data)
        await repo.add_procedure(procedure, env.clock.now())
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return procedure


async def update_procedure(env: Env, principal: Principal, procedure_id: str, data: ProcedureData) -> Procedure:
    async with env.uow() as uow:
        repo = uow.setup
        if await repo.procedure(principal.tenant_id, procedure_id) is None:
            raise NotFound("No such procedure in this clinic.", field="procedure_id")
        procedure = await _procedure(repo, principal, procedure_id, data)
        await repo.save_procedure(procedure)
        await uow.commit()
        setup_changed(env, principal.tenant_id)
    return procedure


async def list_procedures(env: Env, principal: Principal) -> list[Procedure]:
    async with env.uow() as uow:
        return await uow.setup.procedures(principal.tenant_id)


async def holidays(env: Env, principal: Principal, year: int, branch_id: str | None) -> list[tuple[date, str]]:
    if not 2000 <= year <= 2100:
        raise Invalid("year must be between 2000 and 2100.", field="year")
    async with env.uow() as uow:
        policy = await policy_of(uow, principal.tenant_id, principal.country)
        subdivision = None
        if branch_id:
            branch = await uow.setup.branch(principal.tenant_id, branch_id)
            if branch is None:
                raise NotFound("No such branch in this clinic.", field="branch_id")
            subdivision = branch.subdivision
    return sorted(public_holidays(policy.country, year, subdivision).items())


async def add_questionnaire(env: Env, principal: Principal, name: str, sections: list[dict[str, Any]]) -> str:
    check_template(sections)
    qid = new_id()
    async with env.uow() as uow:
        await uow.setup.add_questionnaire(
            id=qid,
            tenant_id=principal.tenant_id,
            name=name,
            sections=sections,
            user_id=principal.user_id,
            now=env.clock.now(),
        )
        await uow.commit()
    return qid


async def update_questionnaire(
    env: Env, principal: Principal, questionnaire_id: str, name: str, sections: list[dict[str, Any]]
) -> None:
    """Replace a questionnaire's name and questions: links already sent open the new version; forms signed before
    keep the questions they were signed with (their signed document)."""
    check_template(sections)
    async with env.uow() as uow:
        repo = uow.setup
        if await repo.questionnaire(principal.tenant_id, questionnaire_id, live=True) is None:
            raise NotFound("No such questionnaire in this clinic.", field="questionnaire_id")
        await repo.update_questionnaire(
            principal.tenant_id, questionnaire_id, name=name, sections=sections, now=env.clock.now()
        )
        await uow.commit()


async def remove_questionnaire(env: Env, principal: Principal, questionnaire_id: str) -> None:
    """Archive it (scheduling.domain.anamnesis.check_removable): never deleted, so links sent for upcoming
    appointments still open it and signed forms keep their questions."""
    async with env.uow() as uow:
        repo = uow.setup
        if await repo.questionnaire(principal.tenant_id, questionnaire_id, live=True) is None:
            raise NotFound("No such questionnaire in this clinic.", field="questionnaire_id")
        policy = await policy_of(uow, principal.tenant_id, principal.country)
        check_removable(questionnaire_id, policy.anamnesis_questionnaire_id)
        now = env.clock.now()
        await repo.update_questionnaire(principal.tenant_id, questionnaire_id, archived_at=now, now=now)
        await uow.commit()


async def list_questionnaires(env: Env, principal: Principal) -> list[Any]:
    async with env.uow() as uow:
        return await uow.setup.questionnaires(principal.tenant_id)


async def anamnesis_of_lead(env: Env, principal: Principal, lead_id: str) -> list[Any]:
    async with env.uow() as uow:
        return await uow.anamnesis.for_lead(principal.tenant_id, lead_id)
