"""Anamnesis questionnaires: templates, per-question validation, and the exact bytes that get signed."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scheduling.domain.errors import Conflict, Invalid

TYPES = ("text", "textarea", "yes_no", "number", "date", "single_choice", "multi_choice")
_DATA_URL = re.compile(r"^data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/=]+$")
CONSENT_TEXT = "I declare that the answers above are true and I agree to their use for my care."


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...] = ()


def check_template(sections: list[dict[str, Any]]) -> None:
    if not sections:
        raise Invalid("A questionnaire needs at least one section.", field="sections")
    seen: set[str] = set()
    for s in sections:
        if not s["questions"]:
            raise Invalid(f"Section {s['title']!r} has no questions.", field="sections")
        for q in s["questions"]:
            if q["type"] not in TYPES:
                raise Invalid(f"Question {q['id']}: type must be one of {', '.join(TYPES)}.", field="sections")
            if q["id"] in seen:
                raise Invalid(f"Question id {q['id']!r} is used twice.", field="sections")
            seen.add(q["id"])
            if q["type"] in ("single_choice", "multi_choice") and len(q.get("options") or []) < 2:
                raise Invalid(f"Question {q['id']}: a choice needs at least two options.", field="sections")


def questions(sections: list[dict[str, Any]]) -> list[Question]:
    return [
        Question(q["id"], q["label"], q["type"], bool(q.get("required")), tuple(q.get("options") or ()))
        for s in sections
        for q in s["questions"]
    ]


def _check_answer(q: Question, value: Any) -> Any:
    field = f"answers.{q.id}"
    if q.type in ("text", "textarea"):
        if not isinstance(value, str) or len(value) > (500 if q.type == "text" else 10_000):
            raise Invalid(f"{q.label}: a text answer is expected.", field=field)
        return value.strip()
    if q.type == "yes_no":
        if not isinstance(value, bool):
            raise Invalid(f"{q.label}: answer true or false.", field=field)
        return value
    if q.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{q.label}: a number is expected.", field=field)
        return value
    if q.type == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError) as exc:
            raise Invalid(f"{q.label}: a date as YYYY-MM-DD is expected.", field=field) from exc
    if q.type == "single_choice":
        if value not in q.options:
            raise Invalid(f"{q.label}: choose one of {', '.join(q.options)}.", field=field)
        return value
    if not isinstance(value, list) or any(v not in q.options for v in value) or len(set(value)) != len(value):
        raise Invalid(f"{q.label}: choose among {', '.join(q.options)}.", field=field)
    return value


def validate_answers(sections: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    qs = questions(sections)
    known = {q.id for q in qs}
    extra = sorted(set(answers) - known)
    if extra:
        raise Invalid(f"No question {extra[0]!r} in this questionnaire.", field=f"answers.{extra[0]}")
    out: dict[str, Any] = {}
    for q in qs:
        value = answers.get(q.id)
        empty = value is None or value == "" or value == []
        if empty:
            if q.required:
                raise Invalid(f"{q.label}: this answer is required.", field=f"answers.{q.id}")
            continue
        out[q.id] = _check_answer(q, value)
    return out


#: A draft is the answers so far; a form's answers are far smaller than this.
MAX_DRAFT_BYTES = 64 * 1024


def draft_answers(sections: list[dict[str, Any]], answers: dict[str, Any], size: int) -> dict[str, Any]:
    """The answers given so far, each checked as on signing; nothing is required yet (`size`: the body's bytes)."""
    if size > MAX_DRAFT_BYTES:
        raise Invalid(f"The answers are larger than {MAX_DRAFT_BYTES // 1024} kB.", field="answers")
    by_id = {q.id: q for q in questions(sections)}
    extra = sorted(set(answers) - set(by_id))
    if extra:
        raise Invalid(f"No question {extra[0]!r} in this questionnaire.", field=f"answers.{extra[0]}")
    return {
        qid: _check_answer(by_id[qid], value)
        for qid, value in answers.items()
        if not (value is None or value == "" or value == [])
    }


def kept_answers(sections: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """A draft's answers to the questions the questionnaire still has (the clinic may have changed it since)."""
    ids = {q.id for q in questions(sections)}
    return {qid: value for qid, value in answers.items() if qid in ids}


def check_removable(questionnaire_id: str, sent_before_visits: str | None) -> None:
    """A questionnaire is removed by archiving it: links already sent still open it and signed forms carry their
    own copy of the questions; only the one the booking policy sends before visits must be replaced first."""
    if questionnaire_id == sent_before_visits:
        raise Conflict(
            "The booking policy sends this questionnaire before visits; choose another there first.",
            field="questionnaire_id",
        )


def check_signature(kind: str, typed_name: str | None, consent: bool, image: str | None) -> None:
    if not consent:
        raise Invalid("Tick the consent box to sign.", field="signature.consent")
    if kind == "typed":
        if not typed_name or len(typed_name.strip()) < 3:
            raise Invalid("Type your full name to sign.", field="signature.typed_name")
    elif kind == "drawn":
        if not image or not _DATA_URL.match(image):
            raise Invalid("A drawn signature is a PNG, JPEG or SVG data URL.", field="signature.image")
    else:
        raise Invalid("signature.kind is typed or drawn.", field="signature.kind")


def signed_document(
    *,
    questionnaire_id: str,
    questionnaire_name: str,
    sections: list[dict[str, Any]],
    appointment_id: str,
    answers: dict[str, Any],
    kind: str,
    typed_name: str | None,
    image: str | None,
    signed_at: datetime,
) -> tuple[str, str]:
    """The canonical JSON of what the patient signs (questions as shown, answers, consent, signature) and its
    SHA-256: stored byte for byte, so the hash can be re-checked later."""
    document = {
        "questionnaire_id": questionnaire_id,
        "questionnaire": questionnaire_name,
        "appointment_id": appointment_id,
        "questions": [{"id": q.id, "label": q.label, "type": q.type} for q in questions(sections)],
        "answers": answers,
        "consent": CONSENT_TEXT,
        "signature": {"kind": kind, "typed_name": typed_name, "image": image},
        "signed_at": signed_at.isoformat(),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text, hashlib.sha256(text.encode()).hexdigest()
