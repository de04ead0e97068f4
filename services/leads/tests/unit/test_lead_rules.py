"""Statuses and their transitions, edits with their diff, free-text search, configurable lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.domain import leads as rules
from leads.domain import lists
from leads.domain.errors import InvalidLead, InvalidTransition
from leads.domain.queries import LeadQuery, check_query, classify_text

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SOURCES = {slug: label for slug, label, _ in lists.DEFAULTS["source"]}


def lead(**overrides: object) -> rules.Lead:
    base = rules.new_lead(
        lead_id="l1",
        tenant_id="t1",
        name="Maria Souza",
        phones=["+5511987654321"],
        email=None,
        source="instagram",
        known_sources=SOURCES,
        locale="pt-BR",
        created_by="u1",
        now=NOW,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# --- statuses -------------------------------------------------------------------------------
def test_ten_statuses_and_new_leads_start_pending() -> None:
    assert len(rules.STATUSES) == 10
    assert lead().status == "PENDING_CONTACT"


def test_a_lead_may_start_in_a_given_status() -> None:
    started = rules.new_lead(
        lead_id="l1",
        tenant_id="t1",
        name="Maria Souza",
        phones=["+5511987654321"],
        email=None,
        source="instagram",
        known_sources=SOURCES,
        locale="pt-BR",
        created_by="u1",
        now=NOW,
        status="CONTACTED_CALL_LATER",
    )
    assert started.status == "CONTACTED_CALL_LATER"
    with pytest.raises(InvalidLead) as caught:
        rules.new_lead(
            lead_id="l1",
            tenant_id="t1",
            name="Maria Souza",
            phones=["+5511987654321"],
            email=None,
            source="instagram",
            known_sources=SOURCES,
            locale="pt-BR",
            created_by="u1",
            now=NOW,
            status="MAYBE",
        )
    assert caught.value.field == "status"


def test_status_change_records_from_to_who_when_and_comment() -> None:
    after, change = rules.change_status(lead(), "CONTACTED_CALL_LATER", comment="  ligar às 18h ", actor="u2", now=NOW)
    assert after.status == "CONTACTED_CALL_LATER"
    assert (change.from_status, change.to_status, change.comment, change.changed_by) == (
        "PENDING_CONTACT",
        "CONTACTED_CALL_LATER",
        "ligar às 18h",
        "u2",
    )
    assert after.updated_by == "u2"


def test_unknown_and_same_status_are_refused() -> None:
    with pytest.raises(InvalidLead) as unknown:
        rules.change_status(lead(), "MAYBE", comment=None, actor="u", now=NOW)
    assert unknown.value.field == "status"
    with pytest.raises(InvalidTransition):
        rules.change_status(lead(), "PENDING_CONTACT", comment=None, actor="u", now=NOW)


@pytest.mark.parametrize("target", ["APPOINTMENT_CANCELED", "VISIT_COMPLETED"])
def test_cancel_and_complete_need_an_appointment(target: str) -> None:
    with pytest.raises(InvalidTransition):
        rules.change_status(lead(), target, comment=None, actor="u", now=NOW)
    scheduled = lead(status="APPOINTMENT_SCHEDULED")
    assert rules.change_status(scheduled, target, comment=None, actor="u", now=NOW)[0].status == target


def test_after_the_visit_only_follow_up_or_return() -> None:
    done = lead(status="VISIT_COMPLETED")
    with pytest.raises(InvalidTransition):
        rules.change_status(done, "PENDING_CONTACT", comment=None, actor="u", now=NOW)
    for ok in ("REQUIRES_FOLLOW_UP", "INTERESTED_SCHEDULE_APPOINTMENT", "APPOINTMENT_SCHEDULED"):
        assert rules.change_status(done, ok, comment=None, actor="u", now=NOW)[0].status == ok


@given(st.sampled_from(rules.STATUSES), st.sampled_from(rules.STATUSES))
def test_any_transition_either_succeeds_or_says_why(start: str, target: str) -> None:
    current = lead(status=start)
    refused: InvalidTransition | None = None
    try:
        after, change = rules.change_status(current, target, comment=None, actor="u", now=NOW)
    except InvalidTransition as exc:
        refused = exc
    if refused is not None:
        assert (refused.field, bool(str(refused))) == ("status", True)
    else:
        assert after.status == target != start
        assert change.from_status == start


def test_closed_statuses_are_not_open() -> None:
    assert not lead(status="NOT_INTERESTED").is_open
    assert lead(status="CONTACTED_NO_RESPONSE").is_open
    assert not lead(merged_into="l2").is_open


# --- edits --------------------------------------------------------------------------------------
def test_edit_returns_the_diff_of_what_changed_only() -> None:
    after, diff = rules.edit(
        lead(),
        {"email": "MARIA@EXAMPLE.COM", "name": "Maria Souza", "urgency": "high"},
        known_sources=SOURCES,
        actor="u9",
        now=NOW,
    )
    assert diff == {"email": (None, "maria@example.com"), "urgency": ("normal", "high")}
    assert after.updated_by == "u9"
    assert rules.audit_diff(diff) == {"email": [None, "maria@example.com"], "urgency": ["normal", "high"]}


def test_edit_phones_keeps_the_first_as_primary_and_drops_repeats() -> None:
    after, diff = rules.edit(
        lead(),
        {"phones": ["+5511911112222", "+5511987654321", "+5511911112222"]},
        known_sources=SOURCES,
        actor="u",
        now=NOW,
    )
    assert after.phone == "+5511911112222"
    assert after.phones == ("+5511911112222", "+5511987654321")
    assert "phone" not in diff


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "VISIT_COMPLETED"}, "status"),
        ({"owner_id": "u2"}, "owner_id"),
        ({"urgency": "urgent"}, "urgency"),
        ({"birth_date": date(2030, 1, 1)}, "birth_date"),
        ({"consents": {"fax": True}}, "consents"),
        ({"phones": []}, "phones"),
        ({"source": "billboard"}, "source"),
        ({"name": "  "}, "name"),
    ],
)
def test_edit_refuses_bad_changes_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        rules.edit(lead(), changes, known_sources=SOURCES, actor="u", now=NOW)
    assert caught.value.field == field


def test_consents_merge_per_channel() -> None:
    first, _ = rules.edit(lead(), {"consents": {"whatsapp": True}}, known_sources=SOURCES, actor="u", now=NOW)
    second, _ = rules.edit(first, {"consents": {"email": False}}, known_sources=SOURCES, actor="u", now=NOW)
    assert second.consents == {"whatsapp": True, "email": False}


def test_assign_refuses_the_same_owner() -> None:
    owned = rules.assign(lead(), "u2", actor="u1", now=NOW)
    assert owned.owner_id == "u2"
    with pytest.raises(InvalidTransition):
        rules.assign(owned, "u2", actor="u1", now=NOW)


@pytest.mark.parametrize(
    ("raw", "key"),
    [("José  Conceição", "jose conceicao"), ("ÉLODIE", "elodie"), ("Łukasz", "łukasz"), ("Ольга", "ольга")],
)
def test_search_key_folds_case_accents_and_spaces(raw: str, key: str) -> None:
    assert rules.search_key(raw) == key


# --- free text and queries ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("(11) 98765-4321", "phone"),
        ("+55 11 98765 4321", "phone"),
        ("111.444.777-35", "cpf"),
        ("maria@example.com", "email"),
        ("Maria Souza", "name"),
        ("João", "name"),
    ],
)
def test_free_text_is_classified(text: str, kind: str) -> None:
    found = classify_text(text)
    assert {"phone": found.phone_digits, "cpf": found.cpf, "email": found.email, "name": found.name}[kind]


def test_free_text_needs_two_characters() -> None:
    with pytest.raises(InvalidLead) as caught:
        classify_text(" a ")
    assert caught.value.field == "q"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (LeadQuery(sort="age"), "sort"),
        (LeadQuery(statuses=("NEW",)), "status"),
        (LeadQuery(urgencies=("x",)), "urgency"),
        (LeadQuery(created_from=NOW, created_to=datetime(2026, 1, 1, tzinfo=UTC)), "created_from"),
        (LeadQuery(follow_up_from=date(2026, 2, 1), follow_up_to=date(2026, 1, 1)), "follow_up_from"),
    ],
)
def test_bad_queries_name_the_field(query: LeadQuery, field: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        check_query(query)
    assert caught.value.field == field


# --- configurable lists -------------------------------------------------------------------------
def test_seeded_sources_are_the_twelve_of_the_issue() -> None:
    assert len(lists.DEFAULTS["source"]) == 12
    assert set(lists.KINDS) == set(lists.DEFAULTS)
    assert all(lists.check_color(color) for _, _, color in lists.DEFAULTS["request_status"])


@pytest.mark.parametrize(
    ("label", "slug"),
    [("Harmonização facial", "harmonizacao_facial"), ("Botox!", "botox"), ("  Laser  CO2 ", "laser_co2")],
)
def test_slugs_come_from_labels(label: str, slug: str) -> None:
    assert lists.slug_from(label) == slug


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (lists.check_kind, "colours", "kind"),
        (lists.check_slug, "Bad Slug", "slug"),
        (lists.check_label, " ", "label"),
        (lists.check_color, "red", "color"),
    ],
)
def test_list_input_is_checked(check: object, value: str, field: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        check(value)  # type: ignore[operator]
    assert caught.value.field == field
