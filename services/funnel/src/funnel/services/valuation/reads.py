"""Reading processes (funnel staff: every process; a diagnostic doctor: their own)."""

from __future__ import annotations

from typing import Any

from funnel.domain import NotFound
from funnel.repository.valuation import Row
from funnel.services.valuation.common import Env, _may_read, _reader
from kit.auth import Principal


# --- reading -------------------------------------------------------------------------------------
async def valuation(env: Env, principal: Principal, valuation_id: str) -> dict[str, Any]:
    async with env.uow() as work:
        repo = work.valuation
        row = await repo.get(principal.tenant_id, valuation_id)
        if row is None:
            raise NotFound("No such valuation.", field="valuation_id")
        await _reader(repo, principal, row)
        photos = await repo.photos(row.id)
        history = await repo.history(row.id)
        found = await repo.quotes_of(row.id)
    urls = {p.slot: await env.store.presigned_get(p.object_key, expires_seconds=900) for p in photos}
    return {"row": row, "photos": photos, "urls": urls, "history": history, "quotes": found}


async def valuations(
    env: Env, principal: Principal, *, states: list[str] | None, agent_id: str | None, doctor_id: str | None,
    limit: int, offset: int,
) -> tuple[list[Row], int]:  # fmt: skip
    if not _may_read(principal):
        doctor_id = principal.user_id  # a doctor without funnel:read sees their own valuations
    async with env.uow() as work:
        return await work.valuation.listed(
            principal.tenant_id, states=states, agent_id=agent_id, doctor_id=doctor_id, limit=limit, offset=offset
        )
