"""Matching, merging, patients, linking and converting through the gateway with real tokens.

The module works in a clinic of its own (the session's stack is shared), so CPFs, e-mails and the nearest
names are its own; a second clinic proves it sees none of it."""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, new_clinic, outbox

pytestmark = pytest.mark.e2e

MATCH = "/api/v1/leads/match"
PATIENTS = "/api/v1/leads/patients"
MERGED = "clinicflow.leads.lead.merged.v1"
UPDATED = "clinicflow.leads.lead.updated.v1"
CONVERTED = "clinicflow.leads.lead.converted.v1"


@pytest.fixture(scope="module")
def clinic(stack: Stack, admin: Api) -> Api:
    return new_clinic(stack, admin, "Clínica Sorriso")


@pytest.fixture(scope="module")
def other(stack: Stack, admin: Api) -> Api:
    return new_clinic(stack, admin, "Clínica Vizinha")


_used: set[str] = set()


def mobile() -> tuple[str, str]:
    """A Brazilian mobile that had an 8-digit form before the ninth digit: (with the 9, without it)."""
    while True:
        eight = random.choice("6789") + "".join(random.choices(string.digits, k=7))
        if eight not in _used:
            _used.add(eight)
            return f"+55 11 9{eight[:4]}-{eight[4:]}", f"+55 11 {eight[:4]}-{eight[4:]}"


def e164(phone: str) -> str:
    return "+" + "".join(c for c in phone if c.isdigit())


def surname() -> str:
    """A made-up surname, so name searches find this test's people only."""
    return (
        random.choice("BCDFGLMNPRSTV")
        + "".join(random.choices("aeiou", k=1))
        + "".join(random.choice("rnlstm") + random.choice("aeiou") for _ in range(3))
    )


def cpf() -> str:
    """A random CPF with valid check digits."""
    while True:
        digits = [random.randint(0, 9) for _ in range(9)]
        if len(set(digits)) > 1:
            break
    for weight in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight, 1, -1), strict=False))
        digits.append(total * 10 % 11 % 10)
    text = "".join(map(str, digits))
    return f"{text[:3]}.{text[3:6]}.{text[6:9]}-{text[9:]}"


def email() -> str:
    return f"p-{uuid.uuid4().hex[:10]}@mail.example"


