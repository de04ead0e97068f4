"""Who is this? Scores a person against leads and patients, with the reasons, and decides intake.

Points per piece of evidence: same CPF 100, same e-mail 60, same phone 50 (any Brazilian ninth-digit
variant), same name 30, similar name 15. Then the caps:

* same CPF: always at least SAME_PERSON (a CPF belongs to one person, whatever the name says);
* different CPFs: two people, at most SHOW (shown, with the reason, never merged);
* shared phone, clearly different first name (and no same CPF): a relative, most likely, at most
  SAME_PERSON - 25 — a candidate to look at, never an automatic merge (families share numbers);
* a name alone (no phone, e-mail or CPF in common): weak evidence, at most 40.

Scores are symmetric: comparing A with B gives the same score and reasons as B with A.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher

from leads.domain.leads import search_key

#: At or above this, two records are taken to be the same person (intake adds a request).
SAME_PERSON = 70
#: Below this a candidate is not worth showing.
SHOW = 25

POINTS = {"same CPF": 100, "same e-mail": 60, "same phone": 50, "same name": 30, "similar name": 15}
#: A shared phone and a clearly different first name: a relative. Shown, never merged.
RELATIVE_CAP = SAME_PERSON - 25
#: Only a name in common.
NAME_ONLY_CAP = 40
#: Name similarity from which two names are the same name (accents, case, order, a missing middle name, a typo).
SAME_NAME = 0.85
SIMILAR_NAME = 0.6

#: Before 2016 Brazilian mobiles had 8 digits starting 6-9; a 9 was put in front of them.
_OLD_MOBILE_FIRST = "6789"


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
    """The number and, for a Brazilian mobile, its form with or without the ninth digit.

    Brazilian mobiles gained a ninth digit (9 in front of the old 8 digits, which started 6-9); older
    records and WhatsApp wa_ids may lack it. The relation is symmetric: `b in phone_variants(a)` exactly
    when `a in phone_variants(b)`.
    """
    variants = [e164]
    if e164.startswith("+55"):
        national = e164[3:]
        if len(national) == 11 and national[2] == "9" and national[3] in _OLD_MOBILE_FIRST:
            variants.append("+55" + national[:2] + national[3:])
        elif len(national) == 10 and national[2] in _OLD_MOBILE_FIRST:
            variants.append("+55" + national[:2] + "9" + national[2:])
    return tuple(variants)


def with_ninth_digit(raw: str, country: str) -> str | None:
    """An old 8-digit Brazilian mobile typed as it used to be ('(11) 8765-4321', '+55 11 8765-4321'),
    as E.164 with the ninth digit; None when `raw` is not one. The caller still validates the result."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or text.startswith("00"):
        digits = digits[2:] if text.startswith("00") else digits
        if not digits.startswith("55"):
            return None
        national = digits[2:]
    elif country.upper() == "BR":
        national = digits[1:] if len(digits) == 11 and digits.startswith("0") else digits
    else:
        return None
    if len(national) != 10 or national[2] not in _OLD_MOBILE_FIRST or national[0] == "0":
        return None
    return "+55" + national[:2] + "9" + national[2:]


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


#: Spellings of one name ('Luiz'/'Luis', 'Thaís'/'Tais', 'Anna'/'Ana', 'Rafael'/'Raphael').
_SPELLINGS = (("ph", "f"), ("th", "t"), ("y", "i"), ("z", "s"), ("k", "c"), ("w", "v"))
_DOUBLED = re.compile(r"(.)\1")


def _spelling_key(word: str) -> str:
    for written, said in _SPELLINGS:
        word = word.replace(written, said)
    return _DOUBLED.sub(r"\1", word)


def _name_key(name: str) -> str:
    return " ".join(_spelling_key(w) for w in search_key(name).split())


def name_similarity(a: str, b: str) -> float:
    """0..1, accent- and case-insensitive, tolerant of word order and of a missing middle name. Symmetric."""
    ka, kb = _ordered(_name_key(a), _name_key(b))
    if not ka or not kb:
        return 0.0
    if ka == kb:
        return 1.0
    ta, tb = Counter(ka.split()), Counter(kb.split())  # 'Silva Silva' is two words, not one
    overlap = sum((ta & tb).values()) / min(ta.total(), tb.total())
    ordered = SequenceMatcher(None, *_ordered(" ".join(sorted(ta.elements())), " ".join(sorted(tb.elements())))).ratio()
    first_same = ka.split()[0] == kb.split()[0]
    return max(ordered, overlap * (0.9 if first_same else 0.7))


