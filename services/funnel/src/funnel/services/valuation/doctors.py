"""The diagnostic doctor: the least busy one gets a complete profile; records the valuation; the staff directory."""

from __future__ import annotations

from datetime import datetime

from contracts import Event, EventMeta
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.quotes import ValuationAssignedV1, ValuationRecordedV1
from funnel.clock import Clock
from funnel.domain import InvalidFunnel
from funnel.domain import valuation as rules
from funnel.domain.valuation import Forbidden, Process
from funnel.repository.valuation import Row, ValuationRepository
from funnel.services.valuation.common import Env, _base, _columns, _load
from funnel.services.work import FunnelWork
from kit.auth import Principal


# --- the doctor ------------------------------------------------------------------------------------
async def _assign(work: FunnelWork, repo: ValuationRepository, row: Row, p: Process, now: datetime) -> bool:
    """To the diagnostic doctor with the fewest open valuations now (ties: idle longest). False: no doctor yet."""
    loads = [
        rules.DoctorLoad(d.user_id, d.open_valuations, d.last_active_at) for d in await repo.doctors(row.tenant_id)
    ]
    chosen = rules.choose_doctor(loads)
    if chosen is None:
        await repo.log(row.tenant_id, row.id, now, "waiting", "funnel", "no diagnostic doctor in the clinic yet")
        return False
    await _give(work, repo, row, p, chosen.user_id, chosen.open_valuations, by=rules.SYSTEM, now=now)
    return True


async def _give(
    work: FunnelWork, repo: ValuationRepository, row: Row, p: Process, doctor_id: str, open_count: int, *, by: str,
    now: datetime,
) -> None:  # fmt: skip
    p, said = rules.step(p, rules.DoctorAssigned(doctor_id))
    if not said:
        return
    await repo.set(row.id, **_columns(p), updated_at=now)
    await repo.touch_staff(row.tenant_id, doctor_id, now)
    text = f"valuation assigned to {doctor_id} ({open_count} open before)"
    await repo.log(row.tenant_id, row.id, now, "assigned", by, text)
    work.publish(
        ValuationAssignedV1(
            **_base(row), doctor_id=doctor_id, previous_doctor_id=row.doctor_id, open_valuations=open_count,
            assigned_by=by, assigned_at=now,
        ),
        tenant_id=row.tenant_id,
    )  # fmt: skip


async def assign_doctor(env: Env, principal: Principal, valuation_id: str, doctor_id: str) -> None:
    """A manager moves the valuation to another diagnostic doctor."""
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        member = await repo.staff(principal.tenant_id, doctor_id)
        if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
            raise InvalidFunnel("Not an active diagnostic doctor of this clinic.", field="doctor_id")
        loads = {d.user_id: d.open_valuations for d in await repo.doctors(principal.tenant_id)}
        await _give(work, repo, row, p, doctor_id, loads.get(doctor_id, 0), by=principal.user_id, now=now)
        await work.commit()


async def record_valuation(
    env: Env, principal: Principal, valuation_id: str, *, summary: str, grafts: int | None, notes: str | None
) -> None:
    text = rules.clean_text(summary, field_name="summary", required=True)
    note = rules.clean_text(notes, field_name="notes", max_length=8000)
    if grafts is not None and not 0 < grafts <= 10000:
        raise InvalidFunnel("Grafts is a count between 1 and 10000.", field="grafts")
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        member = await repo.staff(principal.tenant_id, principal.user_id)
        if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
            raise Forbidden("Only a diagnostic doctor records a valuation.", field="doctor_id")
        if row.doctor_id not in (None, principal.user_id) and not principal.has("funnel:admin"):
            raise Forbidden("This valuation is assigned to another doctor.", field="doctor_id")
        if p.doctor_id is None and p.state == rules.VALUING:
            await _give(work, repo, row, p, principal.user_id, 0, by=principal.user_id, now=now)
            row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, _ = rules.step(p, rules.ValuationRecorded(principal.user_id))
        await repo.set(row.id, **_columns(p), summary=text, grafts=grafts, notes=note, recorded_at=now, updated_at=now)
        await repo.touch_staff(principal.tenant_id, principal.user_id, now)
        await repo.log(row.tenant_id, row.id, now, "valuation", principal.user_id, f"valuation recorded: {text}")
        work.publish(
            ValuationRecordedV1(
                **_base(row), doctor_id=principal.user_id, summary=text or "", grafts=grafts, recorded_at=now
            ),
            tenant_id=row.tenant_id,
        )
        await work.commit()


# --- staff directory ---------------------------------------------------------------------------
async def handle_staff(uow: FunnelWork, event: Event, meta: EventMeta, *, clock: Clock) -> None:
    """Keep who is a diagnostic doctor; a doctor who joins takes the valuations that waited for one."""
    assert isinstance(event, StaffCreatedV1 | StaffUpdatedV1 | StaffDeactivatedV1)
    repo = uow.valuation
    active = event.active and not isinstance(event, StaffDeactivatedV1)
    await repo.put_staff(
        meta.tenant_id, event.user_id, full_name=event.full_name, roles=list(event.roles), active=active,
        changed_at=event.changed_at,
    )  # fmt: skip
    if not rules.is_diagnostic_doctor(event.roles, active):
        return
    now = clock()
    for row in await repo.waiting_for_doctor(meta.tenant_id):
        _, p = await _load(repo, meta.tenant_id, row.id)
        if not await _assign(uow, repo, row, p, now):
            return
