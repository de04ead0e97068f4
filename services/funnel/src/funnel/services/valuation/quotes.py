"""The quote: priced from the clinic's lists, saved or sent, the prospect's answer through the link, the
clinic's reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import Event
from contracts.quotes import QuoteAcceptedV1, QuoteItem, QuoteQuestionV1, QuoteRejectedV1, QuoteRepliedV1, QuoteSentV1
from funnel.domain import Conflict, InvalidFunnel
from funnel.domain import valuation as rules
from funnel.domain.valuation import Forbidden, LinkInvalid, Process
from funnel.repository.valuation import Row, ValuationRepository
from funnel.services.valuation.common import QUOTE_LINK, Env, _base, _columns, _load
from funnel.services.work import FunnelWork
from kit import context
from kit.auth import Principal


# --- the quote -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemIn:
    cost_id: str
    quantity: int = 1
    discount_id: str | None = None


async def save_quote(
    env: Env, principal: Principal, valuation_id: str, items: list[ItemIn], *, discount_id: str | None,
    note: str | None, send: bool,
) -> str:  # fmt: skip
    if not items:
        raise InvalidFunnel("A quote needs at least one item.", field="items")
    text = rules.clean_text(note, field_name="note", max_length=4000)
    now = env.clock()
    quote_id = context.new_id()
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        await _quoter(repo, principal, row)
        if p.state not in (rules.QUOTING, rules.SENT, rules.QUESTION):
            raise Conflict("The quote comes after the valuation is recorded.", field="valuation_id")
        priced = await _price(repo, principal.tenant_id, items, discount_id)
        await repo.put_draft(
            {
                "id": quote_id, "tenant_id": principal.tenant_id, "valuation_id": row.id, "status": "draft",
                "currency": priced.currency, "subtotal": priced.subtotal, "total": priced.total,
                "items": [_item(line) for line in priced.lines], "note": text, "created_by": principal.user_id,
                "created_at": now,
            }
        )  # fmt: skip
        await repo.log(
            row.tenant_id, row.id, now, "quote", principal.user_id, f"quote saved ({priced.total} {priced.currency})"
        )
        if send:
            await _send(work, env, repo, principal, row, p, quote_id, now)
        await work.commit()
    return quote_id


async def _quoter(repo: ValuationRepository, principal: Principal, row: Row) -> None:
    """Quotes are written by the valuation's doctor (or a diagnostic doctor) and by funnel staff."""
    if principal.has("funnel:write") or row.doctor_id == principal.user_id:
        return
    member = await repo.staff(principal.tenant_id, principal.user_id)
    if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
        raise Forbidden("Quotes are written by the diagnostic doctor or the funnel's staff.", field="valuation_id")


def _item(line: rules.PricedLine) -> dict[str, Any]:
    return {
        "description": line.description, "cost_id": line.cost_id, "quantity": line.quantity,
        "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent), "total": str(line.total),
    }  # fmt: skip


async def _price(
    repo: ValuationRepository, tenant_id: str, items: list[ItemIn], discount_id: str | None
) -> rules.Priced:
    found = {c.id: c for c in await repo.costs(tenant_id, ids=sorted({i.cost_id for i in items}))}
    wanted = sorted({i.discount_id for i in items if i.discount_id} | ({discount_id} if discount_id else set()))
    offers = {d.id: d for d in await repo.discounts(tenant_id, ids=wanted)} if wanted else {}
    lines = []
    for n, item in enumerate(items):
        cost = found.get(item.cost_id)
        if cost is None or not cost.active:
            raise InvalidFunnel("No such cost in the clinic's price list.", field=f"items[{n}].cost_id")
        lines.append(
            rules.Line(
                rules.Cost(cost.id, cost.name, cost.price, cost.currency), item.quantity,
                _discount(offers, item.discount_id, f"items[{n}].discount_id"),
            )
        )  # fmt: skip
    return rules.price_quote(lines, _discount(offers, discount_id, "discount_id"))


def _discount(offers: dict[str, Row], discount_id: str | None, field: str) -> rules.Discount | None:
    if discount_id is None:
        return None
    found = offers.get(discount_id)
    if found is None or not found.active:
        raise InvalidFunnel("No such discount in the clinic's list.", field=field)
    return rules.Discount(found.id, found.name, found.percent)


