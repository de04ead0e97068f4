"""Thin controllers of privacy: decode, one use case, a schema (docs/privacy.md)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from contracts.claims import CRM_READ, CRM_WRITE, PRIVACY_MANAGE, PRIVACY_READ
from kit.objects import ObjectStore
from kit.paging import Page
from kit.web import AuthRequest, Limit, Offset, requires
from privacy import services as cases
from privacy.schemas import (
    ClinicIn,
    ClinicOut,
    ConsentIn,
    ConsentOut,
    EnsuredKeysOut,
    EnsureKeysIn,
    ExportLinkOut,
    PersonConsentOut,
    ReadIn,
    ReadOut,
    RequestIn,
    RequestOut,
    ResolveIn,
    RetentionIn,
    RetentionList,
    RetentionOut,
    RetentionRunOut,
    UnwrapKeysIn,
    UnwrappedKeysOut,
)
from privacy.services import PrivacyWorkFactory

Text = Annotated[str | None, Parameter(max_length=320)]


def _consent_input(data: ConsentIn) -> cases.ConsentInput:
    return cases.ConsentInput(
        purpose=data.purpose,
        channel=data.channel,
        source=data.source,
        lead_id=data.lead_id,
        patient_id=data.patient_id,
        phone=data.phone,
        email=data.email,
        text=data.text,
    )


class ConsentController(Controller):
    path = "/api/v1/privacy/consents"
    tags = ["privacy"]

    @post("/", status_code=HTTP_201_CREATED, guards=[requires(CRM_WRITE)], summary="Record that a person gave consent")
    async def give(self, request: AuthRequest, data: ConsentIn, uow: PrivacyWorkFactory) -> ConsentOut:
        return ConsentOut.of(await cases.record_consent(uow, request.user, _consent_input(data), granted=True))

    @post(
        "/withdraw",
        status_code=HTTP_201_CREATED,
        guards=[requires(CRM_WRITE)],
        summary="Record that a person withdrew consent (takes effect at once)",
    )
    async def withdraw(self, request: AuthRequest, data: ConsentIn, uow: PrivacyWorkFactory) -> ConsentOut:
        return ConsentOut.of(await cases.record_consent(uow, request.user, _consent_input(data), granted=False))

    @get("/person", guards=[requires(CRM_READ)], summary="One person's consent as it stands, and its history")
    async def person(
        self,
        request: AuthRequest,
        uow: PrivacyWorkFactory,
        lead_id: Text = None,
        patient_id: Text = None,
        phone: Text = None,
        email: Text = None,
    ) -> PersonConsentOut:
        found = await cases.person_consents(
            uow, request.user, lead_id=lead_id, patient_id=patient_id, phone=phone, email=email
        )
        return PersonConsentOut(
            person_key=found.person_key,
            current=[ConsentOut.of(c) for _, c in sorted(found.current.items())],
            history=[ConsentOut.of(c) for c in found.entries],
        )

    @get("/", guards=[requires(PRIVACY_READ)], summary="The clinic's consent ledger, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: PrivacyWorkFactory,
        purpose: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ConsentOut]:
        found, total = await cases.list_consents(uow, request.user, purpose=purpose, limit=limit, offset=offset)
        return Page.of([ConsentOut.of(c) for c in found], total=total, limit=limit, offset=offset)


class RequestController(Controller):
    """Data subject requests: the clinic's admin or privacy officer (privacy:manage)."""

    path = "/api/v1/privacy/requests"
    tags = ["privacy"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        guards=[requires(PRIVACY_MANAGE)],
        summary="Open an access, export, correction or erasure request",
    )
    async def open(self, request: AuthRequest, data: RequestIn, uow: PrivacyWorkFactory) -> RequestOut:
        s = data.subject
        opened = await cases.open_request(
            uow,
            request.user,
            cases.RequestInput(
                kind=data.kind,
                lead_ids=s.lead_ids,
                patient_ids=s.patient_ids,
                phones=s.phones,
                emails=s.emails,
                cpfs=s.cpfs,
                details=data.details,
                corrections=data.corrections,
            ),
        )
        return RequestOut.of(opened, datetime.now(UTC))

    @get("/", guards=[requires(PRIVACY_READ)], summary="The clinic's requests, newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: PrivacyWorkFactory,
        status: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[RequestOut]:
        found, total = await cases.list_requests(uow, request.user, status=status, limit=limit, offset=offset)
        at = datetime.now(UTC)
        return Page.of([RequestOut.of(r, at) for r in found], total=total, limit=limit, offset=offset)

    @get("/{request_id:str}", guards=[requires(PRIVACY_READ)], summary="A request and each service's progress")
    async def get(self, request: AuthRequest, uow: PrivacyWorkFactory, request_id: str) -> RequestOut:
        return RequestOut.of(await cases.get_request(uow, request.user, request_id), datetime.now(UTC))

    @post(
        "/{request_id:str}/resolve",
        status_code=HTTP_200_OK,
        guards=[requires(PRIVACY_MANAGE)],
        summary="Close a correction as done, or reject a request with the reason",
    )
    async def resolve(
        self, request: AuthRequest, uow: PrivacyWorkFactory, request_id: str, data: ResolveIn
    ) -> RequestOut:
        done = await cases.resolve_request(uow, request.user, request_id, data.status, data.resolution)
        return RequestOut.of(done, datetime.now(UTC))

    @post(
        "/{request_id:str}/link",
        status_code=HTTP_201_CREATED,
        guards=[requires(PRIVACY_MANAGE)],
        summary="A signed, expiring, single-use link to the export archive",
    )
    async def link(self, request: AuthRequest, uow: PrivacyWorkFactory, request_id: str) -> ExportLinkOut:
        issuer: cases.ExportLinks = request.app.state.export_links
        url, expires = await cases.mint_export_link(uow, request.user, request_id, issuer)
        return ExportLinkOut(url=url, expires_at=expires)


class PublicExportController(Controller):
    """Public: the signed link is the credential; it opens the archive once."""

    path = "/public/privacy/exports"
    tags = ["privacy"]

    @get("/", summary="Download an export archive through its link (once)", security=[{}])
    async def download(
        self,
        request: Request[Any, Any, Any],
        uow: PrivacyWorkFactory,
        objects: ObjectStore,
        token: Annotated[str, Parameter(query="token", min_length=10, max_length=2000)],
    ) -> Response[bytes]:
        issuer: cases.ExportLinks = request.app.state.export_links
        data, filename = await cases.download_export(uow, objects, issuer, token)
        return Response(
            data,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


class AuditController(Controller):
    path = "/api/v1/privacy/audit"
    tags = ["privacy"]

    @post(
        "/reads",
        status_code=HTTP_201_CREATED,
        guards=[requires(CRM_READ)],
        summary="Record that the caller opened a personal record, and why",
    )
    async def add(self, request: AuthRequest, data: ReadIn, uow: PrivacyWorkFactory) -> ReadOut:
        entry = await cases.record_read(
            uow,
            request.user,
            cases.ReadInput(
                record_kind=data.record_kind, record_id=data.record_id, purpose=data.purpose, path=data.path
            ),
        )
        return ReadOut.of(entry)

    @get("/reads", guards=[requires(PRIVACY_READ)], summary="Who opened which record, when and why; newest first")
    async def list(
        self,
        request: AuthRequest,
        uow: PrivacyWorkFactory,
        record_kind: Text = None,
        record_id: Text = None,
        actor_id: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ReadOut]:
        found, total = await cases.list_reads(
            uow,
            request.user,
            record_kind=record_kind,
            record_id=record_id,
            actor_id=actor_id,
            limit=limit,
            offset=offset,
        )
        return Page.of([ReadOut.of(e) for e in found], total=total, limit=limit, offset=offset)


class SettingsController(Controller):
    path = "/api/v1/privacy"
    tags = ["privacy"]

    @get("/clinic", guards=[requires(PRIVACY_READ)], summary="The clinic's country, data region, law, days to answer")
    async def clinic(self, request: AuthRequest, uow: PrivacyWorkFactory) -> ClinicOut:
        return ClinicOut.of(await cases.get_clinic(uow, request.user))

    @put("/clinic", guards=[requires(PRIVACY_MANAGE)], summary="Set the clinic's country (region) or days to answer")
    async def set_clinic(self, request: AuthRequest, uow: PrivacyWorkFactory, data: ClinicIn) -> ClinicOut:
        clinic = await cases.set_clinic(uow, request.user, country=data.country, response_days=data.response_days)
        return ClinicOut.of(clinic)

    @get("/retention", guards=[requires(PRIVACY_READ)], summary="The clinic's retention rules")
    async def retention(self, request: AuthRequest, uow: PrivacyWorkFactory) -> RetentionList:
        return RetentionList([RetentionOut.of(r) for r in await cases.list_retention(uow, request.user)])

    @put("/retention/{kind:str}", guards=[requires(PRIVACY_MANAGE)], summary="Keep this kind of data N days")
    async def set_retention(
        self, request: AuthRequest, uow: PrivacyWorkFactory, kind: str, data: RetentionIn
    ) -> RetentionOut:
        return RetentionOut.of(await cases.set_retention(uow, request.user, kind, data.days))

    @get("/retention/report", guards=[requires(PRIVACY_READ)], summary="What the retention timer removed")
    async def report(
        self, request: AuthRequest, uow: PrivacyWorkFactory, limit: Limit = 50, offset: Offset = 0
    ) -> Page[RetentionRunOut]:
        rows, total = await cases.retention_report(uow, request.user, limit=limit, offset=offset)
        return Page.of([RetentionRunOut.of(r) for r in rows], total=total, limit=limit, offset=offset)


def _key_store_caller(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The services' shared bearer token (PERSONAL_KEYS_TOKEN); staff tokens do not open the key store."""
    expected = connection.app.state.settings.personal_keys_token
    if not expected or connection.app.state.key_vault is None:
        raise ServiceUnavailableException("The key store is not configured (PERSONAL_KEYS_TOKEN, SEALING_KEYS).")
    given = connection.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise NotAuthorizedException("A service token is required.")


class KeyStoreController(Controller):
    """Internal: the per-person keys of crypto-shredding (kit.personal). Not routed by the gateway; the network
    policy lets only the services' pods reach it (deploy/k8s)."""

    path = "/internal/keys"
    tags = ["internal"]
    guards = [_key_store_caller]
    include_in_schema = False

    @post("/ensure", status_code=HTTP_200_OK)
    async def ensure(
        self, request: Request[Any, Any, Any], data: EnsureKeysIn, uow: PrivacyWorkFactory
    ) -> EnsuredKeysOut:
        vault: cases.KeyVault = request.app.state.key_vault
        return EnsuredKeysOut.of(await cases.ensure_keys(uow, vault, data.tenant_id, data.person_keys))

    @post("/unwrap", status_code=HTTP_200_OK)
    async def unwrap(
        self, request: Request[Any, Any, Any], data: UnwrapKeysIn, uow: PrivacyWorkFactory
    ) -> UnwrappedKeysOut:
        vault: cases.KeyVault = request.app.state.key_vault
        return UnwrappedKeysOut.of(await cases.unwrap_keys(uow, vault, data.tenant_id, data.key_ids))
