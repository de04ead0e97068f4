"""Intake rules: Tilda and web-form field mapping, honeypot, consent, secrets, body decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.domain.errors import InvalidLead, LeadsError
from leads.domain.intake import (
    HONEYPOT,
    MAX_FIELDS,
    MAX_REASON,
    Form,
    PayloadTooLarge,
    Submission,
    Unauthenticated,
    UnsupportedMediaType,
    check_form_name,
    check_kind,
    check_secret,
    clean_text,
    consent_text,
    consents,
    display_name,
    flatten,
    hash_secret,
    is_bot,
    is_tilda_test,
    is_truthy,
    secret_matches,
    tilda_submission,
    web_fields,
    web_submission,
)
from leads.schemas.intake import fields_from_body

NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)


def form(secret: str | None = "s3cret", kind: str = "tilda") -> Form:
    return Form(
        id="f1",
        tenant_id="t1",
        key="k1",
        kind=kind,
        name="Site",
        secret_hash=hash_secret(secret) if secret else None,
        source="website_form",
        treatment=None,
        country="BR",
        timezone="America/Sao_Paulo",
        locale="pt-BR",
        active=True,
        created_by="u1",
        created_at=NOW,
    )


# --- Tilda mapping -------------------------------------------------------------------------
def test_tilda_fields_map_case_insensitively() -> None:
    got = tilda_submission(
        {
            "Name": "Maria Souza",
            "Phone": "+55 (11) 98765-4321",
            "Email": "maria@example.com",
            "tranid": "1234567:8901234",
            "formid": "form123",
            "utm_source": "instagram",
            "utm_campaign": "black-friday",
        }
    )
    assert (got.name, got.phone, got.email) == ("Maria Souza", "+55 (11) 98765-4321", "maria@example.com")
    assert got.external_id == "1234567:8901234"
    assert got.attribution == {"utm_source": "instagram", "utm_campaign": "black-friday", "tilda_formid": "form123"}
    assert got.reason is None
    assert got.consent is False


@pytest.mark.parametrize("spelling", ["phone", "PHONE", "Phone", "pHoNe"])
def test_tilda_phone_in_any_case(spelling: str) -> None:
    assert tilda_submission({spelling: "11987654321", "name": "Ana"}).phone == "11987654321"


def test_tilda_custom_fields_and_message_become_the_reason() -> None:
    got = tilda_submission(
        {
            "Name": "Ana",
            "Phone": "11987654321",
            "Comments": "Quero saber o preço",
            "Procedimento": "Botox",
            "Input_3": "sexta à tarde",
            "COOKIES": "_ga=GA1.1; tildauid=1",
            "formname": "Cart",
        }
    )
    assert got.reason == "Quero saber o preço\nProcedimento: Botox\nInput_3: sexta à tarde"


def test_tilda_reason_is_cut_to_fit() -> None:
    fields = {"Phone": "11987654321", **{f"q{i}": "x" * 1500 for i in range(5)}}
    reason = tilda_submission(fields).reason
    assert reason is not None
    assert len(reason) == MAX_REASON
    assert reason.endswith("…")


def test_tilda_without_phone_and_email_is_refused_naming_the_phone() -> None:
    with pytest.raises(InvalidLead) as refused:
        tilda_submission({"Name": "Ana", "tranid": "1:2", "Comments": "hi"})
    assert refused.value.field == "phone"


def test_tilda_with_email_only_is_refused_naming_the_phone() -> None:
    with pytest.raises(InvalidLead) as refused:
        tilda_submission({"Email": "ana@example.com"})
    assert refused.value.field == "phone"
    assert "required" in str(refused.value)


@pytest.mark.parametrize("field", ["consent", "Consent", "agreement", "LGPD"])
def test_tilda_consent_checkbox_is_recognised(field: str) -> None:
    got = tilda_submission({"Phone": "11987654321", field: "yes"})
    assert got.consent
    assert consents(got) == {"phone": True, "whatsapp": True, "email": True}
    assert field.lower() not in (got.reason or "").lower()


def test_tilda_test_probe() -> None:
    assert is_tilda_test({"test": "test"})
    assert is_tilda_test({"TEST": "test"})
    assert not is_tilda_test({"test": "test", "Phone": "11987654321"})
    assert not is_tilda_test({"Phone": "11987654321"})
    assert not is_tilda_test({"test": "other"})


def test_nameless_submission_is_shown_by_email_or_phone() -> None:
    assert display_name(Submission(None, "119", "a@b.co", None, False, {})) == "a@b.co"
    assert display_name(Submission(None, "119", None, None, False, {})) == "119"
    assert display_name(Submission("Ana", "119", None, None, False, {})) == "Ana"


# --- web form ------------------------------------------------------------------------------
@pytest.mark.parametrize("ticked", ["true", "on", "yes", "1", "YES", " On "])
def test_web_form_consent_ticked(ticked: str) -> None:
    got = web_submission({"name": "Ana", "phone": "11987654321", "consent": ticked})
    assert got.consent
    assert consents(got)["whatsapp"] is True


@pytest.mark.parametrize("fields", [{}, {"consent": ""}, {"consent": "false"}, {"consent": "no"}, {"consent": "0"}])
def test_web_form_without_consent_is_refused_naming_consent(fields: dict[str, str]) -> None:
    with pytest.raises(InvalidLead) as refused:
        web_submission({"name": "Ana", "phone": "11987654321", **fields})
    assert refused.value.field == "consent"


@pytest.mark.parametrize(("missing", "field"), [("name", "name"), ("phone", "phone")])
def test_web_form_needs_name_and_phone(missing: str, field: str) -> None:
    fields = {"name": "Ana", "phone": "11987654321", "consent": "on"}
    fields[missing] = ""
    with pytest.raises(InvalidLead) as refused:
        web_submission(fields)
    assert refused.value.field == field


def test_web_form_keeps_utm_as_attribution_and_extra_fields_in_the_reason() -> None:
    got = web_submission(
        {
            "name": "Ana",
            "phone": "11987654321",
            "email": "ana@example.com",
            "message": "Harmonização facial",
            "consent": "on",
            "website": "",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_term": "",
            "preferred_time": "manhã",
        }
    )
    assert got.attribution == {"utm_source": "google", "utm_medium": "cpc"}
    assert got.reason == "Harmonização facial\npreferred_time: manhã"
    assert got.email == "ana@example.com"


def test_honeypot() -> None:
    assert is_bot({HONEYPOT: "http://spam.example"})
    assert not is_bot({HONEYPOT: "  "})
    assert not is_bot({"name": "Ana"})


def test_web_fields_are_labelled_in_the_clinic_language() -> None:
    assert [f.name for f in web_fields("pt-BR")] == ["name", "phone", "email", "message", "consent"]
    assert web_fields("pt-BR")[0].label == "Nome"
    assert web_fields("es")[0].label == "Nombre"
    assert web_fields("xx")[0].label == "Name"
    assert "LGPD" in consent_text("pt-BR")


def test_truthy() -> None:
    assert is_truthy(True)
    assert not is_truthy(False)
    assert not is_truthy(None)
    assert is_truthy("sim")


# --- forms and secrets ---------------------------------------------------------------------
def test_form_kind_and_name() -> None:
    assert check_kind("tilda") == "tilda"
    with pytest.raises(InvalidLead) as refused:
        check_kind("typeform")
    assert refused.value.field == "kind"
    assert check_form_name("  Site   principal ") == "Site principal"
    with pytest.raises(InvalidLead):
        check_form_name("   ")


def test_secret_checks() -> None:
    assert secret_matches("s3cret", hash_secret("s3cret"))
    assert not secret_matches("s3cret ", hash_secret("s3cret"))
    assert not secret_matches("", hash_secret(""))
    assert not secret_matches("x", None)
    check_secret("s3cret", form())
    for wrong in (None, "", "nope"):
        with pytest.raises(Unauthenticated) as refused:
            check_secret(wrong, form())
        assert refused.value.field == "secret"
    with pytest.raises(Unauthenticated):
        check_secret("anything", form(secret=None, kind="web"))


@given(st.text(max_size=40))
def test_only_the_secret_matches_its_hash(other: str) -> None:
    assert secret_matches(other, hash_secret("the-real-secret")) == (other == "the-real-secret")


# --- decoding ------------------------------------------------------------------------------
def test_flatten_joins_repeats_and_drops_array_brackets() -> None:
    assert flatten([("Services[]", "A"), ("Services[]", "B"), ("Name", " Ana ")]) == {
        "Services": "A, B",
        "Name": "Ana",
    }


def test_flatten_limits() -> None:
    with pytest.raises(PayloadTooLarge):
        flatten([(f"f{i}", "x") for i in range(MAX_FIELDS + 1)])
    with pytest.raises(InvalidLead) as refused:
        flatten([("message", "x" * 2001)])
    assert refused.value.field == "message"
    with pytest.raises(PayloadTooLarge):
        flatten([("k" * 65, "x")])


@given(st.text())
def test_clean_text_leaves_no_control_characters(raw: str) -> None:
    cleaned = clean_text(raw)
    assert "\x00" not in cleaned
    assert all(c in "\t\n\r" or ord(c) >= 0x20 for c in cleaned if ord(c) < 0x80 and c != "\x7f")
    assert "\x7f" not in cleaned


def test_form_urlencoded_body() -> None:
    body = b"Name=Maria+Souza&Phone=%2B55+11+98765-4321&tranid=1%3A2&Email="
    assert fields_from_body("application/x-www-form-urlencoded; charset=UTF-8", body) == {
        "Name": "Maria Souza",
        "Phone": "+55 11 98765-4321",
        "tranid": "1:2",
        "Email": "",
    }


def test_json_body() -> None:
    body = b'{"name": "Ana", "consent": true, "age": 30, "tags": ["a", "b"], "email": null}'
    assert fields_from_body("application/json", body) == {"name": "Ana", "consent": "true", "age": "30", "tags": "a, b"}


def test_nested_json_is_kept_as_its_text() -> None:
    body = b'{"Phone": "11987654321", "payment": {"orderid": "42", "amount": 150}}'
    fields = fields_from_body("application/json", body)
    assert fields["payment"] == '{"orderid":"42","amount":150}'
    assert tilda_submission(fields).reason == 'payment: {"orderid":"42","amount":150}'


@pytest.mark.parametrize(
    ("content_type", "body", "error", "field"),
    [
        ("application/json", b"{not json", InvalidLead, "body"),
        ("application/json", b"[1, 2]", InvalidLead, "body"),
        ("application/json", b"[" * 5000 + b"]" * 5000, InvalidLead, "body"),
        ("text/plain", b"name=Ana", UnsupportedMediaType, "content-type"),
        (None, b"name=Ana", UnsupportedMediaType, "content-type"),
        ("multipart/form-data; boundary=x", b"--x--", UnsupportedMediaType, "content-type"),
    ],
)
def test_bad_bodies_are_domain_errors(
    content_type: str | None, body: bytes, error: type[LeadsError], field: str
) -> None:
    with pytest.raises(error) as refused:
        fields_from_body(content_type, body)
    assert refused.value.field == field


@given(st.binary(max_size=2000), st.sampled_from(["application/x-www-form-urlencoded", "application/json"]))
def test_random_bytes_never_escape_as_anything_but_a_domain_error(body: bytes, content_type: str) -> None:
    try:
        fields = fields_from_body(content_type, body)
    except LeadsError:
        return
    for key, value in fields.items():
        assert "\x00" not in key
        assert "\x00" not in value
    try:
        tilda_submission(fields)
        web_submission(fields)
    except LeadsError:
        pass
