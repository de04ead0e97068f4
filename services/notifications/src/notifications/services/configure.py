"""What clinic staff configure and read: templates, rules, settings, channel opt-outs, provider accounts, a lead's
messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from contracts.notifications import (
    ChannelConsentChangedV1,
)
from kit import context
from kit.auth import Principal
from notifications import events, rendering
from notifications.catalog import TEMPLATES
from notifications.domain import (
    DEFAULT_RULES,
    EMAIL,
    INAPP,
    LOCALES,
    PERSON,
    SMS,
    TEMPLATE_NAMES,
    WHATSAPP,
    InvalidInput,
    Message,
    NotFound,
    QuietHours,
    Rule,
    TemplateNotFound,
    check_channel,
    check_rule,
    check_template_key,
    check_timezone,
    choose_locale,
    e164,
    is_clinic_template,
)
from notifications.services import common
from notifications.services.common import CHANNEL
from notifications.services.config import ClinicConfig, _parse_time, clinic_config, effective_rules, template_source
from notifications.services.work import NotificationsWork, NotificationsWorkFactory


# --- what staff read and configure ---------------------------------------------------------------
async def messages_for_lead(uow_factory: NotificationsWorkFactory, principal: Principal, lead_id: str) -> list[Message]:
    async with uow_factory() as uow:
        return await uow.messages.for_lead(principal.tenant_id, lead_id)


async def list_templates(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    """Every built-in (name, locale) on WhatsApp with the clinic's text where it has one, plus every clinic row."""
    async with uow_factory() as uow:
        own = await uow.templates.all_for(principal.tenant_id)
    by_key = {(r["name"], r["locale"], r["channel"]): r for r in own}
    out: list[dict[str, Any]] = []
    for name in TEMPLATE_NAMES:
        spec = TEMPLATES[name]
        for locale in LOCALES:
            row = by_key.pop((name, locale, CHANNEL), None)
            out.append(
                {
                    "name": name,
                    "locale": locale,
                    "channel": CHANNEL,
                    "body": row["body"] if row else spec.texts[locale],
                    "subject": row["subject"] if row else spec.subjects.get(locale),
                    "wa_template": (row or {}).get("wa_template") or spec.wa_template,
                    "customised": row is not None,
                    "event_type": spec.event_type,
                    "variables": list(spec.variables),
                }
            )
    for (name, locale, channel), row in sorted(by_key.items()):
        spec_ = TEMPLATES.get(name)
        out.append(
            {
                "name": name,
                "locale": locale,
                "channel": channel,
                "body": row["body"],
                "subject": row["subject"],
                "wa_template": row["wa_template"],
                "customised": True,
                "event_type": spec_.event_type if spec_ else None,
                "variables": list(rendering.variables_of(name)),
            }
        )
    return out


async def set_template(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    name: str,
    locale: str,
    body: str,
    *,
    channel: str = CHANNEL,
    subject: str | None = None,
    wa_template: str | None = None,
) -> None:
    check_template_key(name, locale)
    check_channel(channel)
    rendering.validate(body, name)
    if subject is not None:
        rendering.validate(subject, name, field="subject")
    async with uow_factory() as uow:
        await uow.templates.upsert(
            tenant_id=principal.tenant_id,
            name=name,
            locale=locale,
            channel=channel,
            body=body,
            subject=subject,
            wa_template=wa_template,
            user_id=principal.user_id,
            now=common.clock(),
        )
        await uow.commit()


async def reset_template(
    uow_factory: NotificationsWorkFactory, principal: Principal, name: str, locale: str, channel: str = CHANNEL
) -> None:
    check_template_key(name, locale)
    async with uow_factory() as uow:
        if not await uow.templates.delete(tenant_id=principal.tenant_id, name=name, locale=locale, channel=channel):
            raise TemplateNotFound(f"The clinic has no own {name}/{locale} template; the built-in one is used.")
        await uow.commit()


async def preview(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    name: str,
    locale: str,
    channel: str,
    body: str | None,
    subject: str | None,
) -> dict[str, Any]:
    """The template (or the given draft) rendered with sample data, as the channel would send it."""
    check_template_key(name, locale)
    check_channel(channel)
    if body is None:
        async with uow_factory() as uow:
            src = await template_source(uow, principal.tenant_id, name, locale, channel, principal.locale)
        body, subject, wa = src.body, subject or src.subject, src.wa_template
    else:
        spec = TEMPLATES.get(name)
        wa = spec.wa_template if spec else None
        subject = subject or (spec.subjects.get(locale) if spec else None)
    values = rendering.sample_values(name)
    actions = [
        {"id": f"appt:<id>:{kind}", "kind": kind, "url": f"https://clinic.example/p/{kind}/abc"}
        for kind in (TEMPLATES[name].buttons if name in TEMPLATES else {})
    ]
    out = rendering.for_channel(
        channel,
        template=name,
        locale=locale,
        body_source=body,
        subject_source=subject,
        values=values,
        actions=actions,
        wa_template=wa,
    )
    return {"channel": channel, "locale": locale, "variables": values, **out}


def _rule_from(data: Mapping[str, Any], key: str) -> Rule:
    return Rule(
        key=key,
        event_type=str(data["event_type"]),
        template=str(data["template"]),
        channels=tuple(data["channels"]),
        recipient=str(data.get("recipient") or PERSON),
        conditions=dict(data.get("conditions") or {}),
        delay_seconds=int(data.get("delay_seconds") or 0),
        quiet_hours=bool(data.get("quiet_hours", True)),
        cancel_on=tuple(data.get("cancel_on") or ()),
        enabled=bool(data.get("enabled", True)),
    )


