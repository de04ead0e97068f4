"""The process's durable timers: photo reminders, the 24 h answer rules, the agents' digests."""

from __future__ import annotations

from typing import Any

from contracts.quotes import DigestEntry, QuoteUnansweredV1, ValuationDigestV1, ValuationPhotosRequestedV1
from funnel.domain import valuation as rules
from funnel.services.valuation.common import Env, _base, _process, _upload_url


# --- timers ----------------------------------------------------------------------------------------
async def reminder_round(env: Env, *, limit: int = 100) -> int:
    """Photos still incomplete a day after opening (or after the last reminder): remind the prospect."""
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        due = await repo.claim_reminders(now, limit=limit)
        for row in due:
            photos = await repo.photos(row.id)
            p = rules.after_reminder(_process(row), now)
            await repo.set(row.id, reminders=p.reminders, reminder_due_at=p.reminder_due_at, updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "reminder", "funnel", f"photo reminder {p.reminders}")
            work.publish(
                ValuationPhotosRequestedV1(
                    **_base(row), reminder=p.reminders, photos_received=len(photos),
                    photos_missing=rules.PHOTOS_REQUIRED - len(photos), upload_url=_upload_url(env, row),
                    requested_at=now,
                ),
                tenant_id=row.tenant_id,
            )  # fmt: skip
        await work.commit()
    return len(due)


async def answer_round(env: Env, *, limit: int = 100) -> int:
    """24 h without an answer (the prospect's to a quote, the clinic's to an acceptance): tell the agent, once."""
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        due = await repo.claim_answer_due(now, limit=limit)
        for row in due:
            waiting = rules.answer_overdue(_process(row), now)
            await repo.set(row.id, answer_due_at=None, updated_at=now)
            if waiting is None:
                continue
            await repo.log(row.tenant_id, row.id, now, "unanswered", "funnel", f"24 h without the {waiting}'s answer")
            work.publish(
                QuoteUnansweredV1(
                    **_base(row), quote_id=row.quote_id, waiting_for=waiting, since=row.waiting_since, noticed_at=now
                ),
                tenant_id=row.tenant_id,
            )
        await work.commit()
    return len(due)


async def digest_round(env: Env, *, limit: int = 100) -> int:
    """Once a day per sales agent: their prospects whose photos are incomplete."""
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        claimed = await repo.claim_digests(now, now + rules.DIGEST_EVERY, limit=limit)
        for pair in claimed:
            rows = await repo.incomplete_of(pair.tenant_id, pair.agent_id)
            if not rows:
                continue
            entries = [
                DigestEntry(
                    valuation_id=r.id, name=r.name, phone=r.phone, photos_received=r.photo_count, opened_at=r.created_at
                )
                for r in rows
            ]
            summary = "; ".join(
                f"{e.name or e.phone} ({e.photos_received}/{rules.PHOTOS_REQUIRED} photos since "
                f"{e.opened_at.date().isoformat()})"
                for e in entries
            )
            work.publish(
                ValuationDigestV1(
                    agent_id=pair.agent_id, count=len(entries), profiles=entries, summary=summary, compiled_at=now
                ),
                tenant_id=pair.tenant_id,
            )
        await work.commit()
    return len(claimed)


def timers(env: Env) -> list[tuple[str, Any]]:
    """(name, round) of the process's durable timers, for the worker."""
    return [
        ("valuation-reminders", lambda: reminder_round(env)),
        ("valuation-answers", lambda: answer_round(env)),
        ("valuation-digests", lambda: digest_round(env)),
    ]
