"""The clinic's set-up: policy, branches, professionals, procedures, questionnaires."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.setup import Branch, ClinicPolicy, Procedure, Professional
from scheduling.models import branches, clinic_policies, procedures, professionals, questionnaires
from scheduling.repository import rows

#: LISTEN/NOTIFY channel of set-up changes (payload: the tenant id): api processes drop their cached copy.
SETUP_CHANNEL = "scheduling_setup"


class SetupRepository:
    """Every write also NOTIFYs SETUP_CHANNEL in its transaction (delivered at commit), so no api replica keeps
    serving availability from a set-up that changed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _changed(self, tenant_id: str) -> None:
        await self.session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": SETUP_CHANNEL, "payload": tenant_id}
        )

    async def policy(self, tenant_id: str) -> ClinicPolicy | None:
        r = (
            await self.session.execute(select(clinic_policies).where(clinic_policies.c.tenant_id == tenant_id))
        ).first()
        if r is None:
            return None
        return ClinicPolicy(
            country=r.country,
            reminder_offsets=tuple(r.reminder_offsets),
            refund_cutoff_hours=r.refund_cutoff_hours,
            hold_minutes=r.hold_minutes,
            slot_step_minutes=r.slot_step_minutes,
            min_lead_minutes=r.min_lead_minutes,
            anamnesis_questionnaire_id=r.anamnesis_questionnaire_id,
        )

    async def save_policy(self, tenant_id: str, policy: ClinicPolicy, now: datetime) -> None:
        values = {
            "country": policy.country,
            "reminder_offsets": list(policy.reminder_offsets),
            "refund_cutoff_hours": policy.refund_cutoff_hours,
            "hold_minutes": policy.hold_minutes,
            "slot_step_minutes": policy.slot_step_minutes,
            "min_lead_minutes": policy.min_lead_minutes,
            "anamnesis_questionnaire_id": policy.anamnesis_questionnaire_id,
            "updated_at": now,
        }
        stmt = insert(clinic_policies).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))
        await self._changed(tenant_id)

    # --- branches ---
    async def add_branch(self, b: Branch, now: datetime) -> None:
        await self.session.execute(branches.insert().values(**asdict(b), created_at=now))
        await self._changed(b.tenant_id)

    async def save_branch(self, b: Branch) -> None:
        values = {k: v for k, v in asdict(b).items() if k not in ("id", "tenant_id")}
        await self.session.execute(
            update(branches).where(branches.c.tenant_id == b.tenant_id, branches.c.id == b.id).values(values)
        )
        await self._changed(b.tenant_id)

    async def branch(self, tenant_id: str, branch_id: str) -> Branch | None:
        q = select(branches).where(branches.c.tenant_id == tenant_id, branches.c.id == branch_id)
        r = (await self.session.execute(q)).first()
        return rows.branch(r) if r else None

    async def branches(self, tenant_id: str) -> list[Branch]:
        q = select(branches).where(branches.c.tenant_id == tenant_id).order_by(branches.c.name)
        return [rows.branch(r) for r in (await self.session.execute(q)).all()]

    # --- professionals ---
    async def add_professional(self, p: Professional, now: datetime) -> None:
        await self.session.execute(professionals.insert().values(**rows.professional_values(p), created_at=now))
        await self._changed(p.tenant_id)

    async def save_professional(self, p: Professional) -> None:
        values = {k: v for k, v in rows.professional_values(p).items() if k not in ("id", "tenant_id")}
        await self.session.execute(
            update(professionals)
            .where(professionals.c.tenant_id == p.tenant_id, professionals.c.id == p.id)
            .values(values)
        )
        await self._changed(p.tenant_id)

    async def professional(self, tenant_id: str, professional_id: str) -> Professional | None:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id, professionals.c.id == professional_id)
        r = (await self.session.execute(q)).first()
        return rows.professional(r) if r else None

    async def professional_of_user(self, tenant_id: str, user_id: str) -> Professional | None:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id, professionals.c.user_id == user_id)
        r = (await self.session.execute(q)).first()
        return rows.professional(r) if r else None

    async def professionals(self, tenant_id: str, branch_id: str | None = None) -> list[Professional]:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id)
        if branch_id is not None:
            q = q.where(professionals.c.branch_ids.contains([branch_id]))
        q = q.order_by(professionals.c.name)
        return [rows.professional(r) for r in (await self.session.execute(q)).all()]

    # --- procedures ---
    async def add_procedure(self, p: Procedure, now: datetime) -> None:
        values = asdict(p)
        values["branch_ids"] = list(p.branch_ids)
        await self.session.execute(procedures.insert().values(**values, created_at=now))
        await self._changed(p.tenant_id)

    async def save_procedure(self, p: Procedure) -> None:
        values = {k: v for k, v in asdict(p).items() if k not in ("id", "tenant_id")}
        values["branch_ids"] = list(p.branch_ids)
        await self.session.execute(
            update(procedures).where(procedures.c.tenant_id == p.tenant_id, procedures.c.id == p.id).values(values)
        )
        await self._changed(p.tenant_id)

    async def procedure(self, tenant_id: str, procedure_id: str) -> Procedure | None:
        q = select(procedures).where(procedures.c.tenant_id == tenant_id, procedures.c.id == procedure_id)
        r = (await self.session.execute(q)).first()
        return rows.procedure(r) if r else None

    async def procedures(self, tenant_id: str) -> list[Procedure]:
        q = select(procedures).where(procedures.c.tenant_id == tenant_id).order_by(procedures.c.name)
        return [rows.procedure(r) for r in (await self.session.execute(q)).all()]

    # --- questionnaires ---
    async def add_questionnaire(
        self, *, id: str, tenant_id: str, name: str, sections: list[dict[str, Any]], user_id: str, now: datetime
    ) -> None:
        await self.session.execute(
            questionnaires.insert().values(
                id=id, tenant_id=tenant_id, name=name, sections=sections, created_by=user_id, created_at=now
            )
        )

    async def questionnaire(self, tenant_id: str, questionnaire_id: str, *, live: bool = False) -> Any | None:
        """`live`: not archived (the clinic's set-up); without it, archived ones too (links already sent)."""
        q = select(questionnaires).where(
            questionnaires.c.tenant_id == tenant_id, questionnaires.c.id == questionnaire_id
        )
        if live:
            q = q.where(questionnaires.c.archived_at.is_(None))
        return (await self.session.execute(q)).first()

    async def questionnaires(self, tenant_id: str) -> list[Any]:
        q = (
            select(questionnaires)
            .where(questionnaires.c.tenant_id == tenant_id, questionnaires.c.archived_at.is_(None))
            .order_by(questionnaires.c.name)
        )
        return list((await self.session.execute(q)).all())

    async def update_questionnaire(
        self, tenant_id: str, questionnaire_id: str, *, now: datetime, **values: Any
    ) -> None:
        await self.session.execute(
            update(questionnaires)
            .where(questionnaires.c.tenant_id == tenant_id, questionnaires.c.id == questionnaire_id)
            .values(**values, updated_at=now)
        )
