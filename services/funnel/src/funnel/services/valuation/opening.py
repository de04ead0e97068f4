"""Opening a valuation by hand (staff), editing the prospect's details, reassigning the agent, cancelling."""

from __future__ import annotations

from typing import Any

from contracts.quotes import ValuationAgentChangedV1, ValuationOpenedV1
from funnel.domain import Conflict, InvalidFunnel
from funnel.domain import valuation as rules
from funnel.services.valuation.common import Env, _active_staff, _base, _columns, _load, _upload_url
from kit import context
from kit.auth import Principal


# --- opening and editing -----------------------------------------------------------------------
async def open_valuation(
    env: Env, principal: Principal, *, lead_id: str | None, name: str, phone: str | None, email: str | None,
    locale: str | None, agent_id: str | None,
) -> tuple[str, str]:  # fmt: skip
    name_ = rules.clean_text(name, field_name="name", max_length=200, required=True)
    phone = rules.clean_phone(phone)
    email = rules.clean_email(email)
    if not (phone or email):
        raise InvalidFunnel("A phone or an e-mail is needed to reach the prospect.", field="phone")
    now = env.clock()
    valuation_id = context.new_id()
    async with env.uow() as work:
        repo = work.valuation
        agent = agent_id or principal.user_id
        if agent != principal.user_id:
            await _active_staff(repo, principal.tenant_id, agent, "agent_id")
        p = rules.opened(now)
        await repo.add(
            id=valuation_id, tenant_id=principal.tenant_id, lead_id=lead_id, name=name_, phone=phone, email=email,
            locale=locale, agent_id=agent, created_by=principal.user_id, created_at=now, updated_at=now,
            **_columns(p),
        )  # fmt: skip
        row = await repo.get(principal.tenant_id, valuation_id)
        url = _upload_url(env, row)
        await repo.ensure_digest(principal.tenant_id, agent, now + rules.DIGEST_EVERY)
        await repo.log(principal.tenant_id, valuation_id, now, "opened", principal.user_id, "process opened")
        work.publish(
            ValuationOpenedV1(
                **_base(row), lead_id=lead_id, photos_required=rules.PHOTOS_REQUIRED,
                upload_url=url, opened_by=principal.user_id, opened_at=now,
            ),
            tenant_id=principal.tenant_id,
        )  # fmt: skip
        await work.commit()
    return valuation_id, url


async def edit_details(env: Env, principal: Principal, valuation_id: str, changes: dict[str, Any]) -> None:
    clean: dict[str, Any] = {}
    for key in ("name", "locale"):
        if key in changes:
            clean[key] = rules.clean_text(changes[key], field_name=key, max_length=200, required=key == "name")
    if "phone" in changes:
        clean["phone"] = rules.clean_phone(changes["phone"])
    if "email" in changes:
        clean["email"] = rules.clean_email(changes["email"])
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, _ = await _load(repo, principal.tenant_id, valuation_id)
        if row.state not in rules.OPEN_STATES:
            raise Conflict("The process has ended.", field="valuation_id")
        if not (clean.get("phone", row.phone) or clean.get("email", row.email)):
            raise InvalidFunnel("A phone or an e-mail is needed to reach the prospect.", field="phone")
        if clean:
            await repo.set(row.id, **clean, updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "details", principal.user_id, f"edited {', '.join(clean)}")
        await work.commit()


async def reassign_agent(env: Env, principal: Principal, valuation_id: str, agent_id: str) -> None:
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, _ = await _load(repo, principal.tenant_id, valuation_id)
        if row.state not in rules.OPEN_STATES:
            raise Conflict("The process has ended.", field="valuation_id")
        await _active_staff(repo, principal.tenant_id, agent_id, "agent_id")
        if row.agent_id != agent_id:
            await repo.set(row.id, agent_id=agent_id, updated_at=now)
            await repo.ensure_digest(row.tenant_id, agent_id, now + rules.DIGEST_EVERY)
            await repo.log(row.tenant_id, row.id, now, "agent", principal.user_id, f"agent {agent_id}")
            moved = await repo.get(row.tenant_id, row.id)
            work.publish(
                ValuationAgentChangedV1(
                    **_base(moved), previous_agent_id=row.agent_id, changed_by=principal.user_id, changed_at=now
                ),
                tenant_id=row.tenant_id,
            )
        await work.commit()


async def cancel(env: Env, principal: Principal, valuation_id: str, reason: str | None) -> None:
    now = env.clock()
    note = rules.clean_text(reason, field_name="reason", max_length=500)
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, said = rules.step(p, rules.Cancelled(now))
        if said:
            await repo.set(row.id, **_columns(p), updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "cancelled", principal.user_id, note or "cancelled")
        await work.commit()
