"""Matching scores, phone variants (the Brazilian ninth digit), names; properties with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from leads.domain.matching import (
    NAME_ONLY_CAP,
    RELATIVE_CAP,
    SAME_PERSON,
    SHOW,
    Candidate,
    Contact,
    different_first_names,
    duplicate_of,
    name_similarity,
    phone_variants,
    rank,
    same_name,
    score,
    with_ninth_digit,
)

MOTHER_PHONE = "+5511987654321"
OLD_FORM = "+551187654321"


def lead(
    name: str,
    *phones: str,
    email: str | None = None,
    cpf: str | None = None,
    id: str = "L1",
    kind: str = "lead",
    is_open: bool = True,
) -> Candidate:
    return Candidate(
        kind=kind, id=id, name=name, phones=phones, email=email, cpf=cpf, status="PENDING_CONTACT", is_open=is_open
    )


# --- phone variants -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+5511987654321", ("+5511987654321", "+551187654321")),
        ("+551187654321", ("+551187654321", "+5511987654321")),
        ("+5521976543210", ("+5521976543210", "+552176543210")),
        ("+551134567890", ("+551134567890",)),  # a landline (starts 2-5) never had a ninth digit
        ("+5511912345678", ("+5511912345678",)),  # 9-1xxx: no old 8-digit mobile started with 1
        ("+5511934567890", ("+5511934567890",)),  # dropping the 9 would give a landline number
        ("+351912345678", ("+351912345678",)),  # not Brazil
        ("+14155550123", ("+14155550123",)),
    ],
)
def test_phone_variants(e164: str, expected: tuple[str, ...]) -> None:
    assert phone_variants(e164) == expected


def _br_numbers() -> st.SearchStrategy[str]:
    ddd = st.integers(11, 99).filter(lambda d: d % 10 != 0).map(str)
    return st.one_of(
        st.builds(lambda d, rest: f"+55{d}{rest}", ddd, st.text("0123456789", min_size=8, max_size=9)),
        st.builds(lambda d, rest: f"+55{d}9{rest}", ddd, st.text("0123456789", min_size=8, max_size=8)),
        st.builds(lambda rest: f"+{rest}", st.text("0123456789", min_size=8, max_size=14)),
    )


@given(_br_numbers())
def test_phone_variants_round_trip(e164: str) -> None:
    variants = phone_variants(e164)
    assert variants[0] == e164
    assert len(variants) == len(set(variants)) <= 2
    for variant in variants:
        assert e164 in phone_variants(variant)
        assert set(phone_variants(variant)) == set(variants)


@given(
    st.integers(11, 99).filter(lambda d: d % 10 != 0),
    st.sampled_from("6789"),
    st.text("0123456789", min_size=7, max_size=7),
)
def test_old_mobile_and_its_ninth_digit_form_are_variants_of_each_other(ddd: int, first: str, rest: str) -> None:
    old, new = f"+55{ddd}{first}{rest}", f"+55{ddd}9{first}{rest}"
    assert phone_variants(old) == (old, new)
    assert phone_variants(new) == (new, old)
    assert with_ninth_digit(f"({ddd}) {first}{rest[:3]}-{rest[3:]}", "BR") == new
    assert with_ninth_digit(f"+55 {ddd} {first}{rest}", "PT") == new


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+55 11 8765-4321", "BR", "+5511987654321"),
        ("+55 11 8765-4321", "US", "+5511987654321"),
        ("(11) 8765-4321", "BR", "+5511987654321"),
        ("011 8765-4321", "BR", "+5511987654321"),
        ("0055 11 8765 4321", "BR", "+5511987654321"),
        ("(11) 8765-4321", "PT", None),  # national format of another country
        ("+55 11 3456-7890", "BR", None),  # a landline
        ("+55 11 98765-4321", "BR", None),  # already has it
        ("+1 415 555 0123", "BR", None),
        ("8765-4321", "BR", None),  # no area code
        ("", "BR", None),
    ],
)
def test_with_ninth_digit(raw: str, country: str, expected: str | None) -> None:
    assert with_ninth_digit(raw, country) == expected


# --- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "at_least"),
    [
        ("José Conceição", "jose conceicao", 1.0),
        ("Maria da Silva Souza", "Maria Souza", 0.85),  # a missing middle name
        ("Souza Maria", "Maria Souza", 0.85),  # word order
        ("José Conceição", "Jose Conseicao", 0.85),  # a typo
        ("João Pereira", "Joao Pereira", 1.0),
        ("Luiz Lima", "Luis Lima", 1.0),  # spellings of one name
        ("Thaís Mattos", "Tais Matos", 1.0),
    ],
)
def test_similar_names(a: str, b: str, at_least: float) -> None:
    assert name_similarity(a, b) >= at_least
    assert name_similarity(b, a) == name_similarity(a, b)


@pytest.mark.parametrize(("a", "b"), [("Maria Souza", "Carlos Almeida"), ("Ana", "Roberto Figueiredo")])
def test_unrelated_names(a: str, b: str) -> None:
    assert name_similarity(a, b) < 0.6


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Souza Maria", "Maria Souza", True),  # another word order
        ("Maria da Silva Souza", "Maria Souza", True),
        ("Maria Silva Silva", "Maria Silva Santos", False),  # a repeated word counts twice
        ("Paulo Lima", "Paula Lima", False),
        ("M. Souza", "Maria Souza", False),  # an initial: maybe, not surely
    ],
)
def test_same_name(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same
    assert same_name(b, a) is same


def test_a_reordered_name_on_the_same_phone_is_the_same_person_not_a_relative() -> None:
    m = score(Contact("Souza Maria", (MOTHER_PHONE,)), lead("Maria Souza", MOTHER_PHONE))
    assert m.reasons == ("same phone", "same name")
    assert m.score >= SAME_PERSON


@pytest.mark.parametrize(
    ("a", "b", "different"),
    [
        ("Maria Souza", "João Souza", True),
        ("Maria Souza", "Beatriz Souza", True),
        ("M. Souza", "Maria Souza", False),
        ("M. Souza", "João Souza", True),
        ("Luiz Lima", "Luis Lima", False),
        ("Thaís Lima", "Tais Lima", False),
        ("Souza Maria", "Maria Souza", False),
        ("Anna", "Ana", False),
        ("Rafael", "Raphael", False),
        ("Tereza", "Teresa", False),
        ("Paulo Lima", "Paula Lima", True),  # a gendered pair: two people of one family, most likely
        ("Mário Souza", "Maria Souza", True),
        ("Daniel", "Daniela", True),
        ("Luiz", "Luiza", True),
        ("Vicente", "Vicenta", True),
        ("Maria", "Mariana", True),
        ("José", "Josefa", True),
        ("José", "Jose", False),
        ("", "Maria", False),
    ],
)
def test_different_first_names(a: str, b: str, different: bool) -> None:
    assert different_first_names(a, b) is different
    assert different_first_names(b, a) is different


@given(st.text(max_size=40), st.text(max_size=40))
def test_name_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert name_similarity(a, b) == name_similarity(b, a)
    assert 0.0 <= name_similarity(a, b) <= 1.0
    assert different_first_names(a, b) == different_first_names(b, a)


# --- scores -----------------------------------------------------------------------------------
def test_same_cpf_is_the_same_person_whatever_else() -> None:
    m = score(Contact("Zé", (), None, "11144477735"), lead("José Carlos Pereira", "+5521999998888", cpf="11144477735"))
    assert m.score >= SAME_PERSON
    assert "same CPF" in m.reasons


def test_different_cpfs_are_two_people_even_with_everything_else_in_common() -> None:
    m = score(
        Contact("Maria Souza", (MOTHER_PHONE,), "m@x.com", "11144477735"),
        lead("Maria Souza", MOTHER_PHONE, email="m@x.com", cpf="52998224725"),
    )
    assert m.score <= SHOW
    assert "different CPF" in m.reasons


def test_phone_and_name_make_the_same_person() -> None:
    m = score(Contact("Maria Souza", (MOTHER_PHONE,)), lead("Maria Souza", MOTHER_PHONE))
    assert m.score == 80
    assert m.reasons == ("same phone", "same name")


def test_the_ninth_digit_does_not_hide_a_match() -> None:
    m = score(Contact("Maria Souza", (OLD_FORM,)), lead("Maria Souza", MOTHER_PHONE))
    assert "same phone" in m.reasons
    assert m.score >= SAME_PERSON


def test_mother_and_daughter_share_a_phone_a_candidate_not_a_duplicate() -> None:
    mother = lead("Maria Souza Lima", MOTHER_PHONE)
    m = score(Contact("Beatriz Souza Lima", (MOTHER_PHONE,)), mother)
    assert m.reasons == ("same phone", "shared phone, different name")
    assert SHOW <= m.score <= RELATIVE_CAP < SAME_PERSON
    assert duplicate_of(Contact("Beatriz Souza Lima", (MOTHER_PHONE,)), [mother]) is None


@pytest.mark.parametrize(("a", "b"), [("Paulo Lima", "Paula Lima"), ("Mário Souza", "Maria Souza"), ("Luiz", "Luiza")])
def test_a_couple_or_siblings_with_alike_names_on_one_phone_are_not_merged(a: str, b: str) -> None:
    m = score(Contact(a, (MOTHER_PHONE,)), lead(b, MOTHER_PHONE))
    assert m.score < SAME_PERSON
    assert "shared phone, different name" in m.reasons


def test_shared_phone_and_family_email_still_not_the_same_person() -> None:
    m = score(
        Contact("Beatriz Souza", (MOTHER_PHONE,), "familia@x.com"),
        lead("Maria Souza", MOTHER_PHONE, email="familia@x.com"),
    )
    assert m.score < SAME_PERSON
    assert "shared phone, different name" in m.reasons


def test_email_is_case_insensitive() -> None:
    m = score(Contact(None, (), "Maria@X.com"), lead("Maria Souza", email="maria@x.com"))
    assert m.reasons == ("same e-mail",)
    assert m.score == 60


def test_a_name_alone_is_weak_evidence() -> None:
    m = score(Contact("José Conceição"), lead("Jose Conceicao", "+5511911112222"))
    assert m.reasons == ("same name",)
    assert SHOW <= m.score <= NAME_ONLY_CAP


def test_a_similar_name_alone_is_not_shown() -> None:
    m = score(Contact("Maria Souza"), lead("Maria Aparecida Souto"))
    assert m.score < SHOW


def test_an_unknown_name_is_no_evidence_either_way() -> None:
    assert score(Contact(None, (MOTHER_PHONE,)), lead("Maria", MOTHER_PHONE)).reasons == ("same phone",)
    assert score(Contact("Maria", (MOTHER_PHONE,)), lead(" ", MOTHER_PHONE)).reasons == ("same phone",)


def test_phone_and_email_without_a_name_are_the_same_person() -> None:
    m = score(Contact(None, (MOTHER_PHONE,), "m@x.com"), lead("Maria Souza", MOTHER_PHONE, email="m@x.com"))
    assert m.score >= SAME_PERSON


def test_rank_is_best_first_dedupes_and_hides_weak_candidates() -> None:
    same = lead("Maria Souza", MOTHER_PHONE, id="A")
    relative = lead("Beatriz Souza", MOTHER_PHONE, id="B")
    stranger = lead("Carlos Almeida", "+5511900001111", id="C")
    patient = lead("Maria Souza", MOTHER_PHONE, id="A", kind="patient")
    found = rank(Contact("Maria Souza", (MOTHER_PHONE,)), [relative, stranger, same, same, patient])
    assert [(m.candidate.kind, m.candidate.id) for m in found] == [("lead", "A"), ("patient", "A"), ("lead", "B")]
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


def test_duplicate_of_looks_at_open_leads_only() -> None:
    query = Contact("Maria Souza", (MOTHER_PHONE,))
    assert duplicate_of(query, [lead("Maria Souza", MOTHER_PHONE, kind="patient")]) is None
    assert duplicate_of(query, [lead("Maria Souza", MOTHER_PHONE, is_open=False)]) is None
    found = duplicate_of(query, [lead("Maria Souza", MOTHER_PHONE)])
    assert found is not None
    assert found.candidate.id == "L1"


# --- properties -------------------------------------------------------------------------------
FIRST_NAMES = ["Maria", "João", "Ana", "Pedro", "Beatriz", "Lucas", "Fernanda", "Rafael", "Juliana", "Carlos"]
SURNAMES = ["Souza", "Silva", "Lima", "Pereira", "Conceição", "da Costa", "Oliveira"]
PHONES = ["+5511987654321", "+551187654321", "+5521976543210", "+551134567890", "+351912345678"]
EMAILS = [None, "a@x.com", "A@X.com", "b@y.org"]
CPFS = [None, "11144477735", "52998224725", "12345678909"]

names = st.one_of(
    st.builds(
        lambda f, s: f"{f} {' '.join(s)}", st.sampled_from(FIRST_NAMES), st.lists(st.sampled_from(SURNAMES), max_size=3)
    ),
    st.text(alphabet="abcdeéãçoõ .MJ", max_size=25),
)


@st.composite
def people(draw: st.DrawFn) -> tuple[str, tuple[str, ...], str | None, str | None]:
    return (
        draw(names),
        tuple(draw(st.lists(st.sampled_from(PHONES), max_size=3, unique=True))),
        draw(st.sampled_from(EMAILS)),
        draw(st.sampled_from(CPFS)),
    )


def as_contact(p: tuple[str, tuple[str, ...], str | None, str | None]) -> Contact:
    return Contact(p[0], p[1], p[2], p[3])


def as_candidate(p: tuple[str, tuple[str, ...], str | None, str | None]) -> Candidate:
    return lead(p[0], *p[1], email=p[2], cpf=p[3])


@given(people(), people())
def test_scores_are_symmetric(
    a: tuple[str, tuple[str, ...], str | None, str | None], b: tuple[str, tuple[str, ...], str | None, str | None]
) -> None:
    ab, ba = score(as_contact(a), as_candidate(b)), score(as_contact(b), as_candidate(a))
    assert (ab.score, ab.reasons) == (ba.score, ba.reasons)
    assert 0 <= ab.score <= 100


@given(people(), people())
def test_same_cpf_always_reaches_same_person(
    a: tuple[str, tuple[str, ...], str | None, str | None], b: tuple[str, tuple[str, ...], str | None, str | None]
) -> None:
    b = (b[0], b[1], b[2], a[3])
    assume(a[3] is not None)
    m = score(as_contact(a), as_candidate(b))
    assert m.score >= SAME_PERSON
    assert duplicate_of(as_contact(a), [as_candidate(b)]) is not None


@given(
    st.sampled_from(FIRST_NAMES),
    st.sampled_from(FIRST_NAMES),
    st.lists(st.sampled_from(SURNAMES), max_size=3),
    st.sampled_from(PHONES),
    st.lists(st.sampled_from(PHONES), max_size=2),
    st.sampled_from(EMAILS),
    st.sampled_from(EMAILS),
    st.sampled_from(CPFS),
    st.sampled_from(CPFS),
)
def test_a_shared_phone_with_a_different_first_name_never_makes_the_same_person(
    first_a: str,
    first_b: str,
    surnames: list[str],
    shared: str,
    more: list[str],
    email_a: str | None,
    email_b: str | None,
    cpf_a: str | None,
    cpf_b: str | None,
) -> None:
    assume(different_first_names(first_a, first_b))
    assume(not (cpf_a and cpf_a == cpf_b))
    surname = " ".join(surnames)
    query = Contact(f"{first_a} {surname}", (shared, *more), email_a, cpf_a)
    other = lead(f"{first_b} {surname}", *phone_variants(shared)[-1:], email=email_b, cpf=cpf_b)
    m = score(query, other)
    assert m.score < SAME_PERSON
    assert "shared phone, different name" in m.reasons
    assert duplicate_of(query, [other]) is None


@given(people(), people())
def test_different_cpfs_never_exceed_show(
    a: tuple[str, tuple[str, ...], str | None, str | None], b: tuple[str, tuple[str, ...], str | None, str | None]
) -> None:
    assume(a[3] is not None and b[3] is not None and a[3] != b[3])
    assert score(as_contact(a), as_candidate(b)).score <= SHOW


@given(people(), st.lists(people(), max_size=6), st.integers(0, 100))
def test_rank_is_sorted_and_above_the_minimum(
    q: tuple[str, tuple[str, ...], str | None, str | None],
    others: list[tuple[str, tuple[str, ...], str | None, str | None]],
    minimum: int,
) -> None:
    candidates = [lead(p[0], *p[1], email=p[2], cpf=p[3], id=str(i % 4)) for i, p in enumerate(others)]
    found = rank(as_contact(q), candidates, minimum=minimum)
    assert all(m.score >= minimum for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert len({m.candidate.id for m in found}) == len(found)
