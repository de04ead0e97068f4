"""The clinic's configuration as the use cases read it: settings, effective rules (seeded defaults and the clinic's
own), template sources."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

from notifications.catalog import TEMPLATES
from notifications.domain import (
    DEFAULT_LOCALE,
    DEFAULT_RULES,
    QuietHours,
    Rule,
    TemplateNotFound,
)
from notifications.services.work import NotificationsWork


# --- clinic configuration --------------------------------------------------------------------------
@dataclass(frozen=True)
class ClinicConfig:
    timezone: str = "America/Sao_Paulo"
    locale: str = DEFAULT_LOCALE
    quiet: QuietHours | None = None


def _parse_time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


async def clinic_config(uow: NotificationsWork, tenant_id: str) -> ClinicConfig:
    row = await uow.settings.get(tenant_id)
    if row is None:
        return ClinicConfig()
    start, end = _parse_time(row["quiet_start"]), _parse_time(row["quiet_end"])
    return ClinicConfig(row["timezone"], row["locale"], QuietHours(start, end) if start and end else None)


async def effective_rules(uow: NotificationsWork, tenant_id: str, event_type: str | None = None) -> list[Rule]:
    """The seeded defaults, each replaced by the clinic's own row of the same key, plus the clinic's own rules."""
    # All of the clinic's rows (a handful): a changed default may have moved to another event type.
    own = await uow.rules.for_tenant(tenant_id)
    if event_type is not None:
        defaults = [r for r in DEFAULT_RULES if r.event_type == event_type or r.key in own]
        mine = [r for r in own.values() if r.event_type == event_type]
        merged = [own.get(r.key, r) for r in defaults] + [
            r for r in mine if r.key not in {d.key for d in DEFAULT_RULES}
        ]
        return [replace(r, builtin=any(d.key == r.key for d in DEFAULT_RULES)) for r in merged]
    out = [own.pop(r.key, r) if r.key in own else r for r in DEFAULT_RULES]
    out = [replace(r, builtin=any(d.key == r.key for d in DEFAULT_RULES)) for r in out]
    return out + sorted(own.values(), key=lambda r: r.key)


# --- templates --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    body: str
    subject: str | None
    wa_template: str | None
    locale: str


async def template_source(
    uow: NotificationsWork, tenant_id: str, name: str, locale: str, channel: str, clinic_locale: str
) -> Source:
    """The clinic's text for (name, locale, channel), else the built-in one; then the same for the clinic's
    default locale."""
    spec = TEMPLATES.get(name)
    repo = uow.templates
    for loc in dict.fromkeys((locale, clinic_locale, DEFAULT_LOCALE)):
        own = await repo.find(tenant_id, name, [loc], channel)
        if own:
            return Source(own["body"], own["subject"], own["wa_template"] or (spec.wa_template if spec else None), loc)
        if spec and loc in spec.texts:
            return Source(spec.texts[loc], spec.subjects.get(loc), spec.wa_template, loc)
    raise TemplateNotFound(f"No {name!r} template for {locale} or the clinic's default locale.", field="template")
