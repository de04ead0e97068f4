"""Use cases of what staff enter: a request's source by hand, campaign spend, curators' commission rates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from analytics.domain import InvalidAnalytics, NotFound
from analytics.domain import reports as rules
from analytics.repository.facts import FactRepository, Touched
from analytics.repository.inputs import InputRepository
from contracts.claims import ANALYTICS_ALL
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork, UnitOfWorkFactory


async def lead_source(uow: UnitOfWorkFactory, principal: Principal, lead_id: str) -> dict[str, Any]:
    async with uow() as work:
        found = await InputRepository(work.session).lead(principal.tenant_id, lead_id)
    if found is None or (not principal.has(ANALYTICS_ALL) and found["owner_id"] != principal.user_id):
        raise NotFound("No such lead in analytics (a lead made a moment ago shows within seconds).")
    return found


async def _refreshing(work: UnitOfWork, tenant_id: str, lead_id: str) -> None:
    """A correction moves the lead's facts and rollups (reports read the corrected source): under the clinic's
    fact lock, like the consumers' batches."""
    await FactRepository(work.session).lock([tenant_id])


async def correct_source(
    uow: UnitOfWorkFactory, principal: Principal, lead_id: str, source: str, note: str | None
) -> dict[str, Any]:
    """Reports count the lead under `source` from now on; the source it came with is kept."""
    cleaned = rules.clean_source(source)
    await lead_source(uow, principal, lead_id)
    async with uow() as work:
        repo = InputRepository(work.session)
        await _refreshing(work, principal.tenant_id, lead_id)
        await repo.correct_source(principal.tenant_id, lead_id, cleaned, note, principal.user_id, datetime.now(UTC))
        await FactRepository(work.session).refresh(principal.tenant_id, Touched(leads={lead_id}))
        await work.commit()
    return await lead_source(uow, principal, lead_id)


async def clear_correction(uow: UnitOfWorkFactory, principal: Principal, lead_id: str) -> dict[str, Any]:
    await lead_source(uow, principal, lead_id)
    async with uow() as work:
        await _refreshing(work, principal.tenant_id, lead_id)
        await InputRepository(work.session).clear_correction(principal.tenant_id, lead_id)
        await FactRepository(work.session).refresh(principal.tenant_id, Touched(leads={lead_id}))
        await work.commit()
    return await lead_source(uow, principal, lead_id)


async def add_spend(
    uow: UnitOfWorkFactory, principal: Principal, *, source: str, channel: str | None, campaign: str | None,
    first: date, last: date, amount: Decimal, currency: str,
) -> dict[str, Any]:  # fmt: skip
    cleaned = rules.clean_spend(amount, first, last, channel)
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidAnalytics("A currency is a three-letter ISO 4217 code.", field="currency")
    start, _ = rules.day_bounds(first, principal.timezone)
    _, end = rules.day_bounds(last, principal.timezone)
    row = {
        "id": context.new_id(),
        "tenant_id": principal.tenant_id,
        "source": rules.clean_source(source),
        "channel": channel,
        "campaign": (campaign or "").strip() or None,
        "period_start": start,
        "period_end": end,
        "amount": cleaned,
        "currency": currency.upper(),
        "created_by": principal.user_id,
        "created_at": datetime.now(UTC),
    }
    async with uow() as work:
        await InputRepository(work.session).add_spend(row)
        await work.commit()
    return row


async def list_spend(
    uow: UnitOfWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow() as work:
        repo = InputRepository(work.session)
        rows = await repo.spend(principal.tenant_id, limit=limit, offset=offset)
        return rows, await repo.spend_count(principal.tenant_id)


async def delete_spend(uow: UnitOfWorkFactory, principal: Principal, spend_id: str) -> None:
    async with uow() as work:
        if not await InputRepository(work.session).delete_spend(principal.tenant_id, spend_id):
            raise NotFound("No such spend record.")
        await work.commit()


async def set_commission(
    uow: UnitOfWorkFactory, principal: Principal, curator_id: str, percent: Decimal
) -> list[dict[str, Any]]:
    """`curator_id` "*" sets the clinic's default rate."""
    cleaned = rules.clean_percent(percent)
    async with uow() as work:
        repo = InputRepository(work.session)
        if curator_id != "*" and not await repo.is_staff(principal.tenant_id, curator_id):
            raise InvalidAnalytics(f"{curator_id} is not a staff member of this clinic.", field="curator_id")
        await repo.set_commission(principal.tenant_id, curator_id, cleaned, principal.user_id, datetime.now(UTC))
        await work.commit()
    return await commissions(uow, principal)


async def commissions(uow: UnitOfWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow() as work:
        return await InputRepository(work.session).commissions(principal.tenant_id)
