"""The export archive behind a signed, expiring, single-use link."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from kit import links
from kit.auth import Principal
from kit.objects import ObjectNotFound, ObjectStore
from privacy.domain import (
    ExportLink,
    Gone,
    InvalidPrivacy,
    LinkInvalid,
    NotFound,
    check_link_usable,
    clean_id,
)
from privacy.services.common import EXPORT_LINK, PrivacyWorkFactory, now

log = logging.getLogger(__name__)


# --- the export link ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportLinks:
    secret: str
    public_url: str
    ttl_seconds: int

    def url(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/public/privacy/exports?token={token}"


async def mint_export_link(
    uow: PrivacyWorkFactory, principal: Principal, request_id: str, issuer: ExportLinks
) -> tuple[str, datetime]:
    clean_id(request_id, field="request_id")
    async with uow() as work:
        request = await work.requests.get(principal.tenant_id, request_id)
        if request is None:
            raise NotFound("No such request in this clinic.", field="request_id")
        if not request.gathers:
            raise InvalidPrivacy("Only access and export requests have an archive.", field="request_id")
        if request.archive_key is None:
            raise Gone("The archive is not ready yet: every service has not answered.", field="request_id")
        at = now()
        token = links.mint(
            issuer.secret,
            purpose=EXPORT_LINK,
            subject=request.id,
            tenant_id=principal.tenant_id,
            ttl_seconds=issuer.ttl_seconds,
        )
        claims = links.verify(issuer.secret, token, purpose=EXPORT_LINK)
        expires = datetime.fromtimestamp(claims.expires_at, UTC)
        await work.links.add(
            ExportLink(claims.link_id, principal.tenant_id, request.id, principal.user_id, at, expires)
        )
        await work.commit()
    return issuer.url(token), expires


async def download_export(
    uow: PrivacyWorkFactory, store: ObjectStore, issuer: ExportLinks, token: str
) -> tuple[bytes, str]:
    """The archive, once: the link is signed (forged -> 403), expiring and single-use (410 after)."""
    try:
        claims = links.verify(issuer.secret, token, purpose=EXPORT_LINK)
    except links.LinkError as exc:
        if "expired" in str(exc):
            raise Gone("This export link has expired; ask for a new one.") from exc
        raise LinkInvalid("This export link is not valid.") from exc
    async with uow() as work:
        link = check_link_usable(await work.links.get_for_use(claims.link_id), now())
        if link.request_id != claims.subject or link.tenant_id != claims.tenant_id:
            raise LinkInvalid("This export link is not valid.")
        request = await work.requests.get(link.tenant_id, link.request_id)
        if request is None or request.archive_key is None:
            raise Gone("The archive has been removed.")
        try:
            data, _ = await store.get(request.archive_key)
        except ObjectNotFound as exc:
            raise Gone("The archive has been removed.") from exc
        await work.links.mark_used(link.id, now())
        await work.commit()
    return data, f"clinicflow-export-{request.id}.zip"
