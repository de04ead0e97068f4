"""Use cases: who is this (candidates among leads and patients), and merging a duplicate lead."""

from __future__ import annotations

from contracts.leads import LeadMergedV1
from kit.auth import Principal
from leads import documents, phones
from leads.domain import leads as rules
from leads.domain import matching, merging
from leads.domain.errors import InvalidLead
from leads.domain.leads import Lead, search_key
from leads.services.common import audit, lead_updated, load_lead, now
from leads.services.work import LeadsWork, LeadsWorkFactory

#: The most candidates a match answers with.
MAX_CANDIDATES = 20


def query_phone_variants(raw: str, country: str, *, field: str = "phone") -> list[str]:
    """The phone in E.164 (kit's one phone rule, see leads.phones) and its ninth-digit variants."""
    return sorted(set(matching.phone_variants(phones.to_e164(raw, country, field=field))))


def check_name_query(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    if len(search_key(name)) < 2:
        raise InvalidLead("Give at least 2 letters of the name.", field="name")
    return rules.clean_name(name)


async def find_candidates(
    uow: LeadsWork,
    tenant_id: str,
    contact: matching.Contact,
    *,
    kinds: tuple[str, ...] = ("lead", "patient"),
    by_name: bool = True,
) -> list[matching.Match]:
    """Scored candidates (best first, at least SHOW) among the clinic's visible leads and its patients.
    `by_name=False` looks only for shared phones, e-mails and CPFs (the name still counts in the score)."""
    variants = sorted({v for p in contact.phones for v in matching.phone_variants(p)})
    repo = uow.matching
    found = await repo.candidates(tenant_id, phones=variants, email=contact.email, cpf=contact.cpf, kinds=kinds)
    if contact.name and by_name:
        key = search_key(contact.name)
        fuzzy = kinds
        if "lead" in kinds:
            # The names sorting next to the key come cheap from a b-tree; the trigram walk (typos, word order,
            # missing words) over a large clinic's leads is paid only when none of them is the same name.
            alike = await repo.leads_named_alike(tenant_id, key)
            found += alike
            if any(matching.same_name(contact.name, c.name) for c in alike):
                fuzzy = tuple(k for k in kinds if k != "lead")
        if fuzzy:
            found += await repo.nearest_names(tenant_id, key, kinds=fuzzy)
    return matching.rank(contact, found)[:MAX_CANDIDATES]


async def match(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    *,
    phone: str | None,
    email: str | None,
    cpf: str | None,
    name: str | None,
) -> list[matching.Match]:
    """Candidates for a person given by any of phone, e-mail, CPF and name (phones in the clinic's country)."""
    if not any(v and v.strip() for v in (phone, email, cpf, name)):
        raise InvalidLead("Give at least one of phone, email, cpf or name.", field="phone")
    all_phones = tuple(query_phone_variants(phone, principal.country)) if phone and phone.strip() else ()
    contact = matching.Contact(
        name=check_name_query(name),
        phones=all_phones,
        email=rules.clean_email(email),
        cpf=documents.clean_cpf(cpf),
    )
    async with uow_factory() as uow:
        return await find_candidates(uow, principal.tenant_id, contact)


async def merge(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, other_id: str) -> Lead:
    """Merge `other_id` into `lead_id` (the survivor): history moves, empty fields fill, the other is hidden."""
    if lead_id == other_id:
        raise InvalidLead("A lead cannot be merged into itself.", field="other_id")
    tenant_id = principal.tenant_id
    async with uow_factory() as uow:
        repo = uow.leads
        history = uow.matching
        await history.lock_pair(tenant_id, lead_id, other_id)
        survivor = await load_lead(uow, tenant_id, lead_id, field="lead_id")
        other = await load_lead(uow, tenant_id, other_id, field="other_id")
        at = now()
        after, diff = merging.merge(survivor, other, actor=principal.user_id, now=at)
        await uow.requests.move(tenant_id, other.id, survivor.id)
        moved = await history.move_history(tenant_id, other.id, survivor.id)
        if diff:
            await repo.save(survivor, after)
        await repo.hide(other, merged_into=survivor.id)
        await audit(
            uow,
            tenant_id,
            entity="lead",
            entity_id=survivor.id,
            lead_id=survivor.id,
            action="merged",
            actor_id=principal.user_id,
            changes={
                "merged_lead_id": other.id,
                "merged_lead": rules.auditable(other),
                "filled": rules.audit_diff(diff),
                "moved": moved,
            },
            at=at,
        )
        await audit(
            uow,
            tenant_id,
            entity="lead",
            entity_id=other.id,
            lead_id=other.id,
            action="merged_into",
            actor_id=principal.user_id,
            changes={"merged_into": [None, survivor.id]},
            at=at,
        )
        uow.publish(
            LeadMergedV1(lead_id=survivor.id, merged_lead_id=other.id, merged_by=principal.user_id, merged_at=at),
            tenant_id=tenant_id,
        )
        if diff:
            uow.publish(lead_updated(after, diff, by=principal.user_id, at=at), tenant_id=tenant_id)
        await uow.commit()
    return after
