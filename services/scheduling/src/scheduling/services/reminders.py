"""The durable reminder scheduler (worker): due rows -> reminder.due, exactly once."""

from __future__ import annotations

import logging

from contracts.people import Person as PersonV1
from contracts.scheduling import NoShowReason, NoShowRisk, ReminderAction, ReminderDueV1
from scheduling.domain.reminders import action_id
from scheduling.domain.waitlist import no_show_risk
from scheduling.services.env import Env

log = logging.getLogger(__name__)


async def dispatch_due(env: Env, *, limit: int = 500) -> int:
    """Claim due reminders (FOR UPDATE SKIP LOCKED), publish each through the outbox and mark it sent, all in
    one transaction. Returns how many went out."""
    now = env.clock.now()
    async with env.uow() as uow:
        rows = await uow.reminders.claim_due(now, limit)
        for r in rows:
            risk = no_show_risk(
                no_shows=r.no_shows,
                attended=r.attended,
                booked_at=r.created_at,
                starts_at=r.starts_at,
                now=now,
                confirmed=r.confirmed_at is not None,
                known_person=bool(r.lead_id or r.patient_id),
            )
            urls = {
                kind: env.links.url(kind, kind, subject=r.id, tenant_id=r.tenant_id)
                for kind in ("confirm", "reschedule")
            }
            uow.publish(
                ReminderDueV1(
                    appointment_id=r.id,
                    person=PersonV1(**r.person),
                    reminder_id=r.reminder_id,
                    offset_minutes=r.offset_minutes,
                    starts_at=r.starts_at,
                    timezone=r.timezone,
                    branch_name=r.branch_name,
                    branch_address=r.branch_address,
                    professional_name=r.professional_name,
                    procedure_name=r.procedure_name,
                    actions=[
                        ReminderAction(id=action_id(r.id, kind), kind=kind, url=urls[kind])
                        for kind in ("confirm", "reschedule")
                    ],
                    due_at=r.due_at,
                    no_show_risk=NoShowRisk(
                        score=risk.score,
                        level=risk.level,
                        reasons=[NoShowReason(**reason) for reason in risk.reasons],  # type: ignore[arg-type]
                    ),
                ),
                tenant_id=r.tenant_id,
            )
        await uow.commit()
    return len(rows)