async def list_rules(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[Rule]:
    async with uow_factory() as uow:
        return await effective_rules(uow, principal.tenant_id)


async def put_rule(
    uow_factory: NotificationsWorkFactory, principal: Principal, key: str, data: Mapping[str, Any]
) -> Rule:
    rule = _rule_from(data, key)
    check_rule(rule, events.EVENT_TYPES)
    if rule.template not in TEMPLATE_NAMES and not is_clinic_template(rule.template):
        raise InvalidInput(f"Unknown template {rule.template!r}.", field="template")
    async with uow_factory() as uow:
        await uow.rules.upsert(principal.tenant_id, rule, principal.user_id, common.clock())
        await uow.commit()
    return replace(rule, builtin=any(d.key == key for d in DEFAULT_RULES))


async def set_rule_enabled(
    uow_factory: NotificationsWorkFactory, principal: Principal, key: str, enabled: bool
) -> Rule:
    async with uow_factory() as uow:
        rule = next((r for r in await effective_rules(uow, principal.tenant_id) if r.key == key), None)
        if rule is None:
            raise NotFound(f"No rule {key!r}.", field="key")
        rule = replace(rule, enabled=enabled)
        await uow.rules.upsert(principal.tenant_id, rule, principal.user_id, common.clock())
        await uow.commit()
    return rule


async def delete_rule(uow_factory: NotificationsWorkFactory, principal: Principal, key: str) -> None:
    """A clinic's own rule goes; a changed default goes back to the seeded one."""
    async with uow_factory() as uow:
        if not await uow.rules.delete(principal.tenant_id, key):
            raise NotFound(f"The clinic has no own rule {key!r}.", field="key")
        await uow.commit()


async def get_settings(uow_factory: NotificationsWorkFactory, principal: Principal) -> ClinicConfig:
    async with uow_factory() as uow:
        row = await uow.settings.get(principal.tenant_id)
        config = await clinic_config(uow, principal.tenant_id)
    return config if row else ClinicConfig(principal.timezone, choose_locale(principal.locale), None)


async def put_settings(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    *,
    timezone: str,
    locale: str,
    quiet_start: str | None,
    quiet_end: str | None,
) -> ClinicConfig:
    check_timezone(timezone)
    if locale not in LOCALES:
        raise InvalidInput(f"Unsupported locale {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")
    if (quiet_start is None) != (quiet_end is None):
        raise InvalidInput("Give both ends of the quiet hours, or neither.", field="quiet_start")
    try:
        start, end = _parse_time(quiet_start), _parse_time(quiet_end)
    except ValueError as exc:
        raise InvalidInput("Quiet hours are HH:MM local times.", field="quiet_start") from exc
    quiet = QuietHours(start, end) if start and end else None
    async with uow_factory() as uow:
        await uow.settings.upsert(
            principal.tenant_id, timezone=timezone, locale=locale, quiet=quiet, now=common.clock()
        )
        await uow.commit()
    return ClinicConfig(timezone, locale, quiet)


def _address(channel: str, address: str) -> str:
    check_channel(channel)
    if channel == INAPP:
        raise InvalidInput("Staff do not opt out of in-app notifications.", field="channel")
    return e164(address) if channel in (WHATSAPP, SMS) else address.strip()


def _publish_channel_consent(uow: NotificationsWork, tenant_id: str, change: ChannelConsentChangedV1) -> None:
    uow.publish(change, tenant_id=tenant_id)


def _staff_change(principal: Principal, channel: str, address: str, *, opted_in: bool) -> ChannelConsentChangedV1:
    return ChannelConsentChangedV1(
        change_id=context.new_id(),
        channel=channel,
        address=address,
        opted_in=opted_in,
        how="staff",
        staff_id=principal.user_id,
        at=common.clock(),
    )


async def opt_out(uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, address: str) -> str:
    """Staff opt an address out of a channel; the consent ledger records it too (channel_consent.changed)."""
    normalised = _address(channel, address)
    async with uow_factory() as uow:
        await uow.opt_outs.add(principal.tenant_id, channel, normalised, f"staff:{principal.user_id}", common.clock())
        _publish_channel_consent(
            uow, principal.tenant_id, _staff_change(principal, channel, normalised, opted_in=False)
        )
        await uow.commit()
    return normalised


async def opt_in(uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, address: str) -> None:
    normalised = _address(channel, address)
    async with uow_factory() as uow:
        if not await uow.opt_outs.remove(principal.tenant_id, channel, normalised):
            raise NotFound(f"{normalised} has not opted out of {channel}.", field="address")
        _publish_channel_consent(uow, principal.tenant_id, _staff_change(principal, channel, normalised, opted_in=True))
        await uow.commit()


async def list_opt_outs(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.opt_outs.list(principal.tenant_id)


async def connect_account(
    uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, account_id: str
) -> None:
    """Route inbound messages to this clinic's account (WhatsApp phone number id, SMS number, ...) to the clinic."""
    check_channel(channel)
    if channel in (INAPP, EMAIL):
        raise InvalidInput("Only WhatsApp, SMS, Telegram and Instagram receive messages.", field="channel")
    account = e164(account_id) if channel == SMS else account_id.strip()
    if not account:
        raise InvalidInput("The account id must not be empty.", field="account_id")
    async with uow_factory() as uow:
        if not await uow.accounts.upsert(channel, account, principal.tenant_id, common.clock()):
            raise InvalidInput("This account is connected to another clinic.", field="account_id")
        await uow.commit()


async def list_accounts(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.accounts.for_tenant(principal.tenant_id)
