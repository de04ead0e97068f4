"""Export and erasure of one person's data held by telephony (docs/privacy.md); the only queries of it.

A person's calls are those linked to one of their leads or made from one of their phones (a Brazilian mobile
with or without the ninth digit is the same phone); their recordings and who opened them hang off those calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from contracts.privacy import Subject
from telephony.domain import REC_DELETED, Recording, phone_variants
from telephony.models import calls, contacts, recording_access, recording_retention, recordings
from telephony.repository.recordings import recording_of


def _phones(subject: Subject) -> list[str]:
    return list(dict.fromkeys(v for p in subject.phones for v in phone_variants(p)))


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _calls(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(calls.c.lead_id.in_(subject.lead_ids))
        if phones := _phones(subject):
            match.append(calls.c.caller.in_(phones))
        return (calls.c.tenant_id == tenant_id) & or_(*match) if match else None

    def _contacts(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(contacts.c.lead_id.in_(subject.lead_ids))
        if phones := _phones(subject):
            match.append(contacts.c.phone.in_(phones))
        return (contacts.c.tenant_id == tenant_id) & or_(*match) if match else None

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        mine, known = self._calls(tenant_id, subject), self._contacts(tenant_id, subject)
        if mine is None or known is None:
            return {"calls": [], "recordings": [], "recording_access": [], "contacts": []}
        found = await self._rows(select(calls).where(mine).order_by(calls.c.started_at, calls.c.id))
        ids = [c["id"] for c in found]
        recs = await self._rows(
            select(recordings)
            .where(recordings.c.tenant_id == tenant_id, recordings.c.call_id.in_(ids))
            .order_by(recordings.c.created_at)
        )
        access = await self._rows(
            select(recording_access)
            .where(recording_access.c.tenant_id == tenant_id, recording_access.c.call_id.in_(ids))
            .order_by(recording_access.c.at)
        )
        return {
            "calls": found,
            "recordings": recs,
            "recording_access": access,
            "contacts": await self._rows(select(contacts).where(known).order_by(contacts.c.phone)),
        }

    async def hold_on_erasure_days(self, tenant_id: str) -> int:
        query = select(recording_retention.c.hold_on_erasure_days).where(recording_retention.c.tenant_id == tenant_id)
        return int((await self.session.execute(query)).scalar_one_or_none() or 0)

    async def lock_calls(self, tenant_id: str, subject: Subject) -> list[tuple[str, list[dict[str, Any]]]]:
        """The person's calls, locked (a late provider event of one waits): (id, its stored provider events)."""
        mine = self._calls(tenant_id, subject)
        if mine is None:
            return []
        query = select(calls.c.id, calls.c.events).where(mine).order_by(calls.c.id).with_for_update()
        return [(r.id, list(r.events)) for r in (await self.session.execute(query)).all()]

    async def recordings_of(self, tenant_id: str, call_ids: list[str]) -> list[Recording]:
        query = (
            select(recordings)
            .where(recordings.c.tenant_id == tenant_id, recordings.c.call_id.in_(call_ids))
            .with_for_update()
        )
        return [recording_of(r) for r in (await self.session.execute(query)).all()]

    async def anonymise_call(self, call_id: str, events: list[dict[str, Any]], *, keep_recording: bool) -> None:
        """The caller leaves the call and its stored provider events; times, disposition, the tracking number
        and its source stay (the clinic's counts per source and day do not change)."""
        values: dict[str, Any] = {"caller": "", "events": events}
        if not keep_recording:
            values["recording_ref"] = None
        await self.session.execute(update(calls).where(calls.c.id == call_id).values(**values))

    async def delete_recordings(self, recording_ids: list[str], at: datetime) -> None:
        if not recording_ids:
            return
        await self.session.execute(
            update(recordings)
            .where(recordings.c.id.in_(recording_ids))
            .values(state=REC_DELETED, deleted_at=at, object_key=None, provider_ref="", last_error=None)
        )

    async def forget_contacts(self, tenant_id: str, subject: Subject) -> int:
        known = self._contacts(tenant_id, subject)
        if known is None:
            return 0
        result = await self.session.execute(delete(contacts).where(known))
        return int(getattr(result, "rowcount", 0) or 0)
