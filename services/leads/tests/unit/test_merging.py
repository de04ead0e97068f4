"""Merging duplicate leads, converting and linking leads to patients: the rules, without IO."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.domain.errors import Conflict, InvalidLead
from leads.domain.leads import MAX_NOTES, Lead
from leads.domain.matching import phone_variants
from leads.domain.merging import MAX_PHONES, check_merge, merge, merged_consents, merged_phones
from leads.domain.patients import (
    Patient,
    as_candidate,
    check_can_convert,
    existing_patient,
    link,
    new_patient,
    patient_from_lead,
    same_patient,
)

NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def make_lead(id: str = "A", name: str = "Maria Souza", *phones: str, **fields: object) -> Lead:
    all_phones = phones or ("+5511987654321",)
    values: dict[str, object] = {
        "id": id,
        "tenant_id": "T",
        "name": name,
        "phone": all_phones[0],
        "phones": tuple(all_phones),
        "email": None,
        "source": "whatsapp",
        "locale": "pt-BR",
        "status": "PENDING_CONTACT",
        "created_by": "U",
        "created_at": NOW - timedelta(days=3),
        "updated_at": NOW - timedelta(days=3),
    }
    values.update(fields)
    return Lead(**values)  # type: ignore[arg-type]


def make_patient(id: str = "P", name: str = "Maria Souza", **fields: object) -> Patient:
    values: dict[str, object] = {
        "id": id,
        "tenant_id": "T",
        "name": name,
        "phones": ("+5511987654321",),
        "email": None,
        "cpf": None,
        "birth_date": None,
        "city": None,
        "locale": "pt-BR",
        "lead_id": None,
        "created_by": "U",
        "created_at": NOW - timedelta(days=30),
        "updated_at": NOW - timedelta(days=30),
    }
    values.update(fields)
    return Patient(**values)  # type: ignore[arg-type]


# --- merging --------------------------------------------------------------------------------------
def test_merge_fills_only_what_the_survivor_lacks() -> None:
    survivor = make_lead("A", "Maria Souza", "+5511987654321", email="maria@x.com", city="São Paulo")
    other = make_lead(
        "B",
        "Maria S.",
        "+5521976543210",
        email="other@x.com",
        cpf="11144477735",
        birth_date=date(1990, 5, 1),
        city="Rio",
        notes="Prefers mornings.",
        consents={"whatsapp": True, "email": False},
    )
    after, diff = merge(survivor, other, actor="V", now=NOW)
    assert after.phones == ("+5511987654321", "+5521976543210")
    assert after.phone == "+5511987654321"
    assert after.email == "maria@x.com"  # the survivor's own value wins
    assert after.city == "São Paulo"
    assert after.cpf == "11144477735"
    assert after.birth_date == date(1990, 5, 1)
    assert after.notes == "Prefers mornings."
    assert after.consents == {"email": False, "whatsapp": True}
    assert after.name == "Maria Souza"
    assert after.updated_by == "V"
    assert after.updated_at == NOW
    assert set(diff) == {"phones", "cpf", "birth_date", "notes", "consents"}
    assert diff["cpf"] == (None, "11144477735")


def test_merge_appends_notes_and_ors_consents() -> None:
    survivor = make_lead("A", notes="Called twice.", consents={"whatsapp": False, "sms": True})
    other = make_lead("B", notes="Asked about botox.", consents={"whatsapp": True})
    after, _ = merge(survivor, other, actor="V", now=NOW)
    assert after.notes is not None
    assert after.notes.startswith("Called twice.")
    assert after.notes.endswith("Asked about botox.")
    assert after.consents == {"sms": True, "whatsapp": True}


def test_merge_keeps_notes_within_the_limit() -> None:
    after, _ = merge(make_lead("A", notes="a" * MAX_NOTES), make_lead("B", notes="b" * 50), actor="V", now=NOW)
    assert after.notes is not None
    assert len(after.notes) == MAX_NOTES


def test_merge_takes_the_other_leads_patient_link() -> None:
    after, diff = merge(make_lead("A"), make_lead("B", patient_id="P"), actor="V", now=NOW)
    assert after.patient_id == "P"
    assert "patient_id" in diff


def test_merging_nothing_new_changes_nothing() -> None:
    survivor = make_lead("A")
    after, diff = merge(survivor, make_lead("B"), actor="V", now=NOW)
    assert after is survivor
    assert diff == {}


def test_a_ninth_digit_variant_is_not_added_twice() -> None:
    assert merged_phones(("+5511987654321",), ("+551187654321", "+5511900001111")) == (
        "+5511987654321",
        "+5511900001111",
    )


@pytest.mark.parametrize(
    ("survivor", "other", "error", "field"),
    [
        (make_lead("A"), make_lead("A"), InvalidLead, "other_id"),
        (make_lead("A", merged_into="Z"), make_lead("B"), Conflict, "lead_id"),
        (make_lead("A"), make_lead("B", merged_into="Z"), Conflict, "other_id"),
        (make_lead("A", cpf="11144477735"), make_lead("B", cpf="52998224725"), Conflict, "cpf"),
        (make_lead("A", patient_id="P"), make_lead("B", patient_id="Q"), Conflict, "patient_id"),
    ],
)
def test_refused_merges(survivor: Lead, other: Lead, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as caught:
        check_merge(survivor, other)
    assert getattr(caught.value, "field", None) == field


def test_same_cpf_or_one_cpf_merges() -> None:
    check_merge(make_lead("A", cpf="11144477735"), make_lead("B", cpf="11144477735"))
    check_merge(make_lead("A", cpf="11144477735"), make_lead("B"))


mobiles = st.builds(
    lambda ddd, first, rest: f"+55{ddd}9{first}{rest}",
    st.sampled_from(["11", "21", "31"]),
    st.sampled_from("123456789"),
    st.text("0123456789", min_size=7, max_size=7),
)
phone_lists = st.lists(mobiles, min_size=1, max_size=10, unique=True)


@given(phone_lists, st.lists(mobiles, max_size=10))
def test_merged_phones_keep_the_survivors_first_and_never_repeat_a_number(
    survivor: list[str], other: list[str]
) -> None:
    phones = merged_phones(tuple(survivor), tuple(other))
    assert phones[: len(survivor)] == tuple(survivor)[:MAX_PHONES]
    assert len(phones) <= MAX_PHONES
    seen: set[str] = set()
    for phone in phones:
        assert not seen & set(phone_variants(phone))
        seen.update(phone_variants(phone))
    assert set(phones) <= set(survivor) | set(other)


consents = st.dictionaries(st.sampled_from(["whatsapp", "sms", "email", "phone"]), st.booleans())


@given(consents, consents)
def test_merged_consents_are_the_or_of_both(a: dict[str, bool], b: dict[str, bool]) -> None:
    merged = merged_consents(a, b)
    assert set(merged) == set(a) | set(b)
    for channel, value in merged.items():
        assert value == (a.get(channel, False) or b.get(channel, False))
    assert merged_consents(b, a) == merged


# --- patients: conversion and linking --------------------------------------------------------------
def test_patient_from_lead_copies_the_contact_data() -> None:
    lead = make_lead(
        "A", "Maria Souza", "+5511987654321", "+5521976543210", email="m@x.com", cpf="11144477735", city="Rio"
    )
    patient = patient_from_lead(lead, patient_id="P", actor="V", now=NOW)
    assert (patient.name, patient.phones, patient.email, patient.cpf, patient.city, patient.locale) == (
        lead.name,
        lead.phones,
        "m@x.com",
        "11144477735",
        "Rio",
        "pt-BR",
    )
    assert patient.lead_id == "A"
    assert patient.phone == "+5511987654321"
    assert as_candidate(patient).kind == "patient"


def test_new_patient_validates() -> None:
    with pytest.raises(InvalidLead) as caught:
        new_patient(
            patient_id="P",
            tenant_id="T",
            name="Maria",
            phones=[],
            email=None,
            cpf=None,
            birth_date=None,
            city=None,
            locale=None,
            lead_id=None,
            created_by="U",
            now=NOW,
        )
    assert caught.value.field == "phones"
    with pytest.raises(InvalidLead) as caught:
        new_patient(
            patient_id="P",
            tenant_id="T",
            name="Maria",
            phones=["+5511987654321"],
            email=None,
            cpf=None,
            birth_date=NOW.date() + timedelta(days=1),
            city=None,
            locale=None,
            lead_id=None,
            created_by="U",
            now=NOW,
        )
    assert caught.value.field == "birth_date"


@pytest.mark.parametrize(
    ("lead", "patient", "why"),
    [
        (make_lead(cpf="11144477735"), make_patient(cpf="11144477735", name="Zé"), "same CPF"),
        (make_lead(cpf="11144477735"), make_patient(cpf="52998224725"), None),
        (make_lead(email="m@x.com"), make_patient(email="M@X.com", name="maria souza"), "same e-mail and name"),
        (make_lead(email="m@x.com", cpf="11144477735"), make_patient(email="m@x.com"), "same e-mail and name"),
        (make_lead(email="familia@x.com"), make_patient(email="familia@x.com", name="Beatriz Souza"), None),
        (make_lead(), make_patient(), None),  # a phone and a name are not enough to reuse a record
    ],
)
def test_same_patient(lead: Lead, patient: Patient, why: str | None) -> None:
    assert same_patient(lead, patient) == why


def test_existing_patient_prefers_the_cpf_then_the_oldest() -> None:
    lead = make_lead(email="m@x.com", cpf="11144477735")
    by_email = make_patient("E", email="m@x.com", created_at=NOW - timedelta(days=90))
    by_cpf = make_patient("C", cpf="11144477735")
    older_cpf = make_patient("O", cpf="11144477735", created_at=NOW - timedelta(days=60))
    assert existing_patient(lead, [by_email, by_cpf, older_cpf]) == (older_cpf, "same CPF")
    assert existing_patient(lead, [by_email]) == (by_email, "same e-mail and name")
    assert existing_patient(lead, []) is None


def test_a_converted_or_merged_lead_cannot_be_converted() -> None:
    check_can_convert(make_lead())
    with pytest.raises(Conflict) as caught:
        check_can_convert(make_lead(patient_id="P"))
    assert caught.value.field == "patient_id"
    with pytest.raises(Conflict) as caught:
        check_can_convert(make_lead(merged_into="B"))
    assert caught.value.field == "lead_id"


def test_link() -> None:
    linked = link(make_lead(), make_patient("P"), actor="V", now=NOW)
    assert linked.patient_id == "P"
    assert linked.updated_by == "V"
    assert link(replace(linked), make_patient("P"), actor="V", now=NOW).patient_id == "P"
    with pytest.raises(Conflict) as caught:
        link(linked, make_patient("Q"), actor="V", now=NOW)
    assert caught.value.field == "patient_id"
    with pytest.raises(Conflict):
        link(make_lead(merged_into="B"), make_patient("P"), actor="V", now=NOW)
