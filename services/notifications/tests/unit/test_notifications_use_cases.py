"""Notifications' configuration use cases (rules, templates, settings, channel opt-outs) against the in-memory
unit of work: what they store, how a clinic's rows override the seeded defaults, what they refuse (naming the
field) before anything is stored, and the tenant boundary."""

from __future__ import annotations

from datetime import time
from typing import cast

import pytest

from contracts.notifications import ChannelConsentChangedV1
from kit.auth import Principal
from kit.context import new_id
from notifications import services
from notifications.catalog import WELCOME
from notifications.domain import DEFAULT_RULES, InvalidInput, InvalidRule, InvalidTemplate, NotFound, TemplateNotFound
from notifications.services.work import NotificationsWorkFactory
from services.notifications.tests.unit.memory import ConfigState, MemoryNotifications


def admin(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id or new_id(), email="a@clinic.test", permissions=frozenset({"crm:admin"})
    )


@pytest.fixture
def db() -> MemoryNotifications:
    return MemoryNotifications(ConfigState())


def factory(db: MemoryNotifications) -> NotificationsWorkFactory:
    return cast(NotificationsWorkFactory, db.factory())


RULE = {"event_type": "lead.status_changed", "template": WELCOME, "channels": ["whatsapp"], "delay_seconds": 60}


async def test_a_clinic_rule_joins_the_defaults_a_changed_default_replaces_its_seed_and_goes_back(
    db: MemoryNotifications,
) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    defaults = [r.key for r in DEFAULT_RULES]
    assert [r.key for r in await services.list_rules(uow, me)] == defaults

    mine = await services.put_rule(uow, me, "vip-followup", RULE)
    assert (mine.builtin, mine.delay_seconds, mine.channels) == (False, 60, ("whatsapp",))
    off = await services.set_rule_enabled(uow, me, "welcome", False)
    assert (off.enabled, off.builtin) == (False, True)

    rules = {r.key: r for r in await services.list_rules(uow, me)}
    assert list(rules)[: len(defaults)] == defaults
    assert "vip-followup" in rules
    assert rules["welcome"].enabled is False
    assert rules["welcome"].builtin is True
    # the other clinic still has the seeded defaults only, welcome on
    theirs = {r.key: r for r in await services.list_rules(uow, other)}
    assert list(theirs) == defaults
    assert theirs["welcome"].enabled is True

    await services.delete_rule(uow, me, "welcome")  # the changed default goes back to its seed
    assert {r.key: r for r in await services.list_rules(uow, me)}["welcome"].enabled is True
    with pytest.raises(NotFound) as missing:  # a seeded default is not the clinic's own to delete
        await services.delete_rule(uow, me, "welcome")
    assert missing.value.field == "key"
    with pytest.raises(NotFound):  # nor is another clinic's rule
        await services.delete_rule(uow, other, "vip-followup")
    assert db.commits == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_type": "lead.vanished"}, "event_type"),
        ({"template": "no_such_template"}, "template"),
        ({"recipient": "role:astronaut"}, "recipient"),
        ({"channels": []}, "channels"),
    ],
)
async def test_a_rule_that_could_never_send_is_refused_naming_the_field(
    db: MemoryNotifications, change: dict[str, object], field: str
) -> None:
    with pytest.raises((InvalidRule, InvalidInput)) as refused:
        await services.put_rule(factory(db), admin(), "bad-rule", RULE | change)
    assert getattr(refused.value, "field", None) == field
    assert db.state.rules == {}
    assert db.commits == 0


