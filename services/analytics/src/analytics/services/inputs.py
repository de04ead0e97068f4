"""Use cases of what staff enter: a request's source by hand, campaign spend, curators' commission rates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from analytics.domain import InvalidAnalytics, NotFound
from analytics.domain import reports as rules
from analytics.repository.facts import Touched
from analytics.services.work import AnalyticsWork, AnalyticsWorkFactory
from contracts.claims import ANALYTICS_ALL
from kit import context
from kit.auth import Principal


async def lead_source(uow: AnalyticsWorkFactory, principal: Principal, lead_id: str) -> dict[str, Any]:
    async with uow() as work:
        found = await work.inputs.lead(principal.tenant_id, lead_id)
    if found is None or (not principal.has(ANALYTICS_ALL) and found["owner_id"] != principal.user_id):
        raise NotFound("No such lead in analytics (a lead made a moment ago shows within seconds).")
    return found


async def _refreshing(work: AnalyticsWork, tenant_id: str, lead_id: str) -> None:
    """A correction moves the lead's facts and rollups (reports read the corrected source): under the clinic's
    fact lock, like the consumers' batches."""
    await work.facts.lock([tenant_id])


async def correct_source(
    uow: AnalyticsWorkFactory, principal: Principal, lead_id: str, source: str, note: str | None
) -> dict[str, Any]:
    """Reports count the lead under `source` from now on; the source it came with is kept."""
    cleaned = rules.clean_source(source)
    await lead_source(uow, principal, lead_id)
    async with uow() as work:
        repo = work.inputs
        await _refreshing(work, principal.tenant_id, lead_id)
        await repo.correct_source(principal.tenant_id, lead_id, cleaned, note, principal.user_id, datetime.now(UTC))
        await work.facts.refresh(principal.tenant_id, Touched(leads={lead_id}))
        await work.commit()
    return await lead_source(uow, principal, lead_id)


async def clear_correction(uow: AnalyticsWorkFactory, principal: Principal, lead_id: str) -> dict[str, Any]:
    await lead_source(uow, principal, lead_id)
    async with uow() as work:
        await _refreshing(work, principal.tenant_id, lead_id)
        await work.inputs.clear_correction(principal.tenant_id, lead_id)
        await work.facts.refresh(principal.tenant_id, Touched(leads={lead_id}))
        await work.commit()
    return await lead_source(uow, principal, lead_id)


async def add_spend(
    uow: AnalyticsWorkFactory, principal: Principal, *, source: str, channel: str | None, campaign: str | None,
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
        await work.inputs.add_spend(row)
        await work.commit()
    return row


async def list_spend(
    uow: AnalyticsWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow() as work:
        repo = work.inputs
        rows = await repo.spend(principal.tenant_id, limit=limit, offset=offset)
        return rows, await repo.spend_count(principal.tenant_id)


async def delete_spend(uow: AnalyticsWorkFactory, principal: Principal, spend_id: str) -> None:
    async with uow() as work:
        if not await work.inputs.delete_spend(principal.tenant_id, spend_id):
            raise NotFound("No such spend record.")
        await work.commit()


async def set_commission(
    uow: AnalyticsWorkFactory, principal: Principal, curator_id: str, percent: Decimal
) -> list[dict[str, Any]]:
    """`curator_id` "*" sets the clinic's default rate."""
    cleaned = rules.clean_percent(percent)
    async with uow() as work:
        repo = work.inputs
        if curator_id != "*" and not await repo.is_staff(principal.tenant_id, curator_id):
            raise InvalidAnalytics(f"{curator_id} is not a staff member of this clinic.", field="curator_id")
        await repo.set_commission(principal.tenant_id, curator_id, cleaned, principal.user_id, datetime.now(UTC))
        await work.commit()
    return await commissions(uow, principal)


async def commissions(uow: AnalyticsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow() as work:
        return await work.inputs.commissions(principal.tenant_id)