def lead(api: Api, name: str, phone: str, **fields: Any) -> dict[str, Any]:
    answer = api.http.post("/api/v1/leads", json={"name": name, "phone": phone, "source": "whatsapp", **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def match(api: Api, **query: Any) -> list[dict[str, Any]]:
    answer = api.http.post(MATCH, json=query)
    assert answer.status_code == 200, answer.text
    return answer.json()["candidates"]  # type: ignore[no-any-return]


def found(candidates: list[dict[str, Any]], id: str) -> dict[str, Any]:
    hits = [c for c in candidates if c["id"] == id]
    assert hits, f"{id} is not among {candidates}"
    return hits[0]


def register(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.http.post(PATIENTS, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def field_of(answer: httpx.Response) -> str:
    return answer.json()["errors"][0]["field"]  # type: ignore[no-any-return]


def get(api: Api, path: str) -> Any:
    answer = api.http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- matching -------------------------------------------------------------------------------------
def test_match_by_phone_without_the_ninth_digit(clinic: Api) -> None:
    phone, old_form = mobile()
    name = f"Marta {surname()}"
    made = lead(clinic, name, phone)
    assert made["phone"] == e164(phone)

    for query in (old_form, old_form.removeprefix("+55 ").replace("11 ", "(11) "), phone):
        hit = found(match(clinic, phone=query), made["id"])
        assert hit["kind"] == "lead"
        assert hit["reasons"] == ["same phone"]
        assert hit["score"] == 50
        assert hit["status"] == "PENDING_CONTACT"
        assert hit["name"] == name

    best = match(clinic, phone=old_form, name=name.upper())[0]
    assert best["id"] == made["id"]
    assert best["score"] >= 70
    assert best["reasons"] == ["same phone", "same name"]


def test_match_by_cpf_and_by_email_over_leads_and_patients(clinic: Api) -> None:
    phone, _ = mobile()
    address = email()
    made = lead(clinic, f"Rita {surname()}", phone, cpf="111.444.777-35", email=address)
    hit = found(match(clinic, cpf="11144477735"), made["id"])
    assert (hit["score"], hit["reasons"]) == (100, ["same CPF"])
    hit = found(match(clinic, email=address.upper()), made["id"])
    assert (hit["score"], hit["reasons"]) == (60, ["same e-mail"])

    patient_phone, _ = mobile()
    patient = register(clinic, name=f"Olga {surname()}", phone=patient_phone, cpf="529.982.247-25")
    hit = found(match(clinic, cpf="529.982.247-25"), patient["id"])
    assert hit["kind"] == "patient"
    assert hit["status"] is None
    assert hit["score"] == 100

    # A CPF that differs from the one on record: shown (the phone matches) but flagged, never the same person.
    hit = found(match(clinic, phone=phone, cpf="123.456.789-09"), made["id"])
    assert "different CPF" in hit["reasons"]
    assert hit["score"] <= 25


def test_match_by_name_with_accents_and_typos(clinic: Api) -> None:
    family = surname()
    phone, _ = mobile()
    made = lead(clinic, f"José Conceição {family}", phone)
    for query in (f"jose conceicao {family}", f"JOSÉ CONCEIÇÃO {family}", f"Jose Conseicao {family}"):
        hit = found(match(clinic, name=query), made["id"])
        assert hit["reasons"] == ["same name"], query
        assert 25 <= hit["score"] <= 40  # a name alone is weak evidence
    assert all(c["id"] != made["id"] for c in match(clinic, name=f"Carlos Almeida {surname()}"))


def test_bad_match_input_names_the_field(clinic: Api) -> None:
    for body, status, field in (
        ({}, 422, "phone"),
        ({"phone": "not a phone"}, 422, "phone"),
        ({"phone": "+55 11 1234"}, 422, "phone"),
        ({"cpf": "123.456.789-00"}, 422, "cpf"),
        ({"email": "nobody-at-nowhere"}, 422, "email"),
        ({"name": "é"}, 422, "name"),
        ({"phone": "+5511987654321", "age": 3}, 400, "age"),
    ):
        answer = clinic.http.post(MATCH, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field_of(answer) == field, (body, answer.text)


def test_a_shared_family_phone_makes_a_candidate_not_a_duplicate(clinic: Api) -> None:
    family = surname()
    phone, old_form = mobile()
    mother = lead(clinic, f"Maria {family} Lima", phone)
    # The daughter writes from her mother's phone: the default intake (on_duplicate=reject) makes a new lead.
    daughter = lead(clinic, f"Beatriz {family} Lima", phone)
    assert daughter["id"] != mother["id"]
    # The mother again, from the same phone: that is a duplicate.
    again = clinic.http.post(
        "/api/v1/leads", json={"name": f"Maria {family} Lima", "phone": phone, "source": "whatsapp"}
    )
    assert again.status_code == 409, again.text
    assert again.json()["candidates"][0]["id"] == mother["id"]

    candidates = match(clinic, phone=old_form, name=f"Beatriz {family} Lima")
    assert candidates[0]["id"] == daughter["id"]
    assert candidates[0]["score"] >= 70
    relative = found(candidates, mother["id"])
    assert relative["reasons"] == ["same phone", "shared phone, different name"]
    assert 25 <= relative["score"] < 70

    by_phone = match(clinic, phone=phone)
    assert {c["id"] for c in by_phone} >= {mother["id"], daughter["id"]}


# --- merging --------------------------------------------------------------------------------------
def test_merge_keeps_the_full_history_of_both(stack: Stack, clinic: Api) -> None:
    family = surname()
    phone_a, _ = mobile()
    phone_b, old_b = mobile()
    number = cpf()
    survivor = lead(clinic, f"Ana {family}", phone_a, reason="Asked about implants", notes="Prefers mornings.")
    other = lead(
        clinic,
        f"Ana {family} Lima",
        phone_b,
        email=email(),
        cpf=number,
        birth_date="1991-04-02",
        city="Campinas",
        notes="Called from work.",
        consents={"whatsapp": True},
        reason="Asked about whitening",
    )
    assert (
        clinic.http.post(f"/api/v1/leads/{other['id']}/status", json={"status": "CONTACTED_CALL_LATER"}).status_code
        == 200
    )
    assert (
        clinic.http.post(f"/api/v1/leads/{survivor['id']}/status", json={"status": "CONTACTED_NO_RESPONSE"}).status_code
        == 200
    )
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    activity = clinic.http.post(f"/api/v1/leads/{other['id']}/activities", json={"type": "call", "scheduled_at": when})
    assert activity.status_code == 201, activity.text

    answer = clinic.http.post(f"/api/v1/leads/{survivor['id']}/merge", json={"other_id": other["id"]})
    assert answer.status_code == 200, answer.text
    merged = answer.json()
    assert merged["id"] == survivor["id"]
    assert merged["phones"] == [e164(phone_a), e164(phone_b)]
    assert merged["phone"] == e164(phone_a)
    assert merged["email"] == other["email"]
    assert merged["cpf"] == other["cpf"]
    assert merged["birth_date"] == "1991-04-02"
    assert merged["city"] == "Campinas"
    assert merged["notes"].startswith("Prefers mornings.")
    assert merged["notes"].endswith("Called from work.")
    assert merged["consents"] == {"whatsapp": True}
    assert merged["status"] == "CONTACTED_NO_RESPONSE"
    assert merged["merged_into"] is None

    gone = get(clinic, f"/api/v1/leads/{other['id']}")
    assert gone["merged_into"] == survivor["id"]

    reasons = {r["reason"] for r in get(clinic, f"/api/v1/leads/{survivor['id']}/requests")["items"]}
    assert reasons == {"Asked about implants", "Asked about whitening"}
    history = get(clinic, f"/api/v1/leads/{survivor['id']}/status-history")["items"]
    assert sorted(h["to_status"] for h in history) == sorted(
        ["PENDING_CONTACT", "PENDING_CONTACT", "CONTACTED_CALL_LATER", "CONTACTED_NO_RESPONSE"]
    )
    activities = get(clinic, f"/api/v1/leads/{survivor['id']}/activities")
    items = activities["items"] if isinstance(activities, dict) else activities
    assert activity.json()["id"] in [a["id"] for a in items]

    trail = get(clinic, f"/api/v1/leads/{survivor['id']}/audit")["items"]
    seen = {(e["entity_id"], e["action"]) for e in trail}
    assert (survivor["id"], "created") in seen
    assert (other["id"], "created") in seen
    assert (other["id"], "status_changed") in seen
    assert (survivor["id"], "status_changed") in seen
    merge_entry = next(e for e in trail if e["action"] == "merged")
    assert merge_entry["changes"]["merged_lead_id"] == other["id"]
    assert merge_entry["changes"]["filled"]["cpf"] == [None, other["cpf"]]
    assert [e["action"] for e in get(clinic, f"/api/v1/leads/{other['id']}/audit")["items"]] == ["merged_into"]

    events = outbox(stack, survivor["id"])
    merged_events = [p for t, p in events if t == MERGED]
    assert len(merged_events) == 1
    assert merged_events[0]["merged_lead_id"] == other["id"]
    updated = [p for t, p in events if t == UPDATED][-1]
    assert set(updated["fields"]) >= {"phones", "email", "cpf", "birth_date", "city", "notes", "consents"}

    # The merged lead is out of lists and matching; its phones now lead to the survivor.
    listed = clinic.http.get("/api/v1/leads", params={"q": e164(phone_b)}).json()
    assert [x["id"] for x in listed["items"]] == [survivor["id"]]
    assert [c["id"] for c in match(clinic, phone=old_b)] == [survivor["id"]]

    # Refused: again, into itself, into the merged one, and editing the merged one.
    again = clinic.http.post(f"/api/v1/leads/{survivor['id']}/merge", json={"other_id": other["id"]})
    assert (again.status_code, field_of(again)) == (409, "other_id")
    itself = clinic.http.post(f"/api/v1/leads/{survivor['id']}/merge", json={"other_id": survivor["id"]})
    assert (itself.status_code, field_of(itself)) == (422, "other_id")
    backwards = clinic.http.post(f"/api/v1/leads/{other['id']}/merge", json={"other_id": survivor["id"]})
    assert (backwards.status_code, field_of(backwards)) == (409, "lead_id")
    missing = clinic.http.post(f"/api/v1/leads/{survivor['id']}/merge", json={"other_id": str(uuid.uuid4())})
    assert (missing.status_code, field_of(missing)) == (404, "other_id")


def test_two_leads_with_different_cpfs_are_not_merged(clinic: Api) -> None:
    family = surname()
    a = lead(clinic, f"Lia {family}", mobile()[0], cpf=cpf())
    b = lead(clinic, f"Lia {family}", mobile()[0], cpf=cpf())
    answer = clinic.http.post(f"/api/v1/leads/{a['id']}/merge", json={"other_id": b["id"]})
    assert answer.status_code == 409, answer.text
    assert field_of(answer) == "cpf"
    assert get(clinic, f"/api/v1/leads/{b['id']}")["merged_into"] is None


# --- patients, converting, linking ---------------------------------------------------------------
def test_convert_creates_a_patient_and_publishes(stack: Stack, clinic: Api) -> None:
    phone, _ = mobile()
    number, address, name = cpf(), email(), f"Lucia {surname()}"
    made = lead(clinic, name, phone, cpf=number, email=address, city="Santos", birth_date="1985-01-20", locale="es")
    answer = clinic.http.post(f"/api/v1/leads/{made['id']}/convert")
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert done["created"] is True
    assert done["matched_by"] is None
    patient = done["patient"]
    assert (patient["name"], patient["phones"], patient["email"], patient["city"]) == (
        name,
        [e164(phone)],
        address,
        "Santos",
    )
    assert (patient["birth_date"], patient["locale"], patient["lead_id"]) == ("1985-01-20", "es", made["id"])
    assert patient["cpf"] == "".join(c for c in number if c.isdigit())
    assert done["lead"]["patient_id"] == patient["id"]
    assert get(clinic, f"/api/v1/leads/{made['id']}")["patient_id"] == patient["id"]
    assert get(clinic, f"{PATIENTS}/{patient['id']}") == patient

    trail = get(clinic, f"/api/v1/leads/{made['id']}/audit")["items"]
    converted = next(e for e in trail if e["action"] == "converted")
    assert converted["changes"]["patient_id"] == [None, patient["id"]]
    assert ("patient", "created") in {(e["entity"], e["action"]) for e in trail}
    events = [p for t, p in outbox(stack, made["id"]) if t == CONVERTED]
    assert len(events) == 1
    assert events[0]["patient_id"] == patient["id"]

    again = clinic.http.post(f"/api/v1/leads/{made['id']}/convert")
    assert (again.status_code, field_of(again)) == (409, "patient_id")

    for q in (name.lower(), number, address, phone):
        page = clinic.http.get(PATIENTS, params={"q": q})
        assert page.status_code == 200, page.text
        assert patient["id"] in [p["id"] for p in page.json()["items"]], q


def test_registering_a_patient_finds_the_prospect_and_conversion_reuses_the_record(stack: Stack, clinic: Api) -> None:
    phone, _ = mobile()
    number, family = cpf(), surname()
    prospect = lead(clinic, f"Helena {family}", phone)
    relative = lead(clinic, f"Paulo {family}", phone)
    # Reception registers the patient, with her phone and a landline ...
    patient = register(
        clinic, name=f"Helena {family}", phones=[phone, "+55 21 3456-7890"], cpf=number, birth_date="1970-06-30"
    )
    assert patient["phones"] == [e164(phone), "+552134567890"]
    assert patient["locale"] == "pt-BR"
    assert patient["lead_id"] is None
    # ... and is shown the prospects that look like her, best first: hers, then the relative on her phone.
    assert [c["id"] for c in patient["candidates"]][:2] == [prospect["id"], relative["id"]]
    assert patient["candidates"][0]["score"] >= 70
    assert "shared phone, different name" in patient["candidates"][1]["reasons"]
    assert all(c["kind"] == "lead" for c in patient["candidates"])

    # The same CPF twice is one patient.
    duplicate = clinic.http.post(PATIENTS, json={"name": "Someone Else", "phone": phone, "cpf": number})
    assert (duplicate.status_code, field_of(duplicate)) == (409, "cpf")

    # Converting a lead of hers (same CPF) links to that record instead of making a second one.
    second = clinic.http.post(
        "/api/v1/leads", json={"name": f"H. {family}", "phone": mobile()[0], "source": "walk_in", "cpf": number}
    )
    assert second.status_code == 201, second.text
    answer = clinic.http.post(f"/api/v1/leads/{second.json()['id']}/convert")
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert (done["created"], done["matched_by"], done["patient"]["id"]) == (False, "same CPF", patient["id"])
    assert next(p for t, p in outbox(stack, second.json()["id"]) if t == CONVERTED)["patient_id"] == patient["id"]


def test_link_a_lead_to_a_patient(stack: Stack, clinic: Api) -> None:
    family = surname()
    patient = register(clinic, name=f"Clara {family}", phone=mobile()[0], email=email())
    another = register(clinic, name=f"Nina {family}", phone=mobile()[0])
    made = lead(clinic, f"Clara {family}", mobile()[0])

    answer = clinic.http.post(f"/api/v1/leads/{made['id']}/link", json={"patient_id": patient["id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["patient_id"] == patient["id"]
    assert get(clinic, f"{PATIENTS}/{patient['id']}")["lead_id"] == made["id"]
    trail = get(clinic, f"/api/v1/leads/{made['id']}/audit")["items"]
    assert trail[-1]["action"] == "linked"
    assert trail[-1]["changes"]["patient_id"] == [None, patient["id"]]
    assert len([t for t, _ in outbox(stack, made["id"]) if t == CONVERTED]) == 1

    same = clinic.http.post(f"/api/v1/leads/{made['id']}/link", json={"patient_id": patient["id"]})
    assert same.status_code == 200, same.text
    assert len([t for t, _ in outbox(stack, made["id"]) if t == CONVERTED]) == 1  # nothing new
    elsewhere = clinic.http.post(f"/api/v1/leads/{made['id']}/link", json={"patient_id": another["id"]})
    assert (elsewhere.status_code, field_of(elsewhere)) == (409, "patient_id")
    unknown = clinic.http.post(f"/api/v1/leads/{made['id']}/link", json={"patient_id": str(uuid.uuid4())})
    assert (unknown.status_code, field_of(unknown)) == (404, "patient_id")
    converted = clinic.http.post(f"/api/v1/leads/{made['id']}/convert")
    assert (converted.status_code, field_of(converted)) == (409, "patient_id")


def test_bad_patient_input_names_the_field(clinic: Api) -> None:
    for body, status, field in (
        ({"name": "Ana"}, 422, "phones"),
        ({"name": "Ana", "phone": "1234"}, 422, "phone"),
        ({"name": "Ana", "phone": mobile()[0], "cpf": "111.111.111-11"}, 422, "cpf"),
        ({"name": "Ana", "phone": mobile()[0], "email": "x"}, 422, "email"),
        ({"name": "Ana", "phone": mobile()[0], "locale": "fr"}, 422, "locale"),
        ({"name": "Ana", "phone": mobile()[0], "birth_date": "2999-01-01"}, 422, "birth_date"),
        ({"name": "   ", "phone": mobile()[0]}, 422, "name"),
    ):
        answer = clinic.http.post(PATIENTS, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert field_of(answer) == field, (body, answer.text)
    assert clinic.http.get(f"{PATIENTS}/{uuid.uuid4()}").status_code == 404


def test_reading_needs_crm_read_and_changing_crm_write(stack: Stack, clinic: Api) -> None:
    address = f"pro-{uuid.uuid4().hex[:8]}@matching.example"
    made = clinic.http.post(
        "/api/v1/staff",
        json={"email": address, "full_name": "Dra. Ver", "password": "a-long-password", "roles": ["professional"]},
    )
    assert made.status_code == 201, made.text
    reader = Api(stack, address, "a-long-password")
    a = lead(clinic, f"Vera {surname()}", mobile()[0])
    assert reader.http.post(MATCH, json={"phone": a["phone"]}).status_code == 200
    assert reader.http.get(PATIENTS).status_code == 200
    assert reader.http.post(f"/api/v1/leads/{a['id']}/convert").status_code == 403
    assert reader.http.post(PATIENTS, json={"name": "X", "phone": mobile()[0]}).status_code == 403
    assert reader.http.post(f"/api/v1/leads/{a['id']}/merge", json={"other_id": a["id"]}).status_code == 403


# --- tenancy --------------------------------------------------------------------------------------
def test_a_second_clinic_sees_none_of_the_first_clinics_people(clinic: Api, other: Api) -> None:
    phone, old_form = mobile()
    number, address, name = cpf(), email(), f"Sofia {surname()}"
    mine = lead(clinic, name, phone, cpf=number, email=address)
    mine_too = lead(clinic, f"{name} Filha", mobile()[0])
    patient = register(clinic, name=name, phone=mobile()[0], cpf=cpf())
    theirs = lead(other, f"Outra {surname()}", mobile()[0])

    for query in ({"phone": phone}, {"phone": old_form}, {"cpf": number}, {"email": address}, {"name": name}):
        assert match(other, **query) == [], query
    assert match(clinic, cpf=number)[0]["id"] == mine["id"]

    for survivor, absorbed, field in (
        (mine["id"], mine_too["id"], "lead_id"),
        (theirs["id"], mine["id"], "other_id"),
        (mine["id"], theirs["id"], "lead_id"),
    ):
        answer = other.http.post(f"/api/v1/leads/{survivor}/merge", json={"other_id": absorbed})
        assert (answer.status_code, field_of(answer)) == (404, field), answer.text
    assert get(clinic, f"/api/v1/leads/{mine_too['id']}")["merged_into"] is None

    assert other.http.get(f"{PATIENTS}/{patient['id']}").status_code == 404
    assert patient["id"] not in [p["id"] for p in other.http.get(PATIENTS, params={"q": name}).json()["items"]]
    link = other.http.post(f"/api/v1/leads/{theirs['id']}/link", json={"patient_id": patient["id"]})
    assert (link.status_code, field_of(link)) == (404, "patient_id")
    assert other.http.post(f"/api/v1/leads/{mine['id']}/convert").status_code == 404
    assert other.http.post(f"/api/v1/leads/{mine['id']}/link", json={"patient_id": patient["id"]}).status_code == 404
    # Registering the same CPF in the other clinic is no conflict: each clinic has its own patients.
    assert other.http.post(PATIENTS, json={"name": name, "phone": phone, "cpf": number}).status_code == 201
