"""Who is this? Scores a person against leads and patients, with the reasons, and decides intake.

A shared phone alone never makes two people one: families share numbers, so a phone match with a
clearly different name is a candidate to look at, never an automatic merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from leads.domain.leads import search_key

#: At or above this, two records are taken to be the same person (intake adds a request).
SAME_PERSON = 70
#: Below this a candidate is not worth showing.
SHOW = 25


@dataclass(frozen=True)
class Contact:
    name: str | None
    phones: tuple[str, ...] = ()
    email: str | None = None
    cpf: str | None = None


@dataclass(frozen=True)
class Candidate:
    kind: str  # "lead" | "patient"
    id: str
    name: str
    phones: tuple[str, ...]
    email: str | None
    cpf: str | None
    status: str | None = None
    is_open: bool = True


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: int
    reasons: tuple[str, ...]


def phone_variants(e164: str) -> tuple[str, ...]:
    """Brazilian mobiles gained a ninth digit; older records (and WhatsApp wa_ids) may lack it."""
    variants = [e164]
    if e164.startswith("+55"):
        national = e164[3:]
        if len(national) == 11 and national[2] == "9":
            variants.append("+55" + national[:2] + national[3:])
        elif len(national) == 10 and national[2] in "6789":
            variants.append("+55" + national[:2] + "9" + national[2:])
    return tuple(variants)


def name_similarity(a: str, b: str) -> float:
    """0..1, accent- and case-insensitive, tolerant of word order and of a missing middle name."""
    ka, kb = search_key(a), search_key(b)
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 1.0
    ta, tb = set(ka.split()), set(kb.split())
    overlap = len(ta & tb) / min(len(ta), len(tb))
    ordered = SequenceMatcher(None, " ".join(sorted(ta)), " ".join(sorted(tb))).ratio()
    first_same = ka.split()[0] == kb.split()[0]
    return max(ordered, overlap * (0.9 if first_same else 0.7))


def different_first_names(a: str, b: str) -> bool:
    """'Maria Souza' / 'João Souza' differ; 'M. Souza' / 'Maria Souza' may not."""
    ka, kb = search_key(a).split(), search_key(b).split()
    if not ka or not kb:
        return False
    fa, fb = ka[0].rstrip("."), kb[0].rstrip(".")
    if len(fa) == 1 or len(fb) == 1:
        return fa[0] != fb[0]
    return SequenceMatcher(None, fa, fb).ratio() < 0.8


def score(query: Contact, candidate: Candidate) -> Match:
    points = 0
    reasons: list[str] = []
    if query.cpf and candidate.cpf:
        if query.cpf == candidate.cpf:
            points += 100
            reasons.append("same CPF")
        else:
            reasons.append("different CPF")
    if query.email and candidate.email and query.email.lower() == candidate.email.lower():
        points += 60
        reasons.append("same e-mail")
    query_phones = {v for p in query.phones for v in phone_variants(p)}
    shared_phone = bool(query_phones & set(candidate.phones))
    if shared_phone:
        points += 50
        reasons.append("same phone")
    similarity = name_similarity(query.name, candidate.name) if query.name else 0.0
    other_person = bool(query.name) and different_first_names(query.name or "", candidate.name)
    if similarity >= 0.85 and not other_person:
        points += 30
        reasons.append("same name")
    elif similarity >= 0.6 and not other_person:
        points += 15
        reasons.append("similar name")
    elif query.name and shared_phone and (other_person or similarity < 0.45):
        reasons.append("shared phone, different name")
        points = min(points, SAME_PERSON - 25)  # a relative, most likely: show, never merge
    if "different CPF" in reasons:
        points = min(points, SHOW)
    elif not shared_phone and "same e-mail" not in reasons and "same CPF" not in reasons:
        points = min(points, 40)  # a name alone is weak evidence
    return Match(candidate, min(points, 100), tuple(reasons))


def rank(query: Contact, candidates: list[Candidate], *, minimum: int = SHOW) -> list[Match]:
    matches = [score(query, c) for c in {(c.kind, c.id): c for c in candidates}.values()]
    return sorted((m for m in matches if m.score >= minimum), key=lambda m: (-m.score, m.candidate.name))


def duplicate_of(query: Contact, open_leads: list[Candidate]) -> Match | None:
    """The open lead this intake is the same person as, if any (decides add-a-request vs new lead)."""
    best = rank(query, [c for c in open_leads if c.kind == "lead" and c.is_open], minimum=SAME_PERSON)
    return best[0] if best else None
