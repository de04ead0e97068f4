"""Export and erasure of one person's data held by leads, and the `lost_leads` retention that anonymises lost leads
the same way (docs/privacy.md); the only queries of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.privacy import Subject
from kit.privacy import ERASED_NAME, ERASED_TEXT
from leads.domain.retention import LOST_STATUSES
from leads.models import (
    activities,
    audit_log,
    intake_receipts,
    lead_requests,
    lead_status_changes,
    leads,
    patients,
    retention_rules,
)


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _ids(self, tenant_id: str, subject: Subject) -> tuple[list[str], list[str]]:
        """The lead and patient ids any identifier of the subject names, in this clinic only."""
        lead_match = [leads.c.id.in_(subject.lead_ids)] if subject.lead_ids else []
        patient_match = [patients.c.id.in_(subject.patient_ids)] if subject.patient_ids else []
        if subject.patient_ids:
            lead_match.append(leads.c.patient_id.in_(subject.patient_ids))
        if subject.lead_ids:
            patient_match.append(patients.c.lead_id.in_(subject.lead_ids))
        if subject.phones:
            lead_match.append(leads.c.phones.overlap(subject.phones))
            patient_match.append(patients.c.phones.overlap(subject.phones))
        if subject.emails:
            lead_match.append(leads.c.email.in_(subject.emails))
            patient_match.append(patients.c.email.in_(subject.emails))
        if subject.cpfs:
            lead_match.append(leads.c.cpf.in_(subject.cpfs))
            patient_match.append(patients.c.cpf.in_(subject.cpfs))
        lead_ids: list[str] = []
        patient_ids: list[str] = []
        if lead_match:
            query = select(leads.c.id, leads.c.patient_id).where(leads.c.tenant_id == tenant_id, or_(*lead_match))
            for row in (await self.session.execute(query)).all():
                lead_ids.append(row.id)
                if row.patient_id:
                    patient_ids.append(row.patient_id)
        if patient_match:
            query = select(patients.c.id, patients.c.lead_id).where(
                patients.c.tenant_id == tenant_id, or_(*patient_match)
            )
            for row in (await self.session.execute(query)).all():
                patient_ids.append(row.id)
                if row.lead_id:
                    lead_ids.append(row.lead_id)
        return list(dict.fromkeys(lead_ids)), list(dict.fromkeys(patient_ids))

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        lead_ids, patient_ids = await self._ids(tenant_id, subject)
        mine = leads.c.tenant_id == tenant_id
        return {
            "leads": await self._rows(select(leads).where(mine, leads.c.id.in_(lead_ids))),
            "patients": await self._rows(
                select(patients).where(patients.c.tenant_id == tenant_id, patients.c.id.in_(patient_ids))
            ),
            "requests": await self._rows(
                select(lead_requests).where(
                    lead_requests.c.tenant_id == tenant_id, lead_requests.c.lead_id.in_(lead_ids)
                )
            ),
            "activities": await self._rows(
                select(activities).where(activities.c.tenant_id == tenant_id, activities.c.lead_id.in_(lead_ids))
            ),
            "status_history": await self._rows(
                select(lead_status_changes).where(
                    lead_status_changes.c.tenant_id == tenant_id, lead_status_changes.c.lead_id.in_(lead_ids)
                )
            ),
            "audit_trail": await self._rows(
                select(audit_log).where(audit_log.c.tenant_id == tenant_id, audit_log.c.lead_id.in_(lead_ids))
            ),
            "intake": await self._rows(
                select(intake_receipts).where(
                    intake_receipts.c.tenant_id == tenant_id, intake_receipts.c.lead_id.in_(lead_ids)
                )
            ),
        }

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """Anonymise: the rows stay (statuses, sources and dates keep the clinic's figures right), the person's
        name, contacts, documents and free text go."""
        lead_ids, patient_ids = await self._ids(tenant_id, subject)
        counts = await self.anonymise(tenant_id, lead_ids, patient_ids)
        return counts, {}  # leads keeps nothing the law requires: every row is anonymised

    async def anonymise(self, tenant_id: str, lead_ids: list[str], patient_ids: list[str]) -> dict[str, int]:
        """The erasure of these leads and patient records of the clinic (also the `lost_leads` retention's):
        counts of rows anonymised per kind of data."""

        async def run(stmt: Any) -> int:
            return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

        return {
            "leads": await run(
                update(leads)
                .where(leads.c.tenant_id == tenant_id, leads.c.id.in_(lead_ids))
                .values(
                    name=ERASED_NAME,
                    name_search="",
                    name_words=[],
                    phone="",
                    phones=[],
                    contacts={},
                    email=None,
                    cpf=None,
                    birth_date=None,
                    city=None,
                    notes=None,
                    consents={},
                )
            ),
            "patients": await run(
                update(patients)
                .where(patients.c.tenant_id == tenant_id, patients.c.id.in_(patient_ids))
                .values(name=ERASED_NAME, name_search="", phones=[], email=None, cpf=None, birth_date=None, city=None)
            ),
            "requests": await run(
                update(lead_requests)
                .where(lead_requests.c.tenant_id == tenant_id, lead_requests.c.lead_id.in_(lead_ids))
                .values(reason=None)
            ),
            "activities": await run(
                update(activities)
                .where(activities.c.tenant_id == tenant_id, activities.c.lead_id.in_(lead_ids))
                .values(notes=None, result=None, title=ERASED_TEXT)
            ),
            "status_history": await run(
                update(lead_status_changes)
                .where(lead_status_changes.c.tenant_id == tenant_id, lead_status_changes.c.lead_id.in_(lead_ids))
                .values(comment=None)
            ),
            "audit_trail": await run(
                update(audit_log)
                .where(audit_log.c.tenant_id == tenant_id, audit_log.c.lead_id.in_(lead_ids))
                .values(changes={})
            ),
            "intake": await run(
                update(intake_receipts)
                .where(intake_receipts.c.tenant_id == tenant_id, intake_receipts.c.lead_id.in_(lead_ids))
                .values(payload={})
            ),
        }


class RetentionRepository:
    """The clinic's retention rules (privacy's copy) and the leads lost for longer than the `lost_leads` one,
    anonymised as an erasure does (the rows stay: counts per source, status and day do not change)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, tenant_id: str, kind: str, days: int, at: datetime) -> None:
        """The clinic's rule as privacy announced it; an older announcement arriving late changes nothing."""
        stmt = insert(retention_rules).values(tenant_id=tenant_id, kind=kind, days=days, updated_at=at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[retention_rules.c.tenant_id, retention_rules.c.kind],
                set_={"days": stmt.excluded.days, "updated_at": stmt.excluded.updated_at},
                where=retention_rules.c.updated_at <= stmt.excluded.updated_at,
            )
        )

    async def rules(self, kind: str) -> list[tuple[str, int]]:
        """(clinic, days) of every clinic with a rule of this kind."""
        query = (
            select(retention_rules.c.tenant_id, retention_rules.c.days)
            .where(retention_rules.c.kind == kind)
            .order_by(retention_rules.c.tenant_id)
        )
        return [(str(r.tenant_id), int(r.days)) for r in (await self.session.execute(query)).all()]

    async def lost_before(self, tenant_id: str, cutoff: datetime, *, limit: int) -> list[str]:
        """Up to `limit` leads of the clinic lost since before `cutoff` and not anonymised yet, locked for the
        round (another worker's round skips them). Lost since: the last move into the lost status in the status
        history (the lead's last change when the history has none, e.g. a lead merged away); a lead linked to a
        patient record is never one (leads.domain.retention)."""
        lost_at = (
            select(func.max(lead_status_changes.c.changed_at))
            .where(
                lead_status_changes.c.lead_id == leads.c.id,
                lead_status_changes.c.to_status.in_(LOST_STATUSES),
            )
            .scalar_subquery()
        )
        query = (
            select(leads.c.id)
            .where(
                leads.c.tenant_id == tenant_id,
                leads.c.status.in_(LOST_STATUSES),
                leads.c.patient_id.is_(None),
                leads.c.name != ERASED_NAME,
                func.coalesce(lost_at, leads.c.updated_at) < cutoff,
            )
            .order_by(leads.c.id)
            .limit(limit)
            .with_for_update(of=leads, skip_locked=True)
        )
        return [str(i) for i in (await self.session.execute(query)).scalars().all()]

    async def anonymise(self, tenant_id: str, lead_ids: list[str]) -> dict[str, int]:
        """The erasure's anonymisation of these leads (never a patient record): rows per kind of data."""
        counts = await PrivacyRepository(self.session).anonymise(tenant_id, lead_ids, [])
        counts.pop("patients", None)
        return counts
