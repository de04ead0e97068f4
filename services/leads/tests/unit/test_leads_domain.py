"""Leads rules and phone normalisation, in plain Python."""

from __future__ import annotations

from datetime import UTC, datetime

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
    new_lead,
)
from leads.domain.lists import DEFAULTS
from leads.phones import to_e164

#: A new clinic's source list (the seed of the configurable list).
DEFAULT_SOURCES = {slug: label for slug, label, _ in DEFAULTS["source"]}

NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


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
