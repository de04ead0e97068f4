"""The valuation -> quote process's built-in rules (notifications.quotes): every step reaches its people."""

from __future__ import annotations

import pytest

from notifications.catalog import TEMPLATES
from notifications.domain import DEFAULT_RULES, InvalidRule, Rule, check_rule, is_staff_recipient
from notifications.events import EVENT_TYPES

QUOTE_RULES = [r for r in DEFAULT_RULES if r.event_type.startswith(("valuation.", "quote."))]


def test_each_answer_tells_the_prospect_and_the_agent() -> None:
    for event in ("quote.accepted", "quote.rejected", "quote.question"):
        recipients = {r.recipient for r in QUOTE_RULES if r.event_type == event}
        assert recipients == {"person", "field:agent_id"}, event
    assert {r.recipient for r in QUOTE_RULES if r.event_type == "quote.unanswered"} == {"field:agent_id"}
    assert {r.recipient for r in QUOTE_RULES if r.event_type == "valuation.photos_completed"} == {
        "role:diagnostic_doctor"
    }
    assert {r.recipient for r in QUOTE_RULES if r.event_type == "valuation.digest"} == {"field:agent_id"}


@pytest.mark.parametrize("rule", QUOTE_RULES, ids=lambda r: r.key)
def test_the_rules_are_valid_and_their_templates_exist(rule: Rule) -> None:
    check_rule(rule, EVENT_TYPES)
    assert TEMPLATES[rule.template].event_type == rule.event_type
    assert TEMPLATES[rule.template].audience == ("staff" if is_staff_recipient(rule.recipient) else "person")


def test_a_field_recipient_names_an_id_field_and_is_reached_in_app() -> None:
    check_rule(
        Rule("x-doc", "valuation.assigned", "staff_valuation_assigned", ("inapp",), "field:doctor_id"), EVENT_TYPES
    )
    for bad in ("field:doctor", "field:Doctor_id", "field:"):
        with pytest.raises(InvalidRule) as refused:
            check_rule(Rule("x-bad", "valuation.assigned", "staff_valuation_assigned", ("inapp",), bad), EVENT_TYPES)
        assert refused.value.field == "recipient"
    with pytest.raises(InvalidRule):
        check_rule(Rule("x-wa", "quote.sent", "quote_sent", ("whatsapp",), "field:agent_id"), EVENT_TYPES)
