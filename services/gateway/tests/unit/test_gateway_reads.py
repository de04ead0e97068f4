"""gateway.reads: which proxied GETs open a personal record (the read audit)."""

from __future__ import annotations

from gateway.reads import clean_purpose, record_of

ID = "0193a0c2-7b4e-7c1a-9a51-3f7c2d9e8b10"


def test_personal_records_are_recognised_by_their_path() -> None:
    assert record_of(f"/api/v1/leads/{ID}", "") == ("lead", ID)
    assert record_of(f"/api/v1/notifications/conversations/{ID}", "") == ("conversation", ID)
    assert record_of(f"/api/v1/telephony/recordings/{ID}/link", "") == ("recording", ID)
    assert record_of(f"/api/v1/scheduling/appointments/{ID}", "") == ("appointment", ID)
    assert record_of("/api/v1/scheduling/anamnesis", f"lead_id={ID}") == ("anamnesis", ID)


def test_lists_and_other_paths_are_not_reads_of_a_record() -> None:
    assert record_of("/api/v1/leads", "") is None
    assert record_of(f"/api/v1/leads/{ID}/audit", "") is None
    assert record_of("/api/v1/scheduling/anamnesis", "lead_id=nope") is None


def test_the_purpose_is_trimmed_and_bounded() -> None:
    assert clean_purpose("  treatment   follow-up ") == "treatment follow-up"
    assert clean_purpose("") is None
    assert len(clean_purpose("x" * 500) or "") == 200
