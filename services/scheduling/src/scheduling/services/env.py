"""What every use case needs: the unit of work, the clock, and the maker of patient links."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from contracts.people import Person as PersonV1
from kit import links
from scheduling.domain.appointments import Person
from scheduling.domain.clock import Clock
from scheduling.domain.errors import Invalid, LinkInvalid, NotFound
from scheduling.domain.setup import Branch, ClinicPolicy, Procedure, Professional, public_holidays
from scheduling.domain.slots import BusySeconds
from scheduling.services.catalog import Catalog, CatalogCache, load_catalog
from scheduling.services.work import SchedulingWork, SchedulingWorkFactory

PUBLIC_PREFIX = "/public/scheduling"


@dataclass(frozen=True)
class Links:
    secret: str
    public_url: str
    ttl_seconds: int

    def url(self, purpose: str, page: str, *, subject: str, tenant_id: str, data: dict[str, Any] | None = None) -> str:
        token = links.mint(
            self.secret, purpose=purpose, subject=subject, tenant_id=tenant_id, ttl_seconds=self.ttl_seconds, data=data
        )
        return f"{self.public_url.rstrip('/')}{PUBLIC_PREFIX}/{page}?token={token}"

    def token(self, purpose: str, *, subject: str, tenant_id: str, data: dict[str, Any] | None = None) -> str:
        return links.mint(
            self.secret, purpose=purpose, subject=subject, tenant_id=tenant_id, ttl_seconds=self.ttl_seconds, data=data
        )

    def verify(self, token: str, purpose: str) -> links.PatientLink:
        try:
            return links.verify(self.secret, token, purpose=purpose)
        except links.LinkError as exc:
            raise LinkInvalid(str(exc).capitalize() + ".", field="token") from exc

    def appointment_urls(self, appointment_id: str, tenant_id: str) -> dict[str, str]:
        return {
            kind: self.url(kind, kind, subject=appointment_id, tenant_id=tenant_id)
            for kind in ("confirm", "reschedule")
        } | {"ics": self.url("calendar", "calendar.ics", subject=appointment_id, tenant_id=tenant_id)}


@dataclass(frozen=True)
class Env:
    uow: SchedulingWorkFactory
    clock: Clock
    links: Links
    #: The api processes' set-up snapshots (None in the worker and in tests: always read from the database).
    catalog: CatalogCache | None = None


async def catalog_of(env: Env, tenant_id: str) -> Catalog:
    async def load() -> Catalog:
        async with env.uow() as uow:
            return await load_catalog(uow, tenant_id)

    return await (env.catalog.get(tenant_id, load) if env.catalog is not None else load())


async def busy_of(
    env: Env, tenant_id: str, professional_ids: list[str], start: datetime, end: datetime
) -> dict[str, BusySeconds]:
    """What occupies these professionals in [start, end): from the api process's cache when it has it."""

    async def load(ids: list[str]) -> dict[str, BusySeconds]:
        async with env.uow() as uow:
            return await uow.appointments.busy_seconds(tenant_id, ids, start, end)

    if env.catalog is None:
        return await load(professional_ids)
    return await env.catalog.busy(tenant_id, professional_ids, int(start.timestamp()), int(end.timestamp()), load)


def setup_changed(env: Env, tenant_id: str) -> None:
    """After a set-up commit: this process stops using its snapshot at once (the others on the NOTIFY)."""
    if env.catalog is not None:
        env.catalog.forget(tenant_id)


async def policy_of(uow: SchedulingWork, tenant_id: str, country: str = "BR") -> ClinicPolicy:
    return await uow.setup.policy(tenant_id) or ClinicPolicy(country=country)


def holidays_for(policy: ClinicPolicy, branch: Branch, days: list[date]) -> dict[date, str]:
    out: dict[date, str] = {}
    for year in sorted({d.year for d in days}):
        out |= public_holidays(policy.country, year, branch.subdivision)
    return out


async def load_branch(uow: SchedulingWork, tenant_id: str, branch_id: str) -> Branch:
    branch = await uow.setup.branch(tenant_id, branch_id)
    if branch is None or not branch.active:
        raise NotFound("No such branch in this clinic.", field="branch_id")
    return branch


async def load_procedure(uow: SchedulingWork, tenant_id: str, procedure_id: str) -> Procedure:
    procedure = await uow.setup.procedure(tenant_id, procedure_id)
    if procedure is None or not procedure.active:
        raise NotFound("No such procedure in this clinic.", field="procedure_id")
    return procedure


async def load_professional(uow: SchedulingWork, tenant_id: str, professional_id: str) -> Professional:
    professional = await uow.setup.professional(tenant_id, professional_id)
    if professional is None or not professional.active:
        raise NotFound("No such professional in this clinic.", field="professional_id")
    return professional


def person_v1(p: Person) -> PersonV1:
    return PersonV1(**asdict(p))


def check_person(person: Person) -> None:
    if not (person.phone or person.email):
        raise Invalid("The patient needs a phone or an email, so reminders can reach them.", field="person.phone")
