"""What every use case of the valuation process shares: the patient links, the environment, the row <->
process mapping, the staff checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from contracts import Event
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.leads import LeadAssignedV1, LeadCreatedV1, LeadUpdatedV1, RequestCreatedV1
from contracts.people import Person
from funnel.clock import Clock
from funnel.domain import InvalidFunnel, NotFound
from funnel.domain.valuation import LinkInvalid, Process
from funnel.repository.valuation import Row, ValuationRepository
from funnel.services.work import FunnelWorkFactory
from kit import links
from kit.auth import Principal
from kit.objects import ObjectStore

#: Patient-link purposes of this process (kit.links).
PHOTOS_LINK = "valuation-photos"
QUOTE_LINK = "quote"
PUBLIC_PREFIX = "/public/funnel"
STAFF_EVENTS: tuple[type[Event], ...] = (StaffCreatedV1, StaffUpdatedV1, StaffDeactivatedV1)
#: leads' events the process follows: the lead's contact copy, and the requests that open a valuation.
LEAD_EVENTS: tuple[type[Event], ...] = (LeadCreatedV1, LeadUpdatedV1, LeadAssignedV1, RequestCreatedV1)


@dataclass(frozen=True)
class Links:
    secret: str
    public_url: str
    ttl_seconds: int

    def url(self, purpose: str, page: str, *, subject: str, tenant_id: str) -> str:
        token = links.mint(
            self.secret, purpose=purpose, subject=subject, tenant_id=tenant_id, ttl_seconds=self.ttl_seconds
        )
        return f"{self.public_url.rstrip('/')}{PUBLIC_PREFIX}/{page}?token={token}"

    def verify(self, token: str, purpose: str) -> links.PatientLink:
        try:
            return links.verify(self.secret, token, purpose=purpose)
        except links.LinkError as exc:
            raise LinkInvalid(str(exc).capitalize() + "; ask the clinic for a new one.") from exc
        except ValueError as exc:  # a secret too short is a configuration error, not the patient's
            raise RuntimeError(str(exc)) from exc


@dataclass(frozen=True)
class Env:
    uow: FunnelWorkFactory
    clock: Clock
    links: Links
    store: ObjectStore


def _process(row: Row) -> Process:
    return Process(
        state=row.state, photos=frozenset(), doctor_id=row.doctor_id, quote_id=row.quote_id, answer=row.answer,
        reminders=row.reminders, reminder_due_at=row.reminder_due_at, waiting_for=row.waiting_for,
        waiting_since=row.waiting_since, answer_due_at=row.answer_due_at,
    )  # fmt: skip


def _columns(p: Process) -> dict[str, Any]:
    return {
        "state": p.state, "doctor_id": p.doctor_id, "quote_id": p.quote_id, "answer": p.answer,
        "reminders": p.reminders, "reminder_due_at": p.reminder_due_at, "waiting_for": p.waiting_for,
        "waiting_since": p.waiting_since, "answer_due_at": p.answer_due_at,
    }  # fmt: skip


def _person(row: Row) -> Person:
    return Person(lead_id=row.lead_id, name=row.name, phone=row.phone, email=row.email, locale=row.locale)


def _base(row: Row) -> dict[str, Any]:
    return {"valuation_id": row.id, "person": _person(row), "agent_id": row.agent_id}


async def _load(repo: ValuationRepository, tenant_id: str, valuation_id: str) -> tuple[Row, Process]:
    row = await repo.get(tenant_id, valuation_id, lock=True)
    if row is None:
        raise NotFound("No such valuation.", field="valuation_id")
    photos = await repo.photos(row.id)
    return row, replace(_process(row), photos=frozenset(p.slot for p in photos))


async def _active_staff(repo: ValuationRepository, tenant_id: str, user_id: str, field: str) -> Row:
    member = await repo.staff(tenant_id, user_id)
    if member is None or not member.active:
        raise InvalidFunnel("Not an active staff member of this clinic.", field=field)
    return member


def _may_read(principal: Principal) -> bool:
    return principal.has("funnel:read")


async def _reader(repo: ValuationRepository, principal: Principal, row: Row) -> None:
    """Funnel staff read every process; a diagnostic doctor reads the ones assigned to them."""
    if _may_read(principal) or row.doctor_id == principal.user_id:
        return
    raise NotFound("No such valuation.", field="valuation_id")


def _upload_url(env: Env, row: Row) -> str:
    return _photos_url(env.links, row)


def _photos_url(links_: Links, row: Row) -> str:
    return links_.url(PHOTOS_LINK, "photos", subject=row.id, tenant_id=row.tenant_id)