async def send_quote(env: Env, principal: Principal, valuation_id: str) -> str:
    """Send the saved draft now."""
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        await _quoter(repo, principal, row)
        draft = await repo.draft(row.id)
        if draft is None:
            raise Conflict("There is no saved quote to send; save one first.", field="valuation_id")
        await _send(work, env, repo, principal, row, p, draft.id, now)
        await work.commit()
    return str(draft.id)


async def _send(
    work: FunnelWork, env: Env, repo: ValuationRepository, principal: Principal, row: Row, p: Process,
    quote_id: str, now: datetime,
) -> None:  # fmt: skip
    p, said = rules.step(p, rules.QuoteSent(quote_id, now))
    if not said:
        return
    await repo.mark_sent(quote_id, row.id, principal.user_id, now)
    await repo.set(row.id, **_columns(p), updated_at=now)
    quote: Row = await repo.quote(row.tenant_id, quote_id)  # saved in this transaction or locked as the draft
    await repo.log(
        row.tenant_id, row.id, now, "sent", principal.user_id, f"quote sent ({quote.total} {quote.currency})"
    )
    work.publish(
        QuoteSentV1(
            **_base(row), quote_id=quote_id, currency=quote.currency, subtotal=str(quote.subtotal),
            total=str(quote.total), items=[QuoteItem(**i) for i in quote.items],
            quote_url=env.links.url(QUOTE_LINK, "quotes", subject=quote_id, tenant_id=row.tenant_id),
            sent_by=principal.user_id, sent_at=now,
        ),
        tenant_id=row.tenant_id,
    )  # fmt: skip


async def quote_page(env: Env, token: str) -> tuple[Row, Row]:
    link = env.links.verify(token, QUOTE_LINK)
    async with env.uow() as work:
        repo = work.valuation
        quote = await repo.quote(link.tenant_id, link.subject)
        if quote is None or quote.status == "draft":
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        row = await repo.get(link.tenant_id, quote.valuation_id)
        return row, quote


async def answer(env: Env, token: str, action: str, text: str | None) -> tuple[Row, Row]:
    """The prospect accepts, rejects or asks for the agent; each tells the prospect and the agent (rules)."""
    link = env.links.verify(token, QUOTE_LINK)
    note = rules.clean_text(text, field_name="message" if action == rules.ASK else "reason", max_length=2000)
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        quote = await repo.quote(link.tenant_id, link.subject)
        if quote is None or quote.status == "draft":
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        row, p = await _load(repo, link.tenant_id, quote.valuation_id)
        p, said = rules.step(p, rules.Answered(quote.id, action, now))
        if said:
            await repo.set(row.id, **_columns(p), updated_at=now)
            await repo.log(
                row.tenant_id, row.id, now, action, "prospect", f"quote {action}" + (f": {note}" if note else "")
            )
            base = {**_base(row), "quote_id": quote.id}
            event: Event
            if action == rules.ACCEPT:
                event = QuoteAcceptedV1(**base, total=str(quote.total), currency=quote.currency, accepted_at=now)
            elif action == rules.REJECT:
                event = QuoteRejectedV1(**base, reason=note, rejected_at=now)
            else:
                event = QuoteQuestionV1(**base, message=note, asked_at=now)
            work.publish(event, tenant_id=row.tenant_id)
        await work.commit()
    return await quote_page(env, token)


async def reply(env: Env, principal: Principal, valuation_id: str, note: str | None) -> None:
    """The clinic answered the prospect (after an acceptance or a question): stops the clinic's 24 h wait."""
    text = rules.clean_text(note, field_name="note", max_length=2000)
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, _ = rules.step(p, rules.ClinicReplied(now))
        await repo.set(row.id, **_columns(p), updated_at=now)
        await repo.log(row.tenant_id, row.id, now, "replied", principal.user_id, text or "clinic replied")
        work.publish(
            QuoteRepliedV1(
                **_base(row), quote_id=row.quote_id, note=text, replied_by=principal.user_id, replied_at=now
            ),
            tenant_id=row.tenant_id,
        )
        await work.commit()
