"""Patient pages behind signed links: online booking, confirm, reschedule, the .ics file, anamnesis."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import msgspec

from contracts.scheduling import AnamnesisSubmittedV1
from kit.context import new_id
from kit.links import PatientLink
from scheduling import calendar
from scheduling.domain import anamnesis as forms
from scheduling.domain import appointments as life
from scheduling.domain.appointments import Appointment, Person
from scheduling.domain.errors import Conflict, Invalid, LinkInvalid, NotFound
from scheduling.domain.setup import Branch
from scheduling.domain.slots import window
from scheduling.services import booking, waitlist
from scheduling.services.env import Env, load_branch, load_procedure, person_v1
from scheduling.services.inputs import AnamnesisData, OnlineBookData, OnlineHoldData, RescheduleData

CLINIC_LINK = "clinic"


def booking_link(env: Env, tenant_id: str, person: Person | None) -> tuple[str, str]:
    """A `book` link: for one person (their data prefilled) or clinic-wide for the website."""
    data = {k: v for k, v in asdict(person).items() if v is not None} if person else {}
    subject = (person.lead_id or person.patient_id or "person") if person else CLINIC_LINK
    token = env.links.token("book", subject=subject, tenant_id=tenant_id, data=data)
    return f"{env.links.public_url.rstrip('/')}/public/scheduling/booking?token={token}", token


def _verify(env: Env, token: str, purpose: str) -> PatientLink:
    return env.links.verify(token, purpose)


async def booking_page(env: Env, token: str) -> dict[str, Any]:
    link = _verify(env, token, "book")
    async with env.uow() as uow:
        setup = uow.setup
        branches = [b for b in await setup.branches(link.tenant_id) if b.active]
        procedures = [p for p in await setup.procedures(link.tenant_id) if p.active]
        professionals = [p for p in await setup.professionals(link.tenant_id) if p.active]
        person = _person_of(link)
        # A prepaid procedure is open to this link only once a confirmed payment waits for it (the page shows
        # the others locked with the reason, before the patient picks a time).
        unlocked = {
            p.id
            for p in procedures
            if not p.prepayment_required
            or (person is not None and await uow.entitlements.find_unused(link.tenant_id, person, p.id) is not None)
        }
    return {
        "person": {k: link.data.get(k) for k in ("name", "phone", "email")} if link.data else None,
        "branches": [{"id": b.id, "name": b.name, "address": b.address, "timezone": b.timezone} for b in branches],
        "procedures": [
            {
                "id": p.id,
                "name": p.name,
                "duration_minutes": p.duration_minutes,
                "specialty": p.specialty,
                "price_reference": p.price_reference,
                "currency": p.currency,
                "prepayment_required": p.prepayment_required,
                "unlocked": p.id in unlocked,
                "branch_ids": list(p.branch_ids) or [b.id for b in branches],
            }
            for p in procedures
        ],
        "professionals": [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "specialties": list(p.specialties),
                "branch_ids": list(p.branch_ids),
            }
            for p in professionals
        ],
    }


async def booking_slots(
    env: Env,
    token: str,
    branch_id: str,
    procedure_id: str,
    professional_id: str | None,
    start: date | None,
    end: date | None,
) -> booking.Available:
    link = _verify(env, token, "book")
    return await booking.availability(
        env,
        link.tenant_id,
        branch_id=branch_id,
        procedure_id=procedure_id,
        professional_id=professional_id,
        start=start,
        end=end,
        public=True,
    )


def _person_of(link: PatientLink) -> Person | None:
    """The person a `book` link was made for (None: a clinic-wide link)."""
    known = link.data or {}
    if not (known.get("lead_id") or known.get("patient_id")):
        return None
    return Person(**{k: known.get(k) for k in ("lead_id", "patient_id", "name", "phone", "email", "locale")})


async def _free_professional(env: Env, tenant_id: str, branch_id: str, procedure_id: str, starts_at: Any) -> str:
    """Whoever is free at that time (the page showed it as free for someone)."""
    local_day = starts_at.astimezone(starts_at.tzinfo).date()
    found = await booking.availability(
        env,
        tenant_id,
        branch_id=branch_id,
        procedure_id=procedure_id,
        professional_id=None,
        start=local_day - timedelta(days=1),
        end=local_day + timedelta(days=1),
        public=True,
    )
    free = [s.professional_id for s, _ in found.slots() if s.starts_at == starts_at]
    if not free:
        raise Conflict("That time is no longer free; pick another.", field="starts_at", slug="slot-taken")
    return free[0]


async def hold_online(env: Env, token: str, data: OnlineHoldData) -> dict[str, Any]:
    """Keep the time the patient picked while they fill in their details (the clinic's hold minutes)."""
    link = _verify(env, token, "book")
    by = f"patient-link:{link.link_id}"
    if data.replaces is not None:
        async with env.uow() as uow:
            old = await uow.appointments.get(link.tenant_id, str(data.replaces))
        if old is not None and old.status == life.HELD and old.booked_by == by:
            await booking.release_hold(env, link.tenant_id, old.id)
    professional_id = (
        str(data.professional_id)
        if data.professional_id
        else await _free_professional(env, link.tenant_id, str(data.branch_id), str(data.procedure_id), data.starts_at)
    )
    held = await booking.hold(
        env,
        link.tenant_id,
        branch_id=str(data.branch_id),
        procedure_id=str(data.procedure_id),
        professional_id=professional_id,
        starts_at=data.starts_at,
        person=_person_of(link) or Person(),
        held_by=by,
        source="online_booking",
    )
    return {
        "hold_id": held.id,
        "professional_id": held.professional_id,
        "starts_at": held.starts_at.isoformat(),
        "expires_at": held.hold_expires_at.isoformat() if held.hold_expires_at else None,
    }


def _links_of(env: Env, a: Appointment) -> dict[str, str]:
    return {f"{k}_url": v for k, v in env.links.appointment_urls(a.id, a.tenant_id).items()}


async def book_online(env: Env, token: str, data: OnlineBookData) -> dict[str, Any]:
    link = _verify(env, token, "book")
    known = link.data or {}
    name = known.get("name") or data.name
    if not name:
        raise Invalid("Tell us your name.", field="name")
    person = Person(
        lead_id=known.get("lead_id"),
        patient_id=known.get("patient_id"),
        name=name,
        phone=known.get("phone") or data.phone,
        email=known.get("email") or data.email,
        locale=known.get("locale") or data.locale,
    )
    if not (person.phone or person.email):
        raise Invalid("Tell us a phone number (or an email) for the reminders.", field="phone")
    professional_id = str(data.professional_id) if data.professional_id else None
    if professional_id is None:
        professional_id = await _free_professional(
            env, link.tenant_id, str(data.branch_id), str(data.procedure_id), data.starts_at
        )
    async with env.uow() as uow:
        if data.hold_id is not None:
            held = await uow.appointments.get(link.tenant_id, str(data.hold_id))
            if held is None or held.booked_by != f"patient-link:{link.link_id}":
                raise NotFound("That hold has lapsed; pick the time again.", field="hold_id")
        a, branch, professional, procedure = await booking.book_in(
            env,
            uow,
            link.tenant_id,
            branch_id=str(data.branch_id),
            procedure_id=str(data.procedure_id),
            professional_id=professional_id,
            starts_at=data.starts_at,
            person=person,
            source="online_booking",
            booked_by=f"patient-link:{link.link_id}",
            hold_id=str(data.hold_id) if data.hold_id else None,
        )
        await uow.commit()
    return {
        "appointment_id": a.id,
        "status": a.status,
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat(),
        "timezone": branch.timezone,
        "branch": branch.name,
        "professional": professional.name,
        "procedure": procedure.name,
        **_links_of(env, a),
    }


async def _appointment_of(env: Env, link: PatientLink) -> dict[str, Any]:
    async with env.uow() as uow:
        a = await uow.appointments.get(link.tenant_id, link.subject)
        if a is None or a.status == life.HELD:
            raise NotFound("This appointment no longer exists.", field="token")
        branch = await load_branch(uow, link.tenant_id, a.branch_id)
        procedure = await load_procedure(uow, link.tenant_id, a.procedure_id)
        professional = await uow.setup.professional(link.tenant_id, a.professional_id)
    return {
        "appointment": a,
        "view": {
            "appointment_id": a.id,
            "status": a.status,
            "starts_at": a.starts_at.isoformat(),
            "ends_at": a.ends_at.isoformat(),
            "timezone": branch.timezone,
            "local_start": a.starts_at.astimezone(branch.zone).strftime("%Y-%m-%d %H:%M"),
            "branch": branch.name,
            "address": branch.address,
            "procedure": procedure.name,
            "professional": professional.name if professional else None,
            "confirmed_at": a.confirmed_at.isoformat() if a.confirmed_at else None,
        },
        "branch": branch,
        "procedure": procedure,
    }


async def appointment_page(env: Env, token: str, purpose: str) -> dict[str, Any]:
    found = await _appointment_of(env, _verify(env, token, purpose))
    return found["view"]  # type: ignore[no-any-return]


async def confirm(env: Env, token: str) -> dict[str, Any]:
    link = _verify(env, token, "confirm")
    await booking.confirm(env, link.tenant_id, link.subject, via="link", by=None)
    return await appointment_page(env, token, "confirm")


async def reschedule_page(env: Env, token: str, start: date | None, end: date | None) -> dict[str, Any]:
    link = _verify(env, token, "reschedule")
    found = await _appointment_of(env, link)
    a: Appointment = found["appointment"]
    branch: Branch = found["branch"]
    today = env.clock.now().astimezone(branch.zone).date()
    first, _ = window(start, end, today)  # checks the dates asked for
    found_times = await booking.availability(
        env,
        link.tenant_id,
        branch_id=a.branch_id,
        procedure_id=a.procedure_id,
        professional_id=None,
        start=first,
        end=end or first + timedelta(days=13),
        public=True,
    )
    return {
        **found["view"],
        "free_slots": [
            {
                "starts_at": s.starts_at.isoformat(),
                "local": s.starts_at.astimezone(branch.zone).strftime("%Y-%m-%d %H:%M"),
                "professional_id": p.id,
                "professional": p.name,
            }
            for s, p in found_times.slots()
        ],
    }


async def reschedule(env: Env, token: str, data: RescheduleData) -> dict[str, Any]:
    link = _verify(env, token, "reschedule")
    await booking.reschedule(
        env,
        link.tenant_id,
        link.subject,
        starts_at=data.starts_at,
        professional_id=str(data.professional_id) if data.professional_id else None,
        by=f"patient-link:{link.link_id}",
    )
    return await appointment_page(env, token, "reschedule")


async def ics(env: Env, token: str) -> tuple[bytes, str]:
    link = _verify(env, token, "calendar")
    found = await _appointment_of(env, link)
    a: Appointment = found["appointment"]
    view = found["view"]
    body = calendar.appointment_ics(
        uid=a.id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        summary=f"{view['procedure']} — {view['branch']}",
        location=view["address"] or view["branch"],
        description=f"{view['procedure']} with {view['professional']}",
        stamp=a.updated_at,
        cancelled=a.status == life.CANCELLED,
    )
    return body, f"appointment-{a.id}.ics"


async def accept_offer(env: Env, token: str) -> dict[str, Any]:
    link = _verify(env, token, "book")
    hold_id = str(link.data.get("hold_id", ""))
    if not hold_id:
        raise LinkInvalid("This link is not a waitlist offer.", field="token")
    a = await waitlist.accept(env, link.tenant_id, link.subject, hold_id, link.link_id)
    return {"appointment_id": a.id, "status": a.status, "starts_at": a.starts_at.isoformat(), **_links_of(env, a)}


# --- anamnesis ------------------------------------------------------------------------------
async def anamnesis_page(env: Env, token: str) -> dict[str, Any]:
    link = _verify(env, token, "anamnesis")
    qid = str(link.data.get("questionnaire_id", ""))
    async with env.uow() as uow:
        q = await uow.setup.questionnaire(link.tenant_id, qid)
        if q is None:
            raise NotFound("This questionnaire no longer exists.", field="token")
        repo = uow.anamnesis
        done = await repo.for_appointment(link.tenant_id, link.subject)
        draft = await repo.draft(link.tenant_id, link.subject, q.id)
    signed = any(s.questionnaire_id == q.id for s in done)
    return {
        "questionnaire_id": q.id,
        "name": q.name,
        "sections": q.sections,
        "consent_text": forms.CONSENT_TEXT,
        "already_signed": signed,
        # Where the patient stopped, on whichever phone: the page takes it unless this phone kept newer answers.
        "draft": None
        if draft is None or signed
        else {"answers": forms.kept_answers(q.sections, draft.answers), "saved_at": draft.saved_at.isoformat()},
    }


async def save_anamnesis_draft(env: Env, token: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Keep the answers so far (docs/patient-pages.md); a signed form takes no more."""
    link = _verify(env, token, "anamnesis")
    qid = str(link.data.get("questionnaire_id", ""))
    now = env.clock.now()
    async with env.uow() as uow:
        q = await uow.setup.questionnaire(link.tenant_id, qid)
        if q is None:
            raise NotFound("This questionnaire no longer exists.", field="token")
        checked = forms.draft_answers(q.sections, answers, len(msgspec.json.encode(answers)))
        repo = uow.anamnesis
        if any(s.questionnaire_id == q.id for s in await repo.for_appointment(link.tenant_id, link.subject)):
            raise Conflict("This questionnaire was already signed for this visit.", slug="already-signed")
        await repo.save_draft(link.tenant_id, link.subject, q.id, checked, now)
        await uow.commit()
    return {"saved_at": now.isoformat()}


async def submit_anamnesis(env: Env, token: str, data: AnamnesisData, *, ip: str, user_agent: str) -> dict[str, Any]:
    link = _verify(env, token, "anamnesis")
    qid = str(link.data.get("questionnaire_id", ""))
    sig = data.signature
    forms.check_signature(sig.kind, sig.typed_name, sig.consent, sig.image)
    now = env.clock.now()
    async with env.uow() as uow:
        q = await uow.setup.questionnaire(link.tenant_id, qid)
        if q is None:
            raise NotFound("This questionnaire no longer exists.", field="token")
        a = await uow.appointments.get(link.tenant_id, link.subject)
        if a is None:
            raise NotFound("This appointment no longer exists.", field="token")
        answers = forms.validate_answers(q.sections, data.answers)
        document, digest = forms.signed_document(
            questionnaire_id=q.id,
            questionnaire_name=q.name,
            sections=q.sections,
            appointment_id=a.id,
            answers=answers,
            kind=sig.kind,
            typed_name=sig.typed_name.strip() if sig.typed_name else None,
            image=sig.image,
            signed_at=now,
        )
        submission_id = new_id()
        await uow.anamnesis.drop_draft(link.tenant_id, a.id, q.id)
        await uow.anamnesis.add(
            {
                "id": submission_id,
                "tenant_id": link.tenant_id,
                "appointment_id": a.id,
                "questionnaire_id": q.id,
                "lead_id": a.person.lead_id,
                "patient_id": a.person.patient_id,
                "signed_document": document,
                "sha256": digest,
                "signature_kind": sig.kind,
                "signed_at": now,
                "ip": ip,
                "user_agent": user_agent,
            }
        )
        uow.publish(
            AnamnesisSubmittedV1(
                appointment_id=a.id,
                person=person_v1(a.person),
                submission_id=submission_id,
                questionnaire_id=q.id,
                sha256=digest,
                signed_at=now,
            ),
            tenant_id=link.tenant_id,
        )
        await uow.commit()
    return {"submission_id": submission_id, "sha256": digest, "signed_at": now.isoformat()}


def submission_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "appointment_id": row.appointment_id,
        "questionnaire_id": row.questionnaire_id,
        "signed_at": row.signed_at.isoformat(),
        "sha256": row.sha256,
        "signature_kind": row.signature_kind,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "document": msgspec.json.decode(row.signed_document),
    }
