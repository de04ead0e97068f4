"""The reports' use cases: scope from the token, one read, the domain's arithmetic (docs/analytics.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from analytics.domain import InvalidAnalytics
from analytics.domain import reports as rules
from analytics.repository.reports import Scope
from analytics.services.work import AnalyticsWorkFactory
from contracts.claims import ANALYTICS_ALL
from kit.auth import Principal

#: Which name each id column shows (names projected from scheduling's and identity's events).
_NAMED = {"doctor": "professional", "branch": "branch", "procedure": "procedure", "staff": "staff"}


@dataclass(frozen=True)
class Query:
    first: date | None = None
    last: date | None = None
    branch_id: str | None = None
    group_by: tuple[str, ...] = ()
    sort: str | None = None


@dataclass
class Report:
    name: str
    period: rules.Period
    group_by: tuple[str, ...]
    sort: str
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] = field(default_factory=dict)
    #: Agents see their own figures; managers and admins the clinic's (analytics:all).
    scope: str = "clinic"


def today(principal: Principal, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(principal.timezone)).date()


def scope_of(principal: Principal, query: Query, now: datetime | None = None) -> tuple[Scope, rules.Period]:
    span = rules.period(query.first, query.last, principal.timezone, today(principal, now))
    own = None if principal.has(ANALYTICS_ALL) else principal.user_id
    return Scope(principal.tenant_id, span.start, span.end, query.branch_id, own), span


def _named(rows: list[dict[str, Any]], dims: tuple[str, ...], names: dict[tuple[str, str], str]) -> None:
    for row in rows:
        for dim in dims:
            if dim in _NAMED:
                row[f"{dim}_name"] = names.get((_NAMED[dim], row.get(dim) or ""))


def _columns(dims: tuple[str, ...], metrics: list[str]) -> list[str]:
    cols: list[str] = []
    for dim in dims:
        cols.append(dim)
        if dim in _NAMED:
            cols.append(f"{dim}_name")
    return cols + metrics


def _sum(rows: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    return {k: sum((r.get(k) or 0 for r in rows), Decimal(0) if isinstance(rows[0].get(k), Decimal) else 0)
            for k in keys} if rows else {k: 0 for k in keys}  # fmt: skip


def _finish(
    name: str, span: rules.Period, scope: Scope, dims: tuple[str, ...], sort: str | None, default_sort: str,
    columns: list[str], rows: list[dict[str, Any]], totals: dict[str, Any],
) -> Report:  # fmt: skip
    key, descending = rules.sort_key(sort, columns, default_sort)
    ordered = rules.sort_rows(rows, key, descending)
    return Report(
        name, span, dims, ("-" if descending else "") + key, columns, ordered, totals,
        "own" if scope.owner_id else "clinic",
    )  # fmt: skip


async def leads(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """Leads per channel and source (and doctor or branch of the first booking)."""
    scope, span = scope_of(principal, query)
    dims = rules.dimensions(query.group_by, rules.LEAD_DIMENSIONS, ("channel", "source"))
    async with uow() as work:
        repo = work.reports
        rows = await repo.conversion(scope, dims)
        names = await repo.names(principal.tenant_id)
    rows = [{**{d: r[d] for d in dims}, "leads": r["leads"], "corrected": r["corrected"]} for r in rows]
    total = sum(r["leads"] for r in rows)
    for r in rows:
        r["share"] = rules.rate(r["leads"], total)
    _named(rows, dims, names)
    columns = _columns(dims, ["leads", "share", "corrected"])
    return _finish("leads", span, scope, dims, query.sort, "-leads", columns, rows, _sum(rows, ["leads", "corrected"]))


_FUNNEL_COLUMNS = ["leads"] + [
    c for step in rules.STEPS[1:] for c in (step, f"{step}_rate", f"{step}_drop", f"{step}_drop_rate")
]


async def conversion(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """Lead -> booked -> arrived -> treated -> paid, with the drop at each step."""
    scope, span = scope_of(principal, query)
    dims = rules.dimensions(query.group_by, rules.LEAD_DIMENSIONS, ("channel",))
    async with uow() as work:
        repo = work.reports
        raw = await repo.conversion(scope, dims)
        names = await repo.names(principal.tenant_id)
    rows = [rules.funnel({**r, "revenue": rules.money(r["revenue"])}) for r in raw]
    for r in rows:
        r.pop("corrected", None)
    _named(rows, dims, names)
    totals = rules.funnel(_sum(raw, list(rules.STEPS)))
    totals["revenue"] = rules.money(sum((r["revenue"] for r in rows), Decimal(0)))
    columns = _columns(dims, [*_FUNNEL_COLUMNS, "revenue"])
    return _finish("conversion", span, scope, dims, query.sort, "-leads", columns, rows, totals)


async def revenue(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """Money paid in the period (less refunds) per channel, source, doctor, procedure; cost per lead."""
    scope, span = scope_of(principal, query)
    dims = rules.dimensions(query.group_by, rules.REVENUE_DIMENSIONS, ("channel", "source"))
    async with uow() as work:
        repo = work.reports
        rows = await repo.revenue(scope, dims)
        names = await repo.names(principal.tenant_id)
        marketing = [d for d in dims if d in ("channel", "source")]
        spend = await repo.spend(scope) if "source" in dims else []
        lead_rows = await repo.conversion(scope, tuple(marketing)) if marketing else []
    for r in rows:
        for k in ("gross", "refunds", "revenue"):
            r[k] = rules.money(r[k])
    columns = ["payments", "gross", "refunds", "revenue"]
    if "source" in dims and dims == tuple(marketing):
        rows = _with_cost_per_lead(rows, marketing, lead_rows, spend, scope)
        columns += ["leads", "spend", "cost_per_lead"]
    _named(rows, dims, names)
    totals = _sum(rows, ["payments", "gross", "refunds", "revenue"])
    return _finish("revenue", span, scope, dims, query.sort, "-revenue", _columns(dims, columns), rows, totals)


def _with_cost_per_lead(
    rows: list[dict[str, Any]], marketing: list[str], lead_rows: list[dict[str, Any]], spend: list[dict[str, Any]],
    scope: Scope,
) -> list[dict[str, Any]]:  # fmt: skip
    """Cost per lead: the spend on a source in the period over the leads that source brought in the period.
    A spend recorded without a channel is split over the source's channels by their leads."""
    leads_of = {tuple(x[d] for d in marketing): int(x["leads"]) for x in lead_rows}
    spent: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for s in spend:
        part = rules.prorated(s["amount"], s["period_start"], s["period_end"], scope.start, scope.end)
        if "channel" in marketing and s["channel"] is None:
            keys = [k for k in leads_of if dict(zip(marketing, k, strict=True))["source"] == s["source"]]
            total = sum(leads_of[k] for k in keys)
            if total:
                for k in keys:
                    spent[k] += part * leads_of[k] / total
                continue
        values = {"source": s["source"], "channel": s["channel"]}
        spent[tuple(values[d] for d in marketing)] += part
    by_key = {tuple(r[d] for d in marketing): r for r in rows}
    for key in spent.keys() | leads_of.keys():
        if key not in by_key:
            zero = rules.money(0)
            by_key[key] = {**dict(zip(marketing, key, strict=True)), "payments": 0, "gross": zero, "refunds": zero,
                           "revenue": zero}  # fmt: skip
    for key, r in by_key.items():
        r["leads"] = leads_of.get(key, 0)
        r["spend"] = rules.money(spent[key]) if key in spent else None
        r["cost_per_lead"] = rules.cost_per_lead(spent.get(key), r["leads"])
    return list(by_key.values())


