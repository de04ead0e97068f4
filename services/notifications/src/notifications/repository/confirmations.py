"""Appointment confirmations per channel and step (the confirmation rates)."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    confirmations,
    messages,
)


class ConfirmationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, tenant_id: str, appointment_id: str, via: str, rule_key: str | None, channel: str | None, at: datetime
    ) -> None:
        stmt = insert(confirmations).values(
            tenant_id=tenant_id,
            appointment_id=appointment_id,
            via=via,
            rule_key=rule_key,
            channel=channel,
            confirmed_at=at,
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def stats(self, tenant_id: str) -> dict[str, Any]:
        """Reminders sent per rule and channel, and how many of their appointments were confirmed after each."""
        sent = (
            select(messages.c.rule_key, messages.c.channel, func.count(func.distinct(messages.c.cancel_key)))
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.event_type == "reminder.due",
                messages.c.sent_at.is_not(None),
                messages.c.recipient == "person",
            )
            .group_by(messages.c.rule_key, messages.c.channel)
        )
        confirmed = (
            select(confirmations.c.rule_key, confirmations.c.channel, func.count())
            .where(confirmations.c.tenant_id == tenant_id)
            .group_by(confirmations.c.rule_key, confirmations.c.channel)
        )
        done = {(r[0], r[1]): r[2] for r in (await self.session.execute(confirmed)).all()}
        steps = [
            {"rule": r[0], "channel": r[1], "reminded": r[2], "confirmed": done.get((r[0], r[1]), 0)}
            for r in (await self.session.execute(sent)).all()
        ]
        return {"steps": steps, "confirmed_without_reminder": done.get((None, None), 0)}
