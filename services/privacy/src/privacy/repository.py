"""The only module of privacy that builds queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from privacy.domain import (
    Clinic,
    Consent,
    ExportLink,
    Part,
    ReadEntry,
    RetentionRule,
    Subject,
    SubjectRequest,
)
from privacy.models import (
    clinics,
    consents,
    export_links,
    people,
    person_keys,
    read_audit,
    request_parts,
    retention_rules,
    retention_runs,
    subject_requests,
)


def _consent(row: Any) -> Consent:
    return Consent(
        id=row.id,
        tenant_id=row.tenant_id,
        person_key=row.person_key,
        lead_id=row.lead_id,
        patient_id=row.patient_id,
        phone=row.phone,
        email=row.email,
        purpose=row.purpose,
        channel=row.channel,
        granted=row.granted,
        source=row.source,
        text=row.text,
        recorded_by=row.recorded_by,
        at=row.at,
    )


def _request(row: Any, parts: list[Part]) -> SubjectRequest:
    return SubjectRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        status=row.status,
        subject=Subject.of(row.subject),
        details=row.details,
        corrections=dict(row.corrections or {}),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        due_at=row.due_at,
        completed_at=row.completed_at,
        archive_key=row.archive_key,
        archive_sha256=row.archive_sha256,
        resolution=row.resolution,
        parts=tuple(parts),
    )


def _part(row: Any) -> Part:
    return Part(
        service=row.service,
        status=row.status,
        object_key=row.object_key,
        counts=dict(row.counts or {}),
        retained=dict(row.retained or {}),
        at=row.at,
    )


class ClinicRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: str) -> Clinic | None:
        row = (await self.session.execute(select(clinics).where(clinics.c.tenant_id == tenant_id))).first()
        if row is None:
            return None
        return Clinic(row.tenant_id, row.country, row.region, row.response_days, row.updated_at)

    async def save(self, clinic: Clinic) -> None:
        values = {
            "tenant_id": clinic.tenant_id,
            "country": clinic.country,
            "region": clinic.region,
            "response_days": clinic.response_days,
            "updated_at": clinic.updated_at,
        }
        stmt = insert(clinics).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[clinics.c.tenant_id], set_={k: stmt.excluded[k] for k in values})
        )


class PeopleRepository:
    """leads' people as its events described them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(
        self,
        tenant_id: str,
        lead_id: str,
        *,
        phone: str | None,
        email: str | None,
        patient_id: str | None,
        at: datetime,
    ) -> None:
        stmt = insert(people).values(
            lead_id=lead_id,
            tenant_id=tenant_id,
            patient_id=patient_id,
            phones=[phone] if phone else [],
            email=email.lower() if email else None,
            updated_at=at,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[people.c.lead_id],
                set_={
                    "patient_id": func.coalesce(stmt.excluded.patient_id, people.c.patient_id),
                    # every phone the lead ever had: the person may have written from any of them
                    "phones": text(
                        "ARRAY(SELECT DISTINCT p FROM unnest(array_cat(people.phones, excluded.phones)) AS p)"
                    ),
                    "email": func.coalesce(stmt.excluded.email, people.c.email),
                    "updated_at": func.greatest(stmt.excluded.updated_at, people.c.updated_at),
                },
            )
        )

    async def find(self, tenant_id: str, subject: Subject) -> list[dict[str, Any]]:
        """The people of this clinic that any identifier of `subject` names."""
        conditions = []
        if subject.lead_ids:
            conditions.append(people.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            conditions.append(people.c.patient_id.in_(subject.patient_ids))
        if subject.phones:
            conditions.append(people.c.phones.overlap(list(subject.phones)))
        if subject.emails:
            conditions.append(people.c.email.in_(subject.emails))
        if not conditions:
            return []
        query = select(people).where(people.c.tenant_id == tenant_id, or_(*conditions))
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def known_elsewhere(self, tenant_id: str, lead_ids: tuple[str, ...]) -> bool:
        """Whether one of the lead ids belongs to another clinic."""
        if not lead_ids:
            return False
        query = select(func.count()).where(people.c.lead_id.in_(lead_ids), people.c.tenant_id != tenant_id)
        return bool((await self.session.execute(query)).scalar_one())


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: Consent) -> bool:
        """False: an entry with this id is in the ledger already."""
        result = await self.session.execute(insert(consents).values(**entry.__dict__).on_conflict_do_nothing())
        return bool(getattr(result, "rowcount", 0))

    async def of_person(self, tenant_id: str, keys: list[str], lead_ids: list[str]) -> list[Consent]:
        conditions = [consents.c.person_key.in_(keys)]
        if lead_ids:
            conditions.append(consents.c.lead_id.in_(lead_ids))
        query = (
            select(consents)
            .where(consents.c.tenant_id == tenant_id, or_(*conditions))
            .order_by(consents.c.at, consents.c.id)
        )
        return [_consent(r) for r in (await self.session.execute(query)).all()]

    async def page(self, tenant_id: str, *, purpose: str | None, limit: int, offset: int) -> tuple[list[Consent], int]:
        mine = [consents.c.tenant_id == tenant_id]
        if purpose:
            mine.append(consents.c.purpose == purpose)
        total = (await self.session.execute(select(func.count()).select_from(consents).where(*mine))).scalar_one()
        query = select(consents).where(*mine).order_by(consents.c.at.desc(), consents.c.id).limit(limit).offset(offset)
        return [_consent(r) for r in (await self.session.execute(query)).all()], total

    async def forget_texts(self, tenant_id: str, keys: list[str], lead_ids: list[str]) -> int:
        """Erasure: the ledger keeps that consent was given or withdrawn (proof), not the contact data."""
        conditions = [consents.c.person_key.in_(keys)]
        if lead_ids:
            conditions.append(consents.c.lead_id.in_(lead_ids))
        result = await self.session.execute(
            update(consents).where(consents.c.tenant_id == tenant_id, or_(*conditions)).values(phone=None, email=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: SubjectRequest, services: tuple[str, ...]) -> None:
        await self.session.execute(
            subject_requests.insert().values(
                id=request.id,
                tenant_id=request.tenant_id,
                kind=request.kind,
                status=request.status,
                subject=request.subject.as_dict(),
                details=request.details,
                corrections=request.corrections,
                requested_by=request.requested_by,
                requested_at=request.requested_at,
                due_at=request.due_at,
            )
        )
        for service in services:
            await self.session.execute(
                request_parts.insert().values(request_id=request.id, service=service, status="pending")
            )

    async def get(self, tenant_id: str | None, request_id: str, *, lock: bool = False) -> SubjectRequest | None:
        query = select(subject_requests).where(subject_requests.c.id == request_id)
        if tenant_id is not None:
            query = query.where(subject_requests.c.tenant_id == tenant_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return _request(row, await self.parts(request_id))

    async def parts(self, request_id: str) -> list[Part]:
        query = select(request_parts).where(request_parts.c.request_id == request_id).order_by(request_parts.c.service)
        return [_part(r) for r in (await self.session.execute(query)).all()]

    async def page(
        self, tenant_id: str, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[SubjectRequest], int]:
        mine = [subject_requests.c.tenant_id == tenant_id]
        if status:
            mine.append(subject_requests.c.status == status)
        total = (
            await self.session.execute(select(func.count()).select_from(subject_requests).where(*mine))
        ).scalar_one()
        query = (
            select(subject_requests)
            .where(*mine)
            .order_by(subject_requests.c.requested_at.desc(), subject_requests.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        ids = [r.id for r in rows]
        by_request: dict[str, list[Part]] = {i: [] for i in ids}
        if ids:
            part_rows = await self.session.execute(
                select(request_parts).where(request_parts.c.request_id.in_(ids)).order_by(request_parts.c.service)
            )
            for p in part_rows.all():
                by_request[p.request_id].append(_part(p))
        return [_request(r, by_request[r.id]) for r in rows], total

    async def save_part(self, request_id: str, part: Part) -> None:
        stmt = insert(request_parts).values(
            request_id=request_id,
            service=part.service,
            status=part.status,
            object_key=part.object_key,
            counts=part.counts,
            retained=part.retained,
            at=part.at,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[request_parts.c.request_id, request_parts.c.service],
                set_={k: stmt.excluded[k] for k in ("status", "object_key", "counts", "retained", "at")},
            )
        )

    async def save(self, request: SubjectRequest) -> None:
        await self.session.execute(
            update(subject_requests)
            .where(subject_requests.c.id == request.id)
            .values(
                status=request.status,
                completed_at=request.completed_at,
                archive_key=request.archive_key,
                archive_sha256=request.archive_sha256,
                resolution=request.resolution,
            )
        )

    async def expired_archives(self, tenant_id: str, before: datetime) -> list[tuple[str, str]]:
        query = select(subject_requests.c.id, subject_requests.c.archive_key).where(
            subject_requests.c.tenant_id == tenant_id,
            subject_requests.c.archive_key.is_not(None),
            subject_requests.c.completed_at < before,
        )
        return [(r.id, r.archive_key) for r in (await self.session.execute(query)).all()]

    async def drop_archive(self, request_id: str) -> None:
        await self.session.execute(
            update(subject_requests).where(subject_requests.c.id == request_id).values(archive_key=None)
        )


class LinkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, link: ExportLink) -> None:
        await self.session.execute(export_links.insert().values(**link.__dict__))

    async def get_for_use(self, link_id: str) -> ExportLink | None:
        query = select(export_links).where(export_links.c.id == link_id).with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return ExportLink(
            row.id, row.tenant_id, row.request_id, row.created_by, row.created_at, row.expires_at, row.used_at
        )

    async def mark_used(self, link_id: str, at: datetime) -> bool:
        result = await self.session.execute(
            update(export_links)
            .where(export_links.c.id == link_id, export_links.c.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: ReadEntry) -> None:
        await self.session.execute(insert(read_audit).values(**entry.__dict__).on_conflict_do_nothing())

    async def page(
        self,
        tenant_id: str,
        *,
        record_kind: str | None,
        record_id: str | None,
        actor_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ReadEntry], int]:
        mine = [read_audit.c.tenant_id == tenant_id]
        if record_kind:
            mine.append(read_audit.c.record_kind == record_kind)
        if record_id:
            mine.append(read_audit.c.record_id == record_id)
        if actor_id:
            mine.append(read_audit.c.actor_id == actor_id)
        total = (await self.session.execute(select(func.count()).select_from(read_audit).where(*mine))).scalar_one()
        query = (
            select(read_audit)
            .where(*mine)
            .order_by(read_audit.c.at.desc(), read_audit.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        return [
            ReadEntry(r.id, r.tenant_id, r.actor_id, r.record_kind, r.record_id, r.purpose, r.path, r.at) for r in rows
        ], total

    async def remove_before(self, tenant_id: str, before: datetime) -> int:
        result = await self.session.execute(
            delete(read_audit).where(read_audit.c.tenant_id == tenant_id, read_audit.c.at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, rule: RetentionRule) -> None:
        stmt = insert(retention_rules).values(**rule.__dict__)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[retention_rules.c.tenant_id, retention_rules.c.kind],
                set_={"days": stmt.excluded.days, "updated_at": stmt.excluded.updated_at},
            )
        )

    async def of_clinic(self, tenant_id: str) -> list[RetentionRule]:
        query = select(retention_rules).where(retention_rules.c.tenant_id == tenant_id).order_by(retention_rules.c.kind)
        return [
            RetentionRule(r.tenant_id, r.kind, r.days, r.updated_at) for r in (await self.session.execute(query)).all()
        ]

    async def all(self) -> list[RetentionRule]:
        query = select(retention_rules).order_by(retention_rules.c.tenant_id, retention_rules.c.kind)
        return [
            RetentionRule(r.tenant_id, r.kind, r.days, r.updated_at) for r in (await self.session.execute(query)).all()
        ]

    async def record_run(
        self, run_id: str, tenant_id: str, kind: str, removed: int, cutoff: datetime, at: datetime
    ) -> None:
        await self.session.execute(
            insert(retention_runs)
            .values(id=run_id, tenant_id=tenant_id, kind=kind, removed=removed, cutoff=cutoff, at=at)
            .on_conflict_do_nothing()  # a run reported twice is recorded once
        )

    async def runs(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        mine = retention_runs.c.tenant_id == tenant_id
        total = (await self.session.execute(select(func.count()).select_from(retention_runs).where(mine))).scalar_one()
        query = (
            select(retention_runs)
            .where(mine)
            .order_by(retention_runs.c.at.desc(), retention_runs.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()], total


class KeyRepository:
    """The key store: wrapped per-person keys, live until shredded."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live(self, tenant_id: str, keys: list[str]) -> dict[str, tuple[str, str]]:
        """person key -> (key id, wrapped key) of the live keys."""
        query = select(person_keys.c.person_key, person_keys.c.key_id, person_keys.c.wrapped_key).where(
            person_keys.c.tenant_id == tenant_id,
            person_keys.c.person_key.in_(keys),
            person_keys.c.shredded_at.is_(None),
        )
        return {r.person_key: (r.key_id, r.wrapped_key) for r in (await self.session.execute(query)).all()}

    async def add(self, rows: list[dict[str, Any]]) -> None:
        """New keys; one another process made meanwhile for the same person wins (read `live` again)."""
        await self.session.execute(
            insert(person_keys)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[person_keys.c.tenant_id, person_keys.c.person_key],
                index_where=person_keys.c.shredded_at.is_(None),
            )
        )

    async def by_ids(self, tenant_id: str, key_ids: list[str]) -> dict[str, str | None]:
        """key id -> wrapped key (None once shredded); ids of another clinic are not found."""
        query = select(person_keys.c.key_id, person_keys.c.wrapped_key).where(
            person_keys.c.tenant_id == tenant_id, person_keys.c.key_id.in_(key_ids)
        )
        return {r.key_id: r.wrapped_key for r in (await self.session.execute(query)).all()}

    async def shred(self, tenant_id: str, keys: list[str], at: datetime) -> list[str]:
        """The live keys of these people destroyed (the wrapped key overwritten); their ids."""
        result = await self.session.execute(
            update(person_keys)
            .where(
                person_keys.c.tenant_id == tenant_id,
                person_keys.c.person_key.in_(keys),
                person_keys.c.shredded_at.is_(None),
            )
            .values(wrapped_key=None, shredded_at=at)
            .returning(person_keys.c.key_id)
        )
        return [str(r[0]) for r in result.all()]
