"""The console's dashboard: each panel's count, and a panel's detail on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.domain import InvalidAnalytics
from analytics.domain import reports as rules
from analytics.repository.dashboard import PANELS, window
from analytics.services.reports import today
from analytics.services.work import AnalyticsWorkFactory
from contracts.claims import ANALYTICS_ALL
from kit.auth import Principal

PANEL_NAMES = tuple(PANELS)


def _window(principal: Principal, now: datetime) -> dict[str, Any]:
    day = today(principal, now)
    own = None if principal.has(ANALYTICS_ALL) else principal.user_id
    return window(
        principal.tenant_id,
        own,
        now,
        rules.day_bounds(day, principal.timezone),
        rules.day_bounds(day + timedelta(days=1), principal.timezone),
    )


def link(item: dict[str, Any]) -> str | None:
    """Where the console opens the item: the lead's card when there is a lead."""
    if item.get("lead_id"):
        return f"/#/prospects/{item['lead_id']}"
    if item.get("task_id") or item.get("deal_id"):
        return "/#/activities"
    return None


async def panels(uow: AnalyticsWorkFactory, principal: Principal, now: datetime | None = None) -> dict[str, Any]:
    async with uow() as work:
        return await work.dashboard.counts(_window(principal, now or datetime.now(UTC)))


async def detail(
    uow: AnalyticsWorkFactory, principal: Principal, panel: str, limit: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    if panel not in PANELS:
        raise InvalidAnalytics(f"The panels are: {', '.join(PANELS)}.", field="panel")
    async with uow() as work:
        items = await work.dashboard.detail(panel, _window(principal, now or datetime.now(UTC)), limit)
    for item in items:
        item["link"] = link(item)
    return items
