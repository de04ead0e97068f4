"""The clinic's `lost_leads` retention (privacy's rule, docs/privacy.md "How long"): leads keeps its copy of the
rule and its worker's timer anonymises the leads lost for longer, as an erasure does, and reports each run."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import EventMeta
from contracts.leads import LeadsRetentionAppliedV1
from contracts.privacy import RetentionSetV1
from kit.context import new_id
from leads.domain.retention import LOST_LEADS, cutoff
from leads.services.work import LeadsWork, LeadsWorkFactory

#: Leads anonymised per transaction: a clinic with many lost leads is done in several, reported once.
BATCH = 500


async def remember_rule(uow: LeadsWork, event: RetentionSetV1, meta: EventMeta) -> None:
    """privacy's `retention.set`: the clinic's rule, kept for the timer (every kind; leads applies `lost_leads`)."""
    await uow.retention.remember(meta.tenant_id, event.kind, event.days, event.at)


async def retention_round(uow_factory: LeadsWorkFactory, *, at: datetime | None = None, batch: int = BATCH) -> int:
    """Worker timer: for each clinic with a `lost_leads` rule, anonymise the leads lost (NOT_INTERESTED) since
    before its cutoff and not linked to a patient, and report the run (`leads.retention.applied`, which privacy
    adds to the clinic's retention report; one per clinic and run, also when nothing was due). Returns how many
    leads were anonymised."""
    at = at or datetime.now(UTC)
    async with uow_factory() as uow:
        rules = await uow.retention.rules(LOST_LEADS)
    total = 0
    for tenant_id, days in rules:
        before = cutoff(at, days)
        counts: dict[str, int] = {}
        removed = 0
        while True:
            async with uow_factory() as uow:
                ids = await uow.retention.lost_before(tenant_id, before, limit=batch)
                if ids:
                    for kind, n in (await uow.retention.anonymise(tenant_id, ids)).items():
                        counts[kind] = counts.get(kind, 0) + n
                    removed += len(ids)
                last = len(ids) < batch
                if last:  # the report goes with the last batch (a round that fails half-way is finished by the next)
                    uow.publish(
                        LeadsRetentionAppliedV1(
                            run_id=new_id(), kind=LOST_LEADS, removed=removed, counts=counts, cutoff=before, at=at
                        ),
                        tenant_id=tenant_id,
                    )
                await uow.commit()
            if last:
                break
        total += removed
    return total
