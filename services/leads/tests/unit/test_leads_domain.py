"""The lead's rules in plain Python (leads.domain): fields, a new lead, statuses and their transitions, edits
with their diff, requests, free-text search and list queries, the clinic's lists and settings; and phone
normalisation (leads.phones). The use cases around them: test_use_cases.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.domain import (
    INITIAL_STATUS,
    LOCALES,
    InvalidLead,
    LeadsError,
    check_locale,
    check_source,
    clean_email,
    clean_name,
    lists,
    new_lead,
    queries,
)
from leads.domain import leads as rules
from leads.domain.errors import InvalidTransition
from leads.domain.lists import DEFAULTS
from leads.domain.queries import LeadQuery, check_query, classify_text
from leads.phones import to_e164

#: A new clinic's source list (the seed of the configurable list).
DEFAULT_SOURCES = SOURCES = {slug: label for slug, label, _ in DEFAULTS["source"]}

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


# --- names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Maria Souza", "Maria Souza"), ("  Maria   da\tSilva \n Souza ", "Maria da Silva Souza"), ("Иван", "Иван")],
)
def test_clean_name_collapses_whitespace(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_clean_name_rejects_empty(raw: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        clean_name(raw)
    assert caught.value.field == "name"


def test_clean_name_length_limit_counts_the_cleaned_name() -> None:
    assert clean_name("a" * 200) == "a" * 200
    assert clean_name("  " + "a" * 200 + "  ") == "a" * 200
    with pytest.raises(InvalidLead) as caught:
        clean_name("a" * 201)
    assert caught.value.field == "name"


# --- e-mail -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Maria@Example.COM", "maria@example.com"), ("  ana.souza+crm@clinic.com.br ", "ana.souza+crm@clinic.com.br")],
)
def test_clean_email_normalises(raw: str, expected: str) -> None:
    assert clean_email(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_clean_email_treats_blank_as_absent(raw: str | None) -> None:
    assert clean_email(raw) is None


@pytest.mark.parametrize(
    "raw", ["maria", "maria@", "@example.com", "maria@example", "ma ria@example.com", "a@b@c.com", "x" * 250 + "@e.com"]
)
def test_clean_email_rejects_bad_addresses(raw: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        clean_email(raw)
    assert caught.value.field == "email"


# --- source and locale --------------------------------------------------------------------
@pytest.mark.parametrize("slug", sorted(DEFAULT_SOURCES))
def test_check_source_accepts_every_default_slug(slug: str) -> None:
    assert check_source(slug, DEFAULT_SOURCES) == slug


@pytest.mark.parametrize(("raw", "expected"), [("Instagram", "instagram"), (" WhatsApp ", "whatsapp")])
def test_check_source_is_case_insensitive(raw: str, expected: str) -> None:
    assert check_source(raw, DEFAULT_SOURCES) == expected


@pytest.mark.parametrize("raw", ["myspace", "", "Walk in"])
def test_check_source_rejects_unknown(raw: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        check_source(raw, DEFAULT_SOURCES)
    assert caught.value.field == "source"


def test_check_source_uses_the_clinic_list() -> None:
    known = {"billboard": "Billboard"}
    assert check_source("Billboard", known) == "billboard"
    with pytest.raises(InvalidLead):
        check_source("instagram", known)


@pytest.mark.parametrize("locale", LOCALES)
def test_check_locale_accepts_supported(locale: str) -> None:
    assert check_locale(locale) == locale


def test_check_locale_allows_none() -> None:
    assert check_locale(None) is None


@pytest.mark.parametrize("locale", ["fr", "pt", "de-DE", ""])
def test_check_locale_rejects_unsupported(locale: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        check_locale(locale)
    assert caught.value.field == "locale"


# --- new lead -----------------------------------------------------------------------------
def test_new_lead_is_cleaned_and_pending_contact() -> None:
    lead = new_lead(
        lead_id="lead-1",
        tenant_id="clinic-1",
        name="  Maria   Souza ",
        phones=["+5511987654321"],
        known_sources=DEFAULT_SOURCES,
        email=" Maria@Example.com",
        source="Instagram",
        locale="pt-BR",
        created_by="user-1",
        now=NOW,
    )
    assert lead.status == INITIAL_STATUS == "PENDING_CONTACT"
    assert len(rules.STATUSES) == 10
    assert (lead.name, lead.email, lead.source, lead.locale) == (
        "Maria Souza",
        "maria@example.com",
        "instagram",
        "pt-BR",
    )
    assert (lead.id, lead.tenant_id, lead.phone, lead.created_by) == ("lead-1", "clinic-1", "+5511987654321", "user-1")
    assert lead.created_at == lead.updated_at == NOW


def test_new_lead_rejects_invalid_input() -> None:
    with pytest.raises(InvalidLead) as caught:
        new_lead(
            lead_id="lead-1",
            tenant_id="clinic-1",
            name="Maria",
            phones=["+5511987654321"],
            known_sources=DEFAULT_SOURCES,
            email=None,
            source="carrier pigeon",
            locale=None,
            created_by="user-1",
            now=NOW,
        )
    assert caught.value.field == "source"
    assert isinstance(caught.value, LeadsError)


# --- phones -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(11) 98765-4321", "BR", "+5511987654321"),
        ("+55 11 98765 4321", "BR", "+5511987654321"),
        ("+55 11 98765 4321", "ES", "+5511987654321"),  # an explicit country code wins over the region
        ("11987654321", "br", "+5511987654321"),
        ("(21) 3456-7890", "BR", "+552134567890"),  # landline
        ("612 345 678", "ES", "+34612345678"),
        ("+34 612 34 56 78", "BR", "+34612345678"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+7 912 345-67-89", "RU", "+79123456789"),
        # an old 8-digit Brazilian mobile gets its ninth digit, at every entry point (as match does)
        ("(81) 8182-0370", "BR", "+5581981820370"),
        ("+55 11 8765-4321", "ES", "+5511987654321"),
        ("011 8765-4321", "BR", "+5511987654321"),
    ],
)
def test_to_e164(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "BR"),
        ("not a phone", "BR"),
        ("123", "BR"),
        ("(11) 8765-432", "BR"),  # a digit short even of the old 8-digit form
        ("(21) 2345-678", "BR"),  # a landline a digit short (landlines never had a ninth digit)
        ("(00) 98765-4321", "BR"),  # no such area code
        ("98765-4321", "XX"),  # unknown region and no country code
        ("+999 1234 5678", "BR"),  # no such country code
    ],
)
def test_to_e164_rejects_invalid(raw: str, region: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        to_e164(raw, region)
    assert caught.value.field == "phone"


AREA_CODES = ("11", "21", "31", "41", "51", "61", "71", "81", "91")


@given(area=st.sampled_from(AREA_CODES), digits=st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_br_mobile_formattings_agree(area: str, digits: str) -> None:
    subscriber = "9" + digits
    expected = f"+55{area}{subscriber}"
    head, tail = subscriber[:5], subscriber[5:]
    formattings = [
        (expected, "BR"),
        (f"+55 {area} {head} {tail}", "BR"),
        (f"+55 ({area}) {head}-{tail}", "BR"),
        (f"+55-{area}-{head}-{tail}", "ES"),
        (f"({area}) {head}-{tail}", "BR"),
        (f"{area} {subscriber}", "BR"),
        (f"{area}{subscriber}", "br"),
        (f" ({area})  {head} {tail} ", "BR"),
    ]

    results = [to_e164(raw, region) for raw, region in formattings]

    assert results == [expected] * len(formattings), list(zip(formattings, results, strict=True))
    for (_, region), e164 in zip(formattings, results, strict=True):
        assert to_e164(e164, region) == e164  # idempotent, whatever the default region


# --- the staff directory ----------------------------------------------------------------------------
def test_owners_and_responsible_people_must_be_known_staff() -> None:
    from leads.domain.staff import check_members

    check_members({"owner_id": "u1", "responsible_id": "u2"}, {"u1", "u2", "u3"})
    with pytest.raises(InvalidLead) as caught:
        check_members({"owner_id": "u1", "responsible_id": "u9"}, {"u1"})
    assert caught.value.field == "responsible_id"


# --- the lead record: statuses, edits, search, lists ----------------------------------------------------
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


# --- what only an action of its own may change; merged leads; deletion --------------------------------------
@pytest.mark.parametrize(("key", "action"), [("status", "/status"), ("owner_id", "/assign")])
def test_status_and_owner_have_actions_of_their_own(key: str, action: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        rules.edit(lead(), {key: None}, known_sources=SOURCES, actor="u1", now=NOW)
    assert caught.value.field == key
    assert action in str(caught.value)


def test_a_merged_lead_is_refused_and_names_the_survivor() -> None:
    assert rules.check_changeable(lead()) == lead()
    with pytest.raises(InvalidLead) as caught:
        rules.check_changeable(lead(merged_into="l2"))
    assert caught.value.field == "lead_id"
    assert "l2" in str(caught.value)


def test_deleting_needs_confirmation_and_on_duplicate_is_one_of_three() -> None:
    rules.check_delete(True)
    with pytest.raises(InvalidLead):
        rules.check_delete(False)
    assert [rules.check_on_duplicate(v) for v in rules.ON_DUPLICATE] == list(rules.ON_DUPLICATE)
    with pytest.raises(InvalidLead) as caught:
        rules.check_on_duplicate("merge")
    assert caught.value.field == "on_duplicate"


# --- requests -------------------------------------------------------------------------------------------
def request() -> rules.LeadRequest:
    return rules.LeadRequest(
        id="r1", tenant_id="t1", lead_id="l1", treatment="evaluation", group=None, channel=None, reason="price?",
        handled=False, status="new", intake="manual", created_by="u1", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_a_request_edit_returns_what_changed_only() -> None:
    later = NOW + timedelta(hours=1)
    after, diff = rules.edit_request(request(), {"handled": True, "reason": " price? ", "group": None}, now=later)
    assert diff == {"handled": [False, True]}  # the reason is the same once cleaned, the group was already empty
    assert (after.handled, after.updated_at) == (True, later)
    assert rules.edit_request(request(), {"handled": False}, now=later) == (request(), {})


def test_a_request_keeps_its_lead_and_intake() -> None:
    for key in ("lead_id", "intake", "created_by"):
        with pytest.raises(InvalidLead) as caught:
            rules.edit_request(request(), {key: "x"}, now=NOW)
        assert caught.value.field == key
    assert set(rules.REQUEST_LISTS) <= set(rules.REQUEST_EDITABLE)


# --- list queries: follow-ups, totals, CPF in free text, metrics' period, the dedupe window ------------------
def test_follow_up_today_and_overdue_are_days_of_the_clinic() -> None:
    today = date(2026, 11, 28)
    assert queries.follow_up_days(None, today) == {}
    assert queries.follow_up_days("today", today) == {"follow_up_from": today, "follow_up_to": today}
    assert queries.follow_up_days("overdue", today) == {"follow_up_to": date(2026, 11, 27)}
    with pytest.raises(InvalidLead) as caught:
        queries.follow_up_days("soon", today)
    assert caught.value.field == "follow_up"


def test_totals_are_capped() -> None:
    assert queries.capped(10) == (10, False)
    assert queries.capped(queries.TOTAL_CAP) == (queries.TOTAL_CAP, False)
    assert queries.capped(queries.TOTAL_CAP + 1) == (queries.TOTAL_CAP, True)


@pytest.mark.parametrize(
    ("text", "cpf"),
    [("111.444.777-35", "11144477735"), ("11144477735", "11144477735"), ("(21) 3456-7890", None), ("maria", None)],
)
def test_eleven_digits_are_searched_as_a_cpf_too(text: str, cpf: str | None) -> None:
    found = classify_text(text)
    assert queries.search_cpf(found) == cpf
    assert queries.with_text(LeadQuery(), found, phone=None).cpf == cpf


def test_the_metrics_period_is_thirty_days_to_today_and_at_most_ten_years() -> None:
    today = date(2026, 11, 28)
    assert queries.metrics_period(None, None, today) == (date(2026, 10, 30), today)
    assert queries.metrics_period(date(2026, 1, 1), date(2026, 1, 31), today) == (date(2026, 1, 1), date(2026, 1, 31))
    for start, end in ((date(2026, 2, 1), date(2026, 1, 1)), (date(2000, 1, 1), date(2026, 1, 1))):
        with pytest.raises(InvalidLead) as caught:
            queries.metrics_period(start, end, today)
        assert caught.value.field == "from"


@pytest.mark.parametrize(("days", "ok"), [(0, True), (30, True), (365, True), (-1, False), (366, False)])
def test_the_dedupe_window_is_zero_to_a_year(days: int, ok: bool) -> None:
    if ok:
        assert lists.check_dedupe_window(days) == days
    else:
        with pytest.raises(InvalidLead) as caught:
            lists.check_dedupe_window(days)
        assert caught.value.field == "dedupe_window_days"
