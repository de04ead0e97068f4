"""Queries of the pre-qualification assistant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funnel.domain import assistant as a
from funnel.models.assistant import assistant_history, assistant_processes, assistant_settings

Row = Any
_STATE = (
    "step", "status", "name", "cpf", "procedure_id", "procedure", "branch_id", "region", "payment_id", "paid",
    "appointment_id", "due_at", "nudges", "last_reply_at",
)  # fmt: skip


def to_process(row: Row) -> a.Process:
    return a.Process(
        id=row.id, lead_id=row.lead_id, channel=row.channel, address=row.address, locale=row.locale,
        seen=frozenset(row.seen), **{k: getattr(row, k) for k in _STATE},
    )  # fmt: skip


class AssistantRepository:
    """A clinic's settings are read once per repository, i.e. once per unit of work (a consumer batch asks for
    them per event)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._settings: dict[str, Row | None] = {}

    # --- set-up -----------------------------------------------------------------------------------
    async def settings(self, tenant_id: str) -> Row | None:
        if tenant_id not in self._settings:
            q = select(assistant_settings).where(assistant_settings.c.tenant_id == tenant_id)
            self._settings[tenant_id] = (await self.session.execute(q)).first()
        return self._settings[tenant_id]

    async def put_settings(self, tenant_id: str, **values: Any) -> None:
        self._settings.pop(tenant_id, None)
        q = insert(assistant_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(q.on_conflict_do_update(index_elements=["tenant_id"], set_=values))

    # --- processes --------------------------------------------------------------------------------
    async def add(self, **values: Any) -> bool:
        """False when the lead already has its assistant (a redelivered or concurrent start)."""
        result = await self.session.execute(insert(assistant_processes).values(**values).on_conflict_do_nothing())
        return bool(getattr(result, "rowcount", 0))

    async def get(self, tenant_id: str, process_id: str, *, lock: bool = False) -> Row | None:
        q = select(assistant_processes).where(
            assistant_processes.c.tenant_id == tenant_id, assistant_processes.c.id == process_id
        )
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def of_lead(self, tenant_id: str, lead_id: str, *, lock: bool = False) -> Row | None:
        q = select(assistant_processes).where(
            assistant_processes.c.tenant_id == tenant_id, assistant_processes.c.lead_id == lead_id
        )
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def of_sender(self, tenant_id: str, channel: str, address: str, lead_id: str | None) -> Row | None:
        """The process a message belongs to: by the lead when the message knows it, else by the sender."""
        c = assistant_processes.c
        match = c.address == address if lead_id is None else or_(c.lead_id == lead_id, c.address == address)
        q = (
            select(assistant_processes)
            .where(c.tenant_id == tenant_id, c.channel == channel, match)
            .order_by(c.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(q)).first()

    async def save(self, p: a.Process, now: datetime) -> None:
        values = {k: getattr(p, k) for k in _STATE} | {"seen": sorted(p.seen), "updated_at": now}
        await self.session.execute(update(assistant_processes).where(assistant_processes.c.id == p.id).values(values))

    async def due(self, now: datetime, *, limit: int) -> list[Row]:
        """Active processes whose timer is due, locked; replicas skip each other's (SKIP LOCKED)."""
        c = assistant_processes.c
        q = (
            select(assistant_processes)
            .where(c.status == a.ACTIVE, c.due_at.is_not(None), c.due_at <= now)
            .order_by(c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

    async def listing(
        self, tenant_id: str, *, status: list[str] | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        c = assistant_processes.c
        where = [c.tenant_id == tenant_id] + ([c.status.in_(status)] if status else [])
        total = await self.session.execute(select(func.count()).select_from(assistant_processes).where(*where))
        q = select(assistant_processes).where(*where).order_by(c.updated_at.desc()).limit(limit).offset(offset)
        return list((await self.session.execute(q)).all()), int(total.scalar_one())

    # --- history ----------------------------------------------------------------------------------
    async def log(self, tenant_id: str, process_id: str, at: datetime, step: str, entries: list[a.Step]) -> None:
        if entries:
            await self.session.execute(
                assistant_history.insert(),
                [
                    {"tenant_id": tenant_id, "process_id": process_id, "at": at, "actor": e.actor,
                     "action": e.action, "detail": e.detail, "step": step}
                    for e in entries
                ],
            )  # fmt: skip

    async def history(self, process_id: str) -> list[Row]:
        q = select(assistant_history).where(assistant_history.c.process_id == process_id)
        return list((await self.session.execute(q.order_by(assistant_history.c.id))).all())
