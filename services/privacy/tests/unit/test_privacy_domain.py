"""Rules of privacy, no IO: identifiers, consent as it stands, due dates per region, requests, links, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privacy.domain import (
    COMPLETED,
    IN_PROGRESS,
    OPEN,
    REJECTED,
    Conflict,
    Consent,
    ExportLink,
    Gone,
    InvalidPrivacy,
    LinkInvalid,
    Part,
    Subject,
    SubjectRequest,
    allowed,
    check_link_usable,
    clean_corrections,
    clean_cpf,
    clean_email,
    clean_phone,
    clean_retention,
    clean_subject,
    clinic_for,
    current_consents,
    due_at,
    parts_done,
    person_key,
    resolve,
)

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
LEAD = "0193a0c2-7b4e-7c1a-9a51-3f7c2d9e8b10"


def _consent(purpose: str, channel: str, granted: bool, minutes: int) -> Consent:
    return Consent(
        id=f"c{minutes:04d}",
        tenant_id="t",
        person_key=f"lead:{LEAD}",
        lead_id=LEAD,
        patient_id=None,
        phone=None,
        email=None,
        purpose=purpose,
        channel=channel,
        granted=granted,
        source="console",
        text="ok" if granted else None,
        recorded_by=None,
        at=T0 + timedelta(minutes=minutes),
    )


def test_identifiers_are_normalised() -> None:
    assert clean_phone("+55 (11) 98765-4321") == "+5511987654321"
    assert clean_email(" Maria@Example.COM ") == "maria@example.com"
    assert clean_cpf("529.982.247-25") == "52998224725"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: clean_phone("11 98765"), "phone"),
        (lambda: clean_email("maria"), "email"),
        (lambda: clean_cpf("529.982.247-24"), "cpf"),
        (lambda: clean_cpf("111.111.111-11"), "cpf"),
    ],
)
def test_bad_identifiers_name_their_field(call: object, field: str) -> None:
    with pytest.raises(InvalidPrivacy) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field


def test_a_subject_needs_an_identifier_and_is_deduplicated() -> None:
    with pytest.raises(InvalidPrivacy) as caught:
        clean_subject(lead_ids=[], patient_ids=[], phones=[], emails=[], cpfs=[])
    assert caught.value.field == "subject"
    subject = clean_subject(
        lead_ids=[LEAD, LEAD.upper()], patient_ids=[], phones=["+5511987654321"], emails=[], cpfs=[]
    )
    assert subject.lead_ids == (LEAD,)
    merged = subject.merged(Subject(phones=("+5511987654321", "+5511900000000")))
    assert merged.phones == ("+5511987654321", "+5511900000000")


def test_the_person_key_prefers_the_most_stable_identifier() -> None:
    assert person_key(LEAD, "p1", "+5511987654321", None) == "patient:p1"
    assert person_key(LEAD, None, "+5511987654321", None) == f"lead:{LEAD}"
    assert person_key(None, None, None, "a@b.co") == "email:a@b.co"
    with pytest.raises(InvalidPrivacy):
        person_key(None, None, None, None)


def test_the_latest_entry_per_purpose_and_channel_is_the_consent() -> None:
    ledger = [
        _consent("marketing", "whatsapp", True, 0),
        _consent("marketing", "whatsapp", False, 10),
        _consent("reminders", "any", True, 5),
    ]
    current = current_consents(ledger)
    assert current[("marketing", "whatsapp")].granted is False
    assert allowed(ledger, "marketing", "whatsapp") is False
    assert allowed(ledger, "reminders", "sms") is True  # "any" covers every channel
    assert allowed(ledger, "external_ai", "any") is None  # never asked


def test_a_withdrawal_on_any_channel_wins_over_a_channel_consent() -> None:
    ledger = [_consent("marketing", "email", True, 0), _consent("marketing", "any", False, 1)]
    assert allowed(ledger, "marketing", "email") is False
    assert allowed([*ledger, _consent("marketing", "any", True, 2)], "marketing", "email") is True


@pytest.mark.parametrize(
    ("country", "region", "days", "law"),
    [("BR", "br", 15, "LGPD"), ("ES", "eu", 30, "GDPR"), ("RU", "ru", 14, "152-FZ"), ("MX", "latam", 20, "LFPDPPP")],
)
def test_the_region_and_the_days_to_answer_follow_the_clinic_country(
    country: str, region: str, days: int, law: str
) -> None:
    clinic = clinic_for("t", country, T0)
    assert (clinic.region, clinic.response_days, clinic.law) == (region, days, law)
    assert due_at(clinic, T0) == T0 + timedelta(days=days)


def test_a_clinic_may_answer_sooner_but_not_beyond_ninety_days() -> None:
    assert clinic_for("t", "BR", T0, response_days=7).response_days == 7
    with pytest.raises(InvalidPrivacy) as caught:
        clinic_for("t", "BR", T0, response_days=120)
    assert caught.value.field == "response_days"


def _request(kind: str, status: str = IN_PROGRESS, parts: tuple[Part, ...] = ()) -> SubjectRequest:
    return SubjectRequest(
        id="r",
        tenant_id="t",
        kind=kind,
        status=status,
        subject=Subject(lead_ids=(LEAD,)),
        details=None,
        corrections={},
        requested_by="u",
        requested_at=T0,
        due_at=T0 + timedelta(days=15),
        parts=parts,
    )


def test_a_request_is_done_when_every_service_answered_in_kind() -> None:
    services = ("leads", "payments")
    half = _request("export", parts=(Part("leads", "ready"), Part("payments", "pending")))
    assert not parts_done(half, services)
    assert parts_done(_request("export", parts=(Part("leads", "ready"), Part("payments", "ready"))), services)
    # an erasure needs "erased" answers, not export parts
    assert not parts_done(_request("erasure", parts=(Part("leads", "ready"), Part("payments", "ready"))), services)
    assert parts_done(_request("erasure", parts=(Part("leads", "erased"), Part("payments", "erased"))), services)


def test_overdue_is_past_the_due_date_while_open() -> None:
    late = T0 + timedelta(days=16)
    assert _request("export").overdue(late)
    assert not _request("export", status=COMPLETED).overdue(late)


def test_the_officer_completes_a_correction_or_rejects_with_a_reason() -> None:
    done = resolve(_request("correction", status=OPEN), COMPLETED, "name fixed in leads", T0)
    assert done.status == COMPLETED
    assert done.completed_at == T0
    with pytest.raises(Conflict):
        resolve(_request("export"), COMPLETED, None, T0)  # the services complete an export
    with pytest.raises(InvalidPrivacy) as caught:
        resolve(_request("erasure"), REJECTED, None, T0)
    assert caught.value.field == "resolution"
    with pytest.raises(Conflict):
        resolve(done, REJECTED, "again", T0)


def test_corrections_name_known_fields() -> None:
    assert clean_corrections({"name": " Maria Souza "}) == {"name": "Maria Souza"}
    with pytest.raises(InvalidPrivacy) as caught:
        clean_corrections({"password": "x"})
    assert caught.value.field == "corrections"


def test_an_export_link_opens_once_and_not_after_it_expires() -> None:
    link = ExportLink("l", "t", "r", "u", T0, T0 + timedelta(hours=1))
    assert check_link_usable(link, T0 + timedelta(minutes=5)) == link
    with pytest.raises(Gone):
        check_link_usable(link, T0 + timedelta(hours=1))
    with pytest.raises(Gone):
        check_link_usable(ExportLink("l", "t", "r", "u", T0, T0 + timedelta(hours=1), used_at=T0), T0)
    with pytest.raises(LinkInvalid):
        check_link_usable(None, T0)


def test_retention_rules_name_a_kind_and_a_sane_period() -> None:
    assert clean_retention("read_audit", 365) == ("read_audit", 365)
    with pytest.raises(InvalidPrivacy) as caught:
        clean_retention("everything", 30)
    assert caught.value.field == "kind"
    with pytest.raises(InvalidPrivacy) as caught:
        clean_retention("recordings", 0)
    assert caught.value.field == "days"
