"""Intake channels end to end through the gateway: forms managed by clinic admins, the public web form
(JSON and form-urlencoded, consent, honeypot, rate limit, CORS) and the Tilda webhook (secret, test probe,
tranid de-duplication, malformed deliveries), and a second clinic whose forms are its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e

URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def public(stack: Stack) -> Iterator[httpx.Client]:
    """Someone on the internet: no token."""
    with httpx.Client(base_url=stack.gateway_url, timeout=20.0) as client:
        yield client


def make_form(api: Api, kind: str = "web", **fields: Any) -> dict[str, Any]:
    answer = api.http.post("/api/v1/leads/forms", json={"name": f"Form {uuid.uuid4().hex[:6]}", "kind": kind, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def leads_with(api: Api, q: str) -> list[dict[str, Any]]:
    answer = api.http.get("/api/v1/leads", params={"q": q})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def requests_of(api: Api, lead_id: str) -> list[dict[str, Any]]:
    answer = api.http.get(f"/api/v1/leads/{lead_id}/requests")
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def assert_problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
    return body


def web_path(form: dict[str, Any]) -> str:
    return f"/public/forms/{form['key']}"


def tilda_path(form: dict[str, Any]) -> str:
    return f"/webhooks/tilda/{form['key']}"


# --- managing forms ------------------------------------------------------------------------
def test_admin_creates_forms_and_a_tilda_secret_is_shown_once(stack: Stack, admin: Api, public: httpx.Client) -> None:
    web = make_form(admin, "web", source="instagram", treatment="evaluation")
    assert web["url"] == f"{stack.gateway_url}/public/forms/{web['key']}"
    assert len(web["key"]) >= 20
    assert (web["kind"], web["source"], web["treatment"], web["active"]) == ("web", "instagram", "evaluation", True)
    assert web["secret"] is None
    assert web["webhook_url"] is None

    tilda = make_form(admin, "tilda")
    assert tilda["source"] == "website_form"
    assert tilda["url"] == f"{stack.gateway_url}/webhooks/tilda/{tilda['key']}"
    assert tilda["secret"]
    assert tilda["webhook_url"] == f"{tilda['url']}?secret={tilda['secret']}"

    listed = {f["id"]: f for f in admin.http.get("/api/v1/leads/forms").json()["items"]}
    assert {web["id"], tilda["id"]} <= set(listed)
    assert listed[tilda["id"]]["secret"] is None
    assert listed[tilda["id"]]["webhook_url"] is None
    assert listed[tilda["id"]]["key"] == tilda["key"]

    rotated = admin.http.post(f"/api/v1/leads/forms/{tilda['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret
    assert new_secret != tilda["secret"]
    old = public.post(tilda_path(tilda), params={"secret": tilda["secret"]}, content=b"test=test", headers=URLENCODED)
    assert_problem(old, 401, "secret")
    new = public.post(tilda_path(tilda), params={"secret": new_secret}, content=b"test=test", headers=URLENCODED)
    assert (new.status_code, new.text) == (200, "ok")

    web_rotate = admin.http.post(f"/api/v1/leads/forms/{web['id']}/rotate-secret")
    assert_problem(web_rotate, 409, "kind")


def test_form_input_is_checked_and_only_admins_manage_forms(stack: Stack, admin: Api) -> None:
    bad_source = admin.http.post("/api/v1/leads/forms", json={"name": "X", "source": "carrier_pigeon"})
    assert_problem(bad_source, 422, "source")
    bad_kind = admin.http.post("/api/v1/leads/forms", json={"name": "X", "kind": "typeform"})
    assert_problem(bad_kind, 422, "kind")
    bad_treatment = admin.http.post("/api/v1/leads/forms", json={"name": "X", "treatment": "nope"})
    assert_problem(bad_treatment, 422, "treatment")

    email = f"agent-{uuid.uuid4().hex[:8]}@clinic.example"
    made = admin.http.post(
        "/api/v1/staff",
        json={"email": email, "full_name": "Agent", "password": "a-long-password", "roles": ["sales_agent"]},
    )
    assert made.status_code == 201, made.text
    agent = Api(stack, email, "a-long-password")
    assert_problem(agent.http.post("/api/v1/leads/forms", json={"name": "Mine"}), 403)
    assert agent.http.get("/api/v1/leads/forms").status_code == 200  # reading is crm:read
    form = make_form(admin)
    assert_problem(agent.http.patch(f"/api/v1/leads/forms/{form['id']}", json={"active": False}), 403)
    assert_problem(admin.http.patch(f"/api/v1/leads/forms/{uuid.uuid4()}", json={"active": False}), 404)


def test_deactivated_form_takes_no_submissions(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin)
    edited = admin.http.patch(
        f"/api/v1/leads/forms/{form['id']}", json={"active": False, "name": "Old site", "source": "google_search"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["active"], edited.json()["name"], edited.json()["source"]) == (
        False,
        "Old site",
        "google_search",
    )
    phone = unique_phone()
    answer = public.post(web_path(form), json={"name": "Ana", "phone": phone, "consent": True})
    assert_problem(answer, 404)
    assert_problem(public.get(web_path(form)), 404)
    assert leads_with(admin, phone) == []


# --- the public web form -------------------------------------------------------------------
def test_public_form_description_for_a_website(stack: Stack, admin: Api, public: httpx.Client) -> None:
    form = make_form(admin)
    answer = public.get(web_path(form))
    assert answer.status_code == 200, answer.text
    info = answer.json()
    assert info["name"] == form["name"]
    assert info["submit_url"] == form["url"]
    assert [(f["name"], f["required"]) for f in info["fields"]] == [
        ("name", True),
        ("phone", True),
        ("email", False),
        ("message", False),
        ("consent", True),
    ]
    assert info["fields"][0]["label"] == "Nome"  # the clinic's language
    assert "LGPD" in info["consent_text"]
    assert info["honeypot"] == "website"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert_problem(public.get("/public/forms/no-such-key"), 404)
    tilda = make_form(admin, "tilda")
    assert_problem(public.get(web_path(tilda)), 404)  # a Tilda form is not a web form


def test_web_form_json_creates_a_lead_with_source_attribution_consent_and_request(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin, source="instagram", treatment="evaluation")
    phone = unique_phone()
    answer = public.post(
        web_path(form),
        json={
            "name": "Juliana  Castro",
            "phone": phone,
            "email": "Juliana@Example.com",
            "message": "Quero avaliar harmonização",
            "consent": True,
            "website": "",
            "utm_source": "instagram",
            "utm_medium": "stories",
            "utm_campaign": "verao",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"status": "received"}  # no lead id to the public
    [lead] = leads_with(admin, phone)
    assert lead["name"] == "Juliana Castro"
    assert lead["email"] == "juliana@example.com"
    assert (lead["source"], lead["channel"], lead["status"]) == ("instagram", "web_form", "PENDING_CONTACT")
    assert lead["attribution"] == {"utm_source": "instagram", "utm_medium": "stories", "utm_campaign": "verao"}
    assert lead["consents"] == {"phone": True, "whatsapp": True, "email": True}
    assert lead["created_by"] == form["id"]
    assert lead["locale"] == "pt-BR"
    [request] = requests_of(admin, lead["id"])
    assert (request["intake"], request["treatment"], request["reason"]) == (
        "web_form",
        "evaluation",
        "Quero avaliar harmonização",
    )


def test_web_form_urlencoded_and_the_same_person_again_adds_a_request(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin)
    phone = unique_phone()
    national = f"({phone[3:5]}) {phone[5:10]}-{phone[10:]}"
    body = urlencode(
        {
            "name": "Rafael Moreira",
            "phone": national,
            "consent": "on",
            "website": "",
            "utm_source": "google",
            "utm_term": "clinica estetica",
        }
    )
    assert "phone=%2811%29+9" in body or "phone=%28" in body
    first = public.post(web_path(form), content=body.encode(), headers=URLENCODED)
    assert first.status_code == 201, first.text
    [lead] = leads_with(admin, phone)
    assert lead["phone"] == phone  # E.164 with the clinic's country
    assert (lead["source"], lead["channel"]) == ("website_form", "web_form")
    assert lead["attribution"] == {"utm_source": "google", "utm_term": "clinica estetica"}
    [request] = requests_of(admin, lead["id"])
    assert request["reason"] == f"Sent the form “{form['name']}”"

    again = public.post(
        web_path(form), json={"name": "Rafael Moreira", "phone": phone, "message": "Ainda tem horário?", "consent": "1"}
    )
    assert again.status_code == 201, again.text
    [same] = leads_with(admin, phone)  # no duplicate lead
    assert same["id"] == lead["id"]
    reasons = [r["reason"] for r in requests_of(admin, lead["id"])]
    assert reasons == ["Ainda tem horário?", f"Sent the form “{form['name']}”"]


def test_honeypot_answers_like_success_and_stores_nothing(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin)
    phone = unique_phone()
    answer = public.post(
        web_path(form),
        json={"name": "Bot", "phone": phone, "consent": True, "website": "http://cheap-pills.example"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"status": "received"}
    assert leads_with(admin, phone) == []


def test_missing_consent_and_bad_fields_are_422_naming_the_field(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin)
    phone = unique_phone()
    assert_problem(public.post(web_path(form), json={"name": "Ana", "phone": phone}), 422, "consent")
    assert_problem(public.post(web_path(form), json={"name": "Ana", "phone": phone, "consent": False}), 422, "consent")
    assert_problem(
        public.post(web_path(form), content=f"name=Ana&phone={phone}&consent=off".encode(), headers=URLENCODED),
        422,
        "consent",
    )
    form2 = make_form(admin)  # the limit is 5 per client and form
    assert_problem(public.post(web_path(form2), json={"name": "Ana", "phone": "123", "consent": True}), 422, "phone")
    assert_problem(
        public.post(web_path(form2), json={"name": "Ana", "phone": phone, "email": "nope", "consent": True}),
        422,
        "email",
    )
    assert_problem(public.post(web_path(form2), json={"phone": phone, "consent": True}), 422, "name")
    assert leads_with(admin, phone) == []


def test_web_form_rate_limit_per_client_and_form(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin)
    for _ in range(5):
        answer = public.post(web_path(form), json={"name": "Spam", "phone": unique_phone()})  # no consent: 422
        assert answer.status_code == 422, answer.text
    limited = public.post(web_path(form), json={"name": "Ana", "phone": unique_phone(), "consent": True})
    body = assert_problem(limited, 429)
    assert 0 < int(limited.headers["retry-after"]) <= 600
    assert "try again" in body["detail"]
    other = make_form(admin)  # another form of the clinic is counted apart
    assert (
        public.post(web_path(other), json={"name": "Ana", "phone": unique_phone(), "consent": True}).status_code == 201
    )


def test_web_form_answers_browsers_from_any_website(admin: Api, public: httpx.Client) -> None:
    form = make_form(admin)
    preflight = public.options(
        web_path(form),
        headers={
            "origin": "https://clinica.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.status_code == 204, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    refused = public.post(web_path(form), json={"name": "Ana"}, headers={"origin": "https://clinica.example"})
    assert refused.status_code == 422
    assert refused.headers["access-control-allow-origin"] == "*"  # the page can show the error


def test_garbage_never_makes_a_500(admin: Api, public: httpx.Client) -> None:
    web = make_form(admin)
    tilda = make_form(admin, "tilda")
    secret = {"secret": tilda["secret"]}
    garbage = os.urandom(2048)
    for path, params in ((web_path(web), {}), (tilda_path(tilda), secret)):
        assert_problem(public.post(path, params=params, content=garbage, headers={"content-type": "text/plain"}), 415)
        assert_problem(public.post(path, params=params, content=garbage), 415)  # no content type
        assert_problem(
            public.post(path, params=params, content=garbage, headers={"content-type": "application/json"}), 422
        )
        answer = public.post(path, params=params, content=garbage, headers=URLENCODED)
        assert answer.status_code in (413, 422), answer.text
        assert_problem(answer, answer.status_code)
        big = b"name=" + b"a" * (100 * 1024)
        assert_problem(public.post(path, params=params, content=big, headers=URLENCODED), 413)  # the service's limit
        huge = b"name=" + b"a" * (2 * 1024 * 1024)
        assert_problem(public.post(path, params=params, content=huge, headers=URLENCODED), 413)  # the gateway's
        many = "&".join(f"f{i}=x" for i in range(500)).encode()
        assert_problem(public.post(path, params=params, content=many, headers=URLENCODED), 413)
        nul = b"name=%00%00&phone=%00&consent=on&tranid=%00"
        assert public.post(path, params=params, content=nul, headers=URLENCODED).status_code == 422


# --- Tilda ---------------------------------------------------------------------------------
def test_tilda_test_probe_needs_the_secret(admin: Api, public: httpx.Client) -> None:
    form = make_form(admin, "tilda")
    ok = public.post(tilda_path(form), params={"secret": form["secret"]}, content=b"test=test", headers=URLENCODED)
    assert (ok.status_code, ok.text) == (200, "ok")
    by_header = public.post(tilda_path(form), content=b"test=test", headers={**URLENCODED, "X-Api-Key": form["secret"]})
    assert (by_header.status_code, by_header.text) == (200, "ok")
    assert_problem(public.post(tilda_path(form), content=b"test=test", headers=URLENCODED), 401, "secret")
    assert_problem(public.post("/webhooks/tilda/unknown-key", content=b"test=test", headers=URLENCODED), 404)


def test_tilda_submission_creates_a_lead_and_a_redelivery_is_stored_once(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin, "tilda", source="social_media_ads", treatment="first_consultation")
    phone = unique_phone()
    national = f"+55 ({phone[3:5]}) {phone[5:10]}-{phone[10:]}"
    tranid = f"{uuid.uuid4().int % 10**7}:{uuid.uuid4().int % 10**7}"
    fields = {
        "Name": "Patrícia Almeida",
        "Phone": national,
        "Email": "patricia@example.com",
        "Procedimento": "Botox",
        "Comments": "Prefiro à tarde",
        "utm_source": "facebook",
        "utm_campaign": "botox-novembro",
        "tranid": tranid,
        "formid": "form731045123",
        "COOKIES": "_ga=GA1.1.1; tildauid=1",
    }
    headers = {**URLENCODED, "X-Api-Key": form["secret"]}
    first = public.post(tilda_path(form), data=fields, headers={"X-Api-Key": form["secret"]})
    assert (first.status_code, first.text) == (200, "ok")
    [lead] = leads_with(admin, phone)
    assert (lead["name"], lead["email"]) == ("Patrícia Almeida", "patricia@example.com")
    assert (lead["source"], lead["channel"]) == ("social_media_ads", "tilda")
    assert lead["attribution"] == {
        "utm_source": "facebook",
        "utm_campaign": "botox-novembro",
        "tilda_formid": "form731045123",
    }
    [request] = requests_of(admin, lead["id"])
    assert (request["intake"], request["treatment"]) == ("tilda", "first_consultation")
    assert request["reason"] == "Prefiro à tarde\nProcedimento: Botox"

    body = urlencode(fields).encode()
    again = public.post(tilda_path(form), content=body, headers=headers)  # Tilda retries the same tranid
    assert (again.status_code, again.text) == (200, "ok")
    assert [x["id"] for x in leads_with(admin, phone)] == [lead["id"]]
    assert len(requests_of(admin, lead["id"])) == 1

    other_tranid = {**fields, "tranid": tranid + "9", "Comments": "Outra pergunta"}
    third = public.post(tilda_path(form), params={"secret": form["secret"]}, data=other_tranid)
    assert third.status_code == 200, third.text
    assert [x["id"] for x in leads_with(admin, phone)] == [lead["id"]]  # the same person: a request is added
    assert len(requests_of(admin, lead["id"])) == 2


def test_tilda_wrong_secret_and_malformed_deliveries_store_nothing(
    admin: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    form = make_form(admin, "tilda")
    phone = unique_phone()
    fields = {"Name": "Mariana Prado", "Phone": phone, "tranid": f"1:{uuid.uuid4().hex[:8]}"}
    wrong = public.post(tilda_path(form), params={"secret": "guess"}, data=fields)
    assert_problem(wrong, 401, "secret")
    other_form = make_form(admin, "tilda")
    crossed = public.post(tilda_path(form), params={"secret": other_form["secret"]}, data=fields)
    assert_problem(crossed, 401, "secret")
    assert leads_with(admin, phone) == []

    name = f"Sem Contato {uuid.uuid4().hex[:8]}"
    malformed = public.post(
        tilda_path(form),
        params={"secret": form["secret"]},
        data={"Name": name, "Comments": "oi", "tranid": f"2:{uuid.uuid4().hex[:8]}"},
    )
    assert_problem(malformed, 422, "phone")
    assert leads_with(admin, name) == []
    email_only = public.post(
        tilda_path(form), params={"secret": form["secret"]}, data={"Name": name, "Email": "x@example.com"}
    )
    assert_problem(email_only, 422, "phone")
    tranid = f"3:{uuid.uuid4().hex[:8]}"
    bad_phone = public.post(
        tilda_path(form), params={"secret": form["secret"]}, data={"Name": name, "Phone": "12", "tranid": tranid}
    )
    assert_problem(bad_phone, 422, "phone")
    assert leads_with(admin, name) == []
    # the refused tranid was not remembered: the corrected delivery goes through
    fixed = public.post(
        tilda_path(form), params={"secret": form["secret"]}, data={"Name": name, "Phone": phone, "tranid": tranid}
    )
    assert fixed.status_code == 200, fixed.text
    assert [x["name"] for x in leads_with(admin, phone)] == [name]


# --- a second clinic -----------------------------------------------------------------------
def test_a_second_clinics_forms_are_its_own(
    admin: Api, other_clinic: Api, public: httpx.Client, unique_phone: Callable[[], str]
) -> None:
    mine = make_form(admin, "tilda")
    theirs = make_form(other_clinic, "tilda")
    their_web = make_form(other_clinic, "web")
    listed = admin.http.get("/api/v1/leads/forms").json()["items"]
    assert {theirs["id"], their_web["id"]}.isdisjoint({f["id"] for f in listed})
    assert mine["id"] not in {f["id"] for f in other_clinic.http.get("/api/v1/leads/forms").json()["items"]}
    assert_problem(other_clinic.http.patch(f"/api/v1/leads/forms/{mine['id']}", json={"active": False}), 404)
    assert_problem(other_clinic.http.post(f"/api/v1/leads/forms/{mine['id']}/rotate-secret"), 404)

    # the same tranid at both clinics is two submissions
    phone = unique_phone()
    tranid = f"7:{uuid.uuid4().hex[:8]}"
    fields = {"Name": "Helena Rocha", "Phone": phone, "tranid": tranid}
    assert public.post(tilda_path(mine), params={"secret": mine["secret"]}, data=fields).status_code == 200
    assert_problem(public.post(tilda_path(theirs), params={"secret": mine["secret"]}, data=fields), 401)
    assert public.post(tilda_path(theirs), params={"secret": theirs["secret"]}, data=fields).status_code == 200
    [at_mine] = leads_with(admin, phone)
    [at_theirs] = leads_with(other_clinic, phone)
    assert at_mine["id"] != at_theirs["id"]

    web_phone = unique_phone()
    answer = public.post(web_path(their_web), json={"name": "Otávio", "phone": web_phone, "consent": True})
    assert answer.status_code == 201, answer.text
    assert len(leads_with(other_clinic, web_phone)) == 1
    assert leads_with(admin, web_phone) == []
