"""Queries on the clinic's intake forms and the receipts of submissions (de-duplication by provider id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain.intake import Form
from leads.models import forms, intake_receipts

_FIELDS = (
    "id",
    "tenant_id",
    "key",
    "kind",
    "name",
    "secret_hash",
    "source",
    "treatment",
    "country",
    "timezone",
    "locale",
    "active",
    "created_by",
    "created_at",
)


def _form(row: Any) -> Form:
    return Form(**{f: getattr(row, f) for f in _FIELDS})


class FormRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, form: Form) -> None:
        await self.session.execute(forms.insert().values({f: getattr(form, f) for f in _FIELDS}))

    async def get(self, tenant_id: str, form_id: str, *, for_update: bool = False) -> Form | None:
        query = select(forms).where(forms.c.tenant_id == tenant_id, forms.c.id == form_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _form(row) if row else None

    async def by_key(self, key: str) -> Form | None:
        """A public submission names its form by key; the form says which clinic it belongs to.

        The one lookup not filtered by a caller's tenant: a public request has no token. The key is unique
        across clinics and unguessable, and every query after it uses the form's tenant_id.
        """
        row = (await self.session.execute(select(forms).where(forms.c.key == key))).first()
        return _form(row) if row else None

    async def all(self, tenant_id: str) -> list[Form]:
        query = select(forms).where(forms.c.tenant_id == tenant_id).order_by(forms.c.created_at, forms.c.id)
        return [_form(r) for r in (await self.session.execute(query)).all()]

    async def save(self, form: Form) -> None:
        await self.session.execute(
            update(forms)
            .where(forms.c.tenant_id == form.tenant_id, forms.c.id == form.id)
            .values(
                name=form.name,
                active=form.active,
                source=form.source,
                treatment=form.treatment,
                secret_hash=form.secret_hash,
            )
        )


class ReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, tenant_id: str, channel: str, external_id: str, *, payload: dict[str, Any], at: datetime
    ) -> bool:
        """Record a submission by its provider id; False when it was already recorded (a redelivery).

        A concurrent delivery of the same id waits on the primary key until the first transaction ends.
        """
        inserted = await self.session.execute(
            insert(intake_receipts)
            .values(tenant_id=tenant_id, channel=channel, external_id=external_id, payload=payload, received_at=at)
            .on_conflict_do_nothing(index_elements=["tenant_id", "channel", "external_id"])
            .returning(intake_receipts.c.external_id)
        )
        return inserted.first() is not None

    async def attach(
        self, tenant_id: str, channel: str, external_id: str, *, lead_id: str, request_id: str | None
    ) -> None:
        await self.session.execute(
            update(intake_receipts)
            .where(
                intake_receipts.c.tenant_id == tenant_id,
                intake_receipts.c.channel == channel,
                intake_receipts.c.external_id == external_id,
            )
            .values(lead_id=lead_id, request_id=request_id)
        )

    async def get(self, tenant_id: str, channel: str, external_id: str) -> dict[str, Any] | None:
        row = (
            await self.session.execute(
                select(intake_receipts).where(
                    intake_receipts.c.tenant_id == tenant_id,
                    intake_receipts.c.channel == channel,
                    intake_receipts.c.external_id == external_id,
                )
            )
        ).first()
        return dict(row._mapping) if row else None