async def test_a_clinic_template_is_used_listed_previewed_and_reset_to_the_built_in(db: MemoryNotifications) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    await services.set_template(uow, me, WELCOME, "en", "Hi {{ first_name }}, welcome to our clinic!")
    listed = {(t["name"], t["locale"]): t for t in await services.list_templates(uow, me)}
    assert listed[(WELCOME, "en")]["customised"] is True
    assert listed[(WELCOME, "en")]["body"] == "Hi {{ first_name }}, welcome to our clinic!"
    assert listed[(WELCOME, "pt-BR")]["customised"] is False
    theirs = {(t["name"], t["locale"]): t for t in await services.list_templates(uow, other)}
    assert theirs[(WELCOME, "en")]["customised"] is False

    shown = await services.preview(uow, me, WELCOME, "en", "whatsapp", None, None)
    assert shown["body"].startswith("Hi ")
    assert shown["body"].endswith(", welcome to our clinic!")
    assert "{{" not in shown["body"]

    await services.reset_template(uow, me, WELCOME, "en")
    listed = {(t["name"], t["locale"]): t for t in await services.list_templates(uow, me)}
    assert listed[(WELCOME, "en")]["customised"] is False
    with pytest.raises(TemplateNotFound):
        await services.reset_template(uow, me, WELCOME, "en")


async def test_a_template_that_does_not_render_is_refused_and_nothing_is_stored(db: MemoryNotifications) -> None:
    with pytest.raises(InvalidTemplate):
        await services.set_template(factory(db), admin(), WELCOME, "en", "Hi {{ first_name ")
    with pytest.raises(InvalidTemplate) as unknown:
        await services.set_template(factory(db), admin(), WELCOME, "fr", "Salut")
    assert unknown.value.field == "locale"
    assert db.state.templates == {}


async def test_settings_default_to_the_token_then_keep_what_the_clinic_set(db: MemoryNotifications) -> None:
    me = admin()
    uow = factory(db)
    assert (await services.get_settings(uow, me)).timezone == me.timezone
    await services.put_settings(uow, me, timezone="Europe/Madrid", locale="es", quiet_start="21:00", quiet_end="08:00")
    config = await services.get_settings(uow, me)
    assert (config.timezone, config.locale) == ("Europe/Madrid", "es")
    assert config.quiet is not None
    assert (config.quiet.start, config.quiet.end) == (time(21), time(8))

    with pytest.raises(InvalidInput) as half:
        await services.put_settings(uow, me, timezone="Europe/Madrid", locale="es", quiet_start="21:00", quiet_end=None)
    assert half.value.field == "quiet_start"
    with pytest.raises(InvalidInput) as zone:
        await services.put_settings(uow, me, timezone="Mars/Olympus", locale="es", quiet_start=None, quiet_end=None)
    assert zone.value.field == "timezone"
    assert (await services.get_settings(uow, me)).timezone == "Europe/Madrid"  # the refused changes stored nothing


async def test_a_staff_opt_out_is_stored_once_per_address_and_announced_for_the_consent_ledger(
    db: MemoryNotifications,
) -> None:
    me, other = admin(), admin()
    uow = factory(db)
    assert await services.opt_out(uow, me, "whatsapp", "+55 11 98765-4321") == "+5511987654321"
    await services.opt_out(uow, me, "whatsapp", "+5511987654321")  # again: still one opt-out
    assert [(o["channel"], o["address"]) for o in await services.list_opt_outs(uow, me)] == [
        ("whatsapp", "+5511987654321")
    ]
    assert await services.list_opt_outs(uow, other) == []
    changes = db.events(ChannelConsentChangedV1)
    assert len(changes) == 2
    assert {(c.channel, c.address, c.opted_in, c.how, c.staff_id) for c in changes} == {
        ("whatsapp", "+5511987654321", False, "staff", me.user_id)
    }
    assert len({c.change_id for c in changes}) == 2  # two acts, two ledger entries

    with pytest.raises(NotFound):  # another clinic cannot lift it
        await services.opt_in(uow, other, "whatsapp", "+5511987654321")
    await services.opt_in(uow, me, "whatsapp", "+5511987654321")
    assert await services.list_opt_outs(uow, me) == []
    assert db.events(ChannelConsentChangedV1)[-1].opted_in is True
    with pytest.raises(InvalidInput) as staff:  # staff do not opt out of in-app notifications
        await services.opt_out(uow, me, "inapp", "user:x")
    assert staff.value.field == "channel"
    assert len(db.events(ChannelConsentChangedV1)) == 3