def _gendered_pair(a: str, b: str) -> bool:
    """'Paulo'/'Paula', 'Mário'/'Maria', 'Vicente'/'Vicenta', 'Daniel'/'Daniela', 'Luiz'/'Luiza': two people
    (often of one family, sharing a phone), however alike they look."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) == len(b):
        return len(a) >= 3 and a[:-1] == b[:-1] and a[-1] != b[-1] and {a[-1], b[-1]} in ({"a", "o"}, {"a", "e"})
    return len(a) >= 3 and b == a + "a"


def different_first_names(a: str, b: str) -> bool:
    """'Maria Souza' / 'João Souza' differ, and so do 'Paulo' / 'Paula' and 'Maria' / 'Mariana';
    'M. Souza' / 'Maria Souza', 'Luiz' / 'Luis', 'Thaís' / 'Tais' and 'Souza Maria' / 'Maria Souza' may not.
    Symmetric."""
    wa = [_spelling_key(w.rstrip(".")) for w in search_key(a).split()]
    wb = [_spelling_key(w.rstrip(".")) for w in search_key(b).split()]
    wa, wb = [w for w in wa if w], [w for w in wb if w]
    if not wa or not wb:
        return False
    fa, fb = _ordered(wa[0], wb[0])
    if len(fa) == 1 or len(fb) == 1:
        return fa[0] != fb[0]
    if fa == fb or wa[0] in wb or wb[0] in wa:
        return False  # the same first name, or the same words in another order ('Souza Maria')
    if _gendered_pair(fa, fb):
        return True
    short, long = (fa, fb) if len(fa) <= len(fb) else (fb, fa)
    if long.startswith(short) and len(long) - len(short) >= 2:
        return True  # 'Maria' / 'Mariana', 'José' / 'Josefa', 'Ana' / 'Anabela'
    return SequenceMatcher(None, fa, fb).ratio() < 0.8


def same_name(a: str, b: str) -> bool:
    """The same name as far as matching can tell (and not two relatives' alike names)."""
    return name_similarity(a, b) >= SAME_NAME and not different_first_names(a, b)


def _all_variants(phones: tuple[str, ...]) -> set[str]:
    return {v for p in phones for v in phone_variants(p)}


def score(query: Contact, candidate: Candidate) -> Match:
    """How likely `query` is `candidate`, 0..100, with the reasons (see the module's docstring)."""
    reasons: list[str] = []
    same_cpf = different_cpf = False
    if query.cpf and candidate.cpf:
        same_cpf = query.cpf == candidate.cpf
        different_cpf = not same_cpf
        reasons.append("same CPF" if same_cpf else "different CPF")
    same_email = bool(query.email and candidate.email and query.email.lower() == candidate.email.lower())
    if same_email:
        reasons.append("same e-mail")
    shared_phone = bool(_all_variants(query.phones) & _all_variants(candidate.phones))
    if shared_phone:
        reasons.append("same phone")
    relative = False
    if query.name and search_key(query.name) and search_key(candidate.name):  # an unknown name is no evidence
        similarity = name_similarity(query.name, candidate.name)
        other_person = different_first_names(query.name, candidate.name)
        if similarity >= SAME_NAME and not other_person:
            reasons.append("same name")
        elif similarity >= SIMILAR_NAME and not other_person:
            reasons.append("similar name")
        elif shared_phone and (other_person or similarity < 0.45):
            reasons.append("shared phone, different name")
            relative = True
    points = min(sum(POINTS.get(r, 0) for r in reasons), 100)
    if same_cpf:
        points = max(points, SAME_PERSON)
    elif different_cpf:
        points = min(points, SHOW)
    elif relative:
        points = min(points, RELATIVE_CAP)
    elif not (shared_phone or same_email):
        points = min(points, NAME_ONLY_CAP)
    return Match(candidate, points, tuple(reasons))


def rank(query: Contact, candidates: list[Candidate], *, minimum: int = SHOW) -> list[Match]:
    """Each candidate once, scored; those at or above `minimum`, best first."""
    matches = [score(query, c) for c in {(c.kind, c.id): c for c in candidates}.values()]
    return sorted(
        (m for m in matches if m.score >= minimum),
        key=lambda m: (-m.score, m.candidate.kind, search_key(m.candidate.name), m.candidate.id),
    )


def duplicate_of(query: Contact, open_leads: list[Candidate]) -> Match | None:
    """The open lead this intake is the same person as, if any (decides add-a-request vs new lead)."""
    best = rank(query, [c for c in open_leads if c.kind == "lead" and c.is_open], minimum=SAME_PERSON)
    return best[0] if best else None
