"""Use cases of the intake channels: clinic admins manage forms; the public web form and Tilda send leads.

Public submissions carry no token: the form's key names the form, and the form names the clinic (tenant),
its country (phones), time zone and language. Every lead goes through `services.leads.intake` with
on_duplicate=add_request, so a person who writes again gets a new request on their open lead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from kit import context
from kit.auth import Principal
from kit.context import new_id
from kit.ratelimit import FixedWindowLimiter
from leads.domain import intake as rules
from leads.domain.errors import Conflict, InvalidLead, NotFound
from leads.domain.intake import Form, Submission
from leads.services.common import audit, now, sources
from leads.services.leads import NewLead
from leads.services.leads import intake as lead_intake
from leads.services.work import LeadsWork, LeadsWorkFactory

WEB_CHANNEL = "web_form"
TILDA_CHANNEL = "tilda"
#: A source the clinic removed since the form was made falls back to this one.
FALLBACK_SOURCE = "website_form"


@dataclass(frozen=True)
class PublicIntake:
    """Wiring for the public endpoints (built in app.py from the settings)."""

    limiter: FixedWindowLimiter
    #: At most this many web-form submissions per client IP and form in a window.
    limit: int = 5
    window_seconds: int = 600
    #: The public base URL of the gateway, for the URLs shown to admins; empty: from X-Forwarded-Host.
    public_url: str = ""
    #: Proxies in front of this service that append to X-Forwarded-For (the gateway: 1).
    proxy_hops: int = 1


@dataclass(frozen=True)
class NewForm:
    form: Form
    #: The Tilda secret, shown once; None for web forms.
    secret: str | None


def new_key() -> str:
    return secrets.token_urlsafe(16)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


async def _check_slug(uow: LeadsWork, tenant_id: str, kind: str, value: str) -> str:
    known = await uow.lists.labels(tenant_id, kind)
    slug = value.strip().lower()
    if slug not in known:
        raise InvalidLead(f"Unknown {kind} {value!r}; use one of: {', '.join(known)}.", field=kind)
    return slug


# --- clinic admins -------------------------------------------------------------------------
async def create_form(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    *,
    name: str,
    kind: str,
    source: str,
    treatment: str | None,
) -> NewForm:
    rules.check_kind(kind)
    secret = new_secret() if kind == "tilda" else None
    async with uow_factory() as uow:
        form = Form(
            id=new_id(),
            tenant_id=principal.tenant_id,
            key=new_key(),
            kind=kind,
            name=rules.check_form_name(name),
            secret_hash=rules.hash_secret(secret) if secret else None,
            source=await _check_slug(uow, principal.tenant_id, "source", source),
            treatment=await _check_slug(uow, principal.tenant_id, "treatment", treatment) if treatment else None,
            country=principal.country,
            timezone=principal.timezone,
            locale=principal.locale,
            active=True,
            created_by=principal.user_id,
            created_at=now(),
        )
        await uow.forms.add(form)
        await audit(
            uow,
            principal.tenant_id,
            entity="form",
            entity_id=form.id,
            lead_id=None,
            action="created",
            actor_id=principal.user_id,
            changes={"name": [None, form.name], "kind": [None, kind], "source": [None, form.source]},
            at=form.created_at,
        )
        await uow.commit()
    return NewForm(form, secret)


async def list_forms(uow_factory: LeadsWorkFactory, principal: Principal) -> list[Form]:
    async with uow_factory() as uow:
        return await uow.forms.all(principal.tenant_id)


async def _load(uow: LeadsWork, principal: Principal, form_id: str) -> Form:
    form = await uow.forms.get(principal.tenant_id, form_id, for_update=True)
    if form is None:
        raise NotFound(f"No form {form_id} in this clinic.")
    return form


async def update_form(
    uow_factory: LeadsWorkFactory, principal: Principal, form_id: str, changes: dict[str, Any]
) -> Form:
    async with uow_factory() as uow:
        before = await _load(uow, principal, form_id)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = rules.check_form_name(changes["name"])
        if "active" in changes:
            values["active"] = bool(changes["active"])
        if "source" in changes:
            values["source"] = await _check_slug(uow, principal.tenant_id, "source", changes["source"])
        if "treatment" in changes:
            treatment = changes["treatment"]
            values["treatment"] = (
                await _check_slug(uow, principal.tenant_id, "treatment", treatment) if treatment else None
            )
        after = replace(before, **values)
        diff = {k: [getattr(before, k), v] for k, v in values.items() if getattr(before, k) != v}
        if diff:
            await uow.forms.save(after)
            await audit(
                uow,
                principal.tenant_id,
                entity="form",
                entity_id=form_id,
                lead_id=None,
                action="updated",
                actor_id=principal.user_id,
                changes=diff,
            )
            await uow.commit()
    return after


async def rotate_secret(uow_factory: LeadsWorkFactory, principal: Principal, form_id: str) -> NewForm:
    """A new Tilda secret (shown once); the old one stops working at once."""
    async with uow_factory() as uow:
        before = await _load(uow, principal, form_id)
        if before.kind != "tilda":
            raise Conflict("Only Tilda forms have a secret; a web form is public by design.", field="kind")
        secret = new_secret()
        after = replace(before, secret_hash=rules.hash_secret(secret))
        await uow.forms.save(after)
        await audit(
            uow,
            principal.tenant_id,
            entity="form",
            entity_id=form_id,
            lead_id=None,
            action="secret_rotated",
            actor_id=principal.user_id,
            changes={},
        )
        await uow.commit()
    return NewForm(after, secret)


# --- public --------------------------------------------------------------------------------
async def _public_form(uow: LeadsWork, key: str, kind: str) -> Form:
    form = await uow.forms.by_key(key) if 0 < len(key) <= 64 else None
    if form is None or not form.active or form.kind != kind:
        raise NotFound("No such form, or it no longer takes submissions.", field="key")
    context.tenant_id.set(form.tenant_id)
    return form


async def public_form(uow_factory: LeadsWorkFactory, key: str) -> Form:
    async with uow_factory() as uow:
        return await _public_form(uow, key, "web")


async def _lead_from(uow: LeadsWork, form: Form, submission: Submission, channel: str) -> tuple[str, str | None]:
    """Create the lead (or add a request to the person's open lead); returns (lead id, request id)."""
    known_sources = await sources(uow, form.tenant_id)
    source = form.source if form.source in known_sources else FALLBACK_SOURCE
    if source not in known_sources and known_sources:
        source = next(iter(known_sources))
    treatments = await uow.lists.labels(form.tenant_id, "treatment")
    created = await lead_intake(
        uow,
        tenant_id=form.tenant_id,
        actor=form.id,  # a public submission has no staff member: the form is the author
        country=form.country,
        timezone=form.timezone,
        data=NewLead(
            name=rules.display_name(submission),
            phones=[submission.phone] if submission.phone else [],
            source=source,
            email=submission.email,
            locale=form.locale,
            consents=rules.consents(submission),
            attribution=submission.attribution,
            treatment=form.treatment if form.treatment in treatments else None,
            reason=submission.reason or rules.default_reason(form),
        ),
        channel=channel,
        on_duplicate="add_request",
    )
    return created.lead.id, created.request.id if created.request else None


async def submit_web_form(
    uow_factory: LeadsWorkFactory, public: PublicIntake, key: str, fields: dict[str, str], *, client_ip: str
) -> bool:
    """One submission of a clinic's web form; False when it was spam (the honeypot) and nothing was stored."""
    await public.limiter.hit(
        f"leads-form:{key[:64]}:{client_ip}", limit=public.limit, window_seconds=public.window_seconds
    )
    async with uow_factory() as uow:
        form = await _public_form(uow, key, "web")
        if rules.is_bot(fields):
            return False
        submission = rules.web_submission(fields)
        lead_id, request_id = await _lead_from(uow, form, submission, WEB_CHANNEL)
        # The submission as received, consent text included: the record of the person's consent (LGPD).
        receipt = new_id()
        receipts = uow.receipts
        await receipts.claim(
            form.tenant_id,
            WEB_CHANNEL,
            receipt,
            payload={"form_id": form.id, "fields": fields, "consent_text": rules.consent_text(form.locale)},
            at=now(),
        )
        await receipts.attach(form.tenant_id, WEB_CHANNEL, receipt, lead_id=lead_id, request_id=request_id)
        await uow.commit()
    return True


async def receive_tilda(
    uow_factory: LeadsWorkFactory,
    key: str,
    secret: str | None,
    fields: dict[str, str],
    *,
    content_type: str,
) -> str:
    """One delivery of Tilda's webhook: "test" (the connection probe), "duplicate" (a redelivered tranid)
    or "created" (a lead, or a request on the person's open lead). A malformed one stores nothing."""
    async with uow_factory() as uow:
        form = await _public_form(uow, key, "tilda")
        rules.check_secret(secret, form)
        if rules.is_tilda_test(fields):
            return "test"
        submission = rules.tilda_submission(fields)
        receipts = uow.receipts
        external_id = submission.external_id or f"no-tranid:{new_id()}"
        payload = {"form_id": form.id, "content_type": content_type, "fields": fields}
        if not await receipts.claim(form.tenant_id, TILDA_CHANNEL, external_id, payload=payload, at=now()):
            return "duplicate"
        lead_id, request_id = await _lead_from(uow, form, submission, TILDA_CHANNEL)
        await receipts.attach(form.tenant_id, TILDA_CHANNEL, external_id, lead_id=lead_id, request_id=request_id)
        await uow.commit()
    return "created"
