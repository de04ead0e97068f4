"""telephony's answers to data subject requests: its part of an export, its erasure (docs/privacy.md).

The export is the person's calls (with their stored provider events), their recordings' metadata, who opened
those recordings and telephony's contact copy. The erasure takes the caller off the calls and their events,
forgets the contact copy and deletes the recordings from the object store, except those the clinic's rule holds
(`hold_on_erasure_days`, e.g. customer-service recordings a law makes it keep): those stay, counted under
`retained`. Times, dispositions, tracking numbers and their sources stay, so the clinic's counts do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from contracts import Event
from contracts.privacy import Subject
from kit import privacy
from kit.messaging import Handler
from kit.objects import ObjectStore
from telephony.domain import REC_DELETED, erased_event, held_on_erasure
from telephony.services.common import now
from telephony.services.work import TelephonyWork

SERVICE = "telephony"


class SubjectRecords:
    """kit.privacy's `SubjectRecords` over telephony's unit of work and the object store of the recordings."""

    def __init__(self, work: TelephonyWork, store: ObjectStore) -> None:
        self.work = work
        self.store = store

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        return await self.work.privacy.export(tenant_id, subject)

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        repo, at = self.work.privacy, now()
        found = await repo.lock_calls(tenant_id, subject)
        hold_days = await repo.hold_on_erasure_days(tenant_id)
        recordings = await repo.recordings_of(tenant_id, [call_id for call_id, _ in found]) if found else []
        held = [r for r in recordings if held_on_erasure(r, hold_days, at)]
        gone = [r for r in recordings if r not in held and r.state != REC_DELETED]
        for rec in gone:
            if rec.object_key:  # S3 deletes are idempotent; a failure rolls the erasure back and it is redelivered
                await self.store.delete(rec.object_key)
        await repo.delete_recordings([r.id for r in gone], at)
        kept_calls = {r.call_id for r in held}
        for call_id, events in found:
            await repo.anonymise_call(call_id, [erased_event(e) for e in events], keep_recording=call_id in kept_calls)
        contacts = await repo.forget_contacts(tenant_id, subject)
        return (
            {"calls": len(found), "recordings": len(gone), "contacts": contacts},
            {"recordings": len(held)},
        )


def handlers(store: Callable[[], ObjectStore]) -> dict[type[Event], Handler]:
    """The privacy consumer's handlers (kit.privacy.answers over telephony's SubjectRecords)."""
    # the worker opens TelephonyUnitOfWork (telephony.app)
    return privacy.answers(SERVICE, lambda uow: SubjectRecords(cast(TelephonyWork, uow), store()), store)
