"""HTTP: matching candidates, merging duplicates, patients, linking and converting leads."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from contracts.claims import CRM_READ, CRM_WRITE
from kit.web import AuthRequest, Limit, Offset, requires
from leads.schemas.leads import LeadOut
from leads.schemas.matching import (
    CandidateOut,
    ConversionOut,
    LinkIn,
    MatchIn,
    MatchOut,
    MergeIn,
    PatientIn,
    PatientOut,
    PatientPage,
    PatientRegisteredOut,
)
from leads.services import matching as cases
from leads.services import patients as patient_cases
from leads.services.work import LeadsWorkFactory


class MatchingController(Controller):
    path = "/api/v1/leads"
    tags = ["matching"]

    @post("/match", guards=[requires(CRM_READ)], status_code=HTTP_200_OK, summary="Who is this? Candidates")
    async def match(self, request: AuthRequest, data: MatchIn, uow: LeadsWorkFactory) -> MatchOut:
        """Leads and patients that may be this person, best first, each with a score (0..100) and the reasons.
        Same CPF 100, same e-mail 60, same phone 50, same name 30, similar name 15; 70 and above is the same
        person; a phone shared with a clearly different first name (a relative) stays below 70."""
        found = await cases.match(uow, request.user, phone=data.phone, email=data.email, cpf=data.cpf, name=data.name)
        return MatchOut(candidates=[CandidateOut.of(m) for m in found])

    @post(
        "/{lead_id:uuid}/merge",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Merge a duplicate into this lead",
    )
    async def merge(self, request: AuthRequest, lead_id: UUID, data: MergeIn, uow: LeadsWorkFactory) -> LeadOut:
        """`other_id` is merged into this lead, which stays: the other's requests, activities, status history
        and audit entries move here, this lead's empty fields are filled from the other, phones are joined and
        the other lead is hidden with `merged_into` set. Refused for two different CPFs (409)."""
        return LeadOut.of(await cases.merge(uow, request.user, str(lead_id), data.other_id))

    @post(
        "/{lead_id:uuid}/link",
        guards=[requires(CRM_WRITE)],
        status_code=HTTP_200_OK,
        summary="Link the lead to an existing patient",
    )
    async def link(self, request: AuthRequest, lead_id: UUID, data: LinkIn, uow: LeadsWorkFactory) -> LeadOut:
        """Publishes `lead.converted`. 409 when the lead is already linked to another patient."""
        return LeadOut.of(await patient_cases.link(uow, request.user, str(lead_id), data.patient_id))

    @post("/{lead_id:uuid}/convert", guards=[requires(CRM_WRITE)], summary="Convert the lead into a patient")
    async def convert(self, request: AuthRequest, lead_id: UUID, uow: LeadsWorkFactory) -> Response[ConversionOut]:
        """Creates the patient record from the lead (201) — or, when the clinic already has this patient (same
        CPF, or same e-mail and name), links the lead to it (200, `created: false`). Publishes
        `lead.converted`; 409 when the lead is already converted."""
        done = await patient_cases.convert(uow, request.user, str(lead_id))
        return Response(
            ConversionOut(
                patient=PatientOut.of(done.patient),
                created=done.created,
                matched_by=done.matched_by,
                lead=LeadOut.of(done.lead),
            ),
            status_code=HTTP_201_CREATED if done.created else HTTP_200_OK,
        )

    @post("/patients", guards=[requires(CRM_WRITE)], status_code=HTTP_201_CREATED, summary="Register a patient")
    async def register_patient(
        self, request: AuthRequest, data: PatientIn, uow: LeadsWorkFactory
    ) -> Response[PatientRegisteredOut]:
        """Answers with the patient and `candidates`: leads sharing a phone (any ninth-digit form), the e-mail or
        the CPF, scored and best first, to link with `POST /api/v1/leads/{id}/link`. 409 when a patient of the
        clinic already has the CPF."""
        done = await patient_cases.register(
            uow,
            request.user,
            patient_cases.NewPatient(
                name=data.name,
                phones=data.all_phones(),
                email=data.email,
                cpf=data.cpf,
                birth_date=data.birth_date,
                city=data.city,
                locale=data.locale,
            ),
        )
        body = PatientRegisteredOut(
            **msgspec.structs.asdict(PatientOut.of(done.patient)),
            candidates=[CandidateOut.of(m) for m in done.candidates],
        )
        return Response(body, status_code=HTTP_201_CREATED, headers={"Location": f"/api/v1/leads/patients/{body.id}"})

    @get("/patients", guards=[requires(CRM_READ)], summary="Find patients")
    async def find_patients(
        self,
        request: AuthRequest,
        uow: LeadsWorkFactory,
        q: Annotated[str | None, Parameter(description="a name, phone, e-mail or CPF", max_length=200)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> PatientPage:
        items, total, capped = await patient_cases.find_patients(uow, request.user, q, limit=limit, offset=offset)
        return PatientPage(
            items=[PatientOut.of(p) for p in items],
            total=total,
            total_capped=capped,
            limit=limit,
            offset=offset,
        )

    @get("/patients/{patient_id:uuid}", guards=[requires(CRM_READ)], summary="One patient")
    async def patient(self, request: AuthRequest, patient_id: UUID, uow: LeadsWorkFactory) -> PatientOut:
        return PatientOut.of(await patient_cases.get_patient(uow, request.user, str(patient_id)))