async def visits(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """The curators' Visits report: per patient, the curator, the treatment sums, payments, debt, commission."""
    scope, span = scope_of(principal, query)
    async with uow() as work:
        repo = work.reports
        rows = await repo.visits(scope)
        percents = await repo.commission_rates(principal.tenant_id)
        names = await repo.names(principal.tenant_id)
    for r in rows:
        for k in ("treatment_sum", "before_discounts", "payments", "open_debt"):
            r[k] = rules.money(r[k])
        r["discounts"] = rules.money(r["before_discounts"] - r["treatment_sum"])
        r["commission"] = rules.commission(r["payments"], percents.get(r["curator_id"], percents.get("*")))
        r["curator_name"] = names.get(("staff", r["curator_id"]))
        r["patient"] = r.pop("name") or r["person"]
    money_columns = ["treatment_sum", "before_discounts", "discounts", "payments", "open_debt", "commission"]
    columns = ["patient", "curator_id", "curator_name", "plans", *money_columns]
    totals: dict[str, Any] = {k: rules.money(sum((r[k] for r in rows), Decimal(0))) for k in money_columns}
    totals["patients"] = len(rows)
    per_curator: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = per_curator.setdefault(
            r["curator_id"],
            {"curator_id": r["curator_id"], "curator_name": r["curator_name"], "patients": 0}
            | {k: Decimal(0) for k in money_columns},
        )
        c["patients"] += 1
        for k in money_columns:
            c[k] += r[k]
    totals["curators"] = sorted(per_curator.values(), key=lambda c: c["curator_id"])
    return _finish("visits", span, scope, (), query.sort, "curator_name", columns, rows, totals)


async def attendance(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """No-show rate and reminder confirmation rate, per channel or per reminder step."""
    scope, span = scope_of(principal, query)
    dims = rules.dimensions(query.group_by, ("channel", "step"), ("channel",))
    if len(dims) != 1:
        raise InvalidAnalytics("Group attendance by channel or by step, one at a time.", field="group_by")
    dim = dims[0]
    now = datetime.now(UTC)
    async with uow() as work:
        repo = work.reports
        due = await repo.attendance(scope, now)
        sent = await repo.reminders(scope)
    groups: dict[Any, dict[str, Any]] = {}

    def group(value: Any) -> dict[str, Any]:
        # a null step: appointments that got no reminder
        return groups.setdefault(value, {dim: value, "appointments": 0, "no_shows": 0, "reminders": 0, "confirmed": 0})

    for a in due:
        g = group(a["channel"] if dim == "channel" else a["last_step"])
        g["appointments"] += 1
        g["no_shows"] += int(a["no_show"])
    for s in sent:
        g = group(s["channel"] if dim == "channel" else s["step"])
        g["reminders"] += 1
        g["confirmed"] += int(s["confirmed"])
    rows = list(groups.values())
    for r in rows:
        r["no_show_rate"] = rules.rate(r["no_shows"], r["appointments"])
        r["confirmation_rate"] = rules.rate(r["confirmed"], r["reminders"])
    columns = [dim, "appointments", "no_shows", "no_show_rate", "reminders", "confirmed", "confirmation_rate"]
    totals = _sum(rows, ["appointments", "no_shows", "reminders", "confirmed"])
    totals["no_show_rate"] = rules.rate(totals["no_shows"], totals["appointments"])
    totals["confirmation_rate"] = rules.rate(totals["confirmed"], totals["reminders"])
    return _finish("attendance", span, scope, dims, query.sort, dim, columns, rows, totals)


async def response_times(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """Per agent: how long from a lead's arrival to its first contact (minutes)."""
    scope, span = scope_of(principal, query)
    async with uow() as work:
        repo = work.reports
        raw = await repo.response_times(scope)
        names = await repo.names(principal.tenant_id)
    agents: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in raw:
        agents[r["agent_id"]].append(r)
    rows = []
    for agent, leads_ in agents.items():
        minutes = [max(float(r["seconds"]), 0.0) / 60 for r in leads_ if r["seconds"] is not None]
        rows.append(
            {
                "agent_id": agent,
                "agent_name": names.get(("staff", agent or "")),
                "leads": len(leads_),
                "contacted": len(minutes),
                "not_contacted": len(leads_) - len(minutes),
                "average_minutes": round(sum(minutes) / len(minutes), 1) if minutes else None,
                "median_minutes": _round(rules.percentile(minutes, 50)),
                "p90_minutes": _round(rules.percentile(minutes, 90)),
            }
        )
    columns = ["agent_id", "agent_name", "leads", "contacted", "not_contacted", "average_minutes",
               "median_minutes", "p90_minutes"]  # fmt: skip
    totals = _sum(rows, ["leads", "contacted", "not_contacted"])
    return _finish("response-times", span, scope, ("agent",), query.sort, "agent_name", columns, rows, totals)


_AI_COUNTS = ["requests", "suggestions", "used", "as_is", "edited", "ignored", "prompt_tokens",
              "completion_tokens", "tokens", "replied", "booked", "paid"]  # fmt: skip


async def ai_usage(uow: AnalyticsWorkFactory, principal: Principal, query: Query) -> Report:
    """The reply assistant: who asked for suggestions and how often, used as is / edited / ignored, tokens, cost
    at the clinic's prices, and the used ones followed by the person's reply, booking or payment."""
    scope, span = scope_of(principal, query)
    dims = rules.dimensions(query.group_by, rules.AI_DIMENSIONS, ("staff",))
    async with uow() as work:
        repo = work.reports
        rows = await repo.ai_usage(scope, dims)
        names = await repo.names(principal.tenant_id)
    for r in rows:
        for k in ("requests", "suggestions", "used", "as_is", "edited", "prompt_tokens", "completion_tokens",
                  "replied", "booked", "paid"):  # fmt: skip
            r[k] = int(r[k])
        r["ignored"] = r["requests"] - r["used"]
        r["tokens"] = r["prompt_tokens"] + r["completion_tokens"]
        r["use_rate"] = rules.rate(r["used"], r["requests"])
        r["edit_rate"] = rules.rate(r["edited"], r["used"])
        r["cost"] = rules.ai_cost(r["cost"])
    _named(rows, dims, names)
    totals = _sum(rows, _AI_COUNTS)
    totals["use_rate"] = rules.rate(totals["used"], totals["requests"])
    totals["edit_rate"] = rules.rate(totals["edited"], totals["used"])
    costs = [r["cost"] for r in rows if r["cost"] is not None]
    totals["cost"] = rules.ai_cost(sum(costs, Decimal(0))) if costs else None
    columns = _columns(
        dims, [*_AI_COUNTS[:6], "use_rate", "edit_rate", *_AI_COUNTS[6:9], "cost", "replied", "booked", "paid"]
    )
    return _finish("ai-usage", span, scope, dims, query.sort, "-requests", columns, rows, totals)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
