"""The reply assistant's rules in plain Python (docs/notifications.md, "Reply assistant"): what is redacted
before a conversation leaves for the clinic's model, which of the clinic's past answers go with it as examples,
the prompt, reading the model's answer, whether a sent reply used a suggestion as it was or edited, and what a
request cost."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from notifications.domain import AssistantFailed, InvalidInput

#: How many suggestions are asked for and kept, and how long each may be.
MAX_SUGGESTIONS = 3
MAX_SUGGESTION_CHARS = 1000
#: How many of the conversation's latest messages the prompt carries, and how much of each.
HISTORY = 20
MAX_TURN_CHARS = 1500

#: The clinic's past answers given to the model as examples: how many, the least similarity (pg_trgm, 0..1) of
#: the message they answered, the bonus of an answer its conversation's booking followed, how much of each.
EXAMPLES = 3
EXAMPLE_CANDIDATES = 20
MIN_SIMILARITY = 0.2
BOOKING_BONUS = 0.1
MAX_EXAMPLE_CHARS = 600

AS_IS, EDITED = "as_is", "edited"
CPF, PHONE, EMAIL, NAME = "[cpf]", "[phone]", "[email]", "[name]"

_LANGUAGES = {"pt-BR": "Brazilian Portuguese", "es": "Spanish", "ru": "Russian", "en": "English"}
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CPF = re.compile(r"(?<![\w.])\d{3}\.\d{3}\.\d{3}-?\d{2}(?![\w])")
#: Digit runs with the separators phone numbers are written with: +55 (11) 98765-4321, 11 98765 4321, ...
_DIGITS = re.compile(r"(?<![\w+])\+?\d[\d ().-]{6,}\d(?![\w])")


def cpf_valid(digits: str) -> bool:
    """The two check digits of a CPF (11 digits, not all the same)."""
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def _digit_run(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and cpf_valid(digits):
        return CPF
    if 8 <= len(digits) <= 15:
        return PHONE
    return text


def redact(text: str, names: Iterable[str] = ()) -> str:
    """The text with e-mail addresses, CPFs and phone numbers (and the given names of the person) replaced by
    placeholders: what may leave for an external model."""
    out = _EMAIL.sub(EMAIL, text)
    out = _CPF.sub(CPF, out)
    out = _DIGITS.sub(_digit_run, out)
    words = {w for n in names if n for w in [n.strip(), *n.split()] if len(w.strip()) >= 3}
    for word in sorted(words, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", NAME, out, flags=re.IGNORECASE)
    return out


@dataclass(frozen=True)
class Turn:
    """One message of the conversation: `in` from the person, `out` from the clinic."""

    direction: str
    text: str


@dataclass(frozen=True)
class Example:
    """A message a person sent the clinic before (in another conversation) and the staff reply that followed.
    `score`: how like the message being answered it is; `names`: that person's names, to redact."""

    asked: str
    answer: str
    score: float
    booked: bool = False
    names: tuple[str, ...] = ()


def asked_text(turns: Sequence[Turn]) -> str | None:
    """What the examples are looked up by: the person's messages since the clinic last wrote (the latest ones
    if the clinic wrote last), joined; None when the person has written nothing."""
    texts: list[str] = []
    for turn in reversed(turns):
        if turn.direction == "in" and turn.text.strip():
            texts.append(turn.text.strip())
        elif turn.direction == "out" and texts:
            break
    if not texts:
        return None
    return " ".join(reversed(texts))[:MAX_TURN_CHARS]


def pick_examples(candidates: Iterable[Example], limit: int = EXAMPLES) -> list[Example]:
    """The best `limit` examples: the most similar message first (an answer its conversation's booking followed
    counts `BOOKING_BONUS` more), at least `MIN_SIMILARITY`, each answer once (spacing and case aside)."""
    usable = [c for c in candidates if c.score >= MIN_SIMILARITY and c.asked.strip() and c.answer.strip()]
    usable.sort(key=lambda c: (-(c.score + (BOOKING_BONUS if c.booked else 0.0)), -c.score))
    chosen: list[Example] = []
    seen: set[str] = set()
    for c in usable:
        key = _normal(c.answer)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(c)
        if len(chosen) == limit:
            break
    return chosen


def _line(text: str, names: Iterable[str], limit: int) -> str:
    return " ".join(redact(text.strip()[:limit], names).split())


def system_prompt(locale: str) -> str:
    language = _LANGUAGES.get(locale, _LANGUAGES["pt-BR"])
    return (
        "You help the staff of a clinic answer the patient they are chatting with. Read the conversation and "
        f"suggest {MAX_SUGGESTIONS} short, polite, different replies the staff member could send next, in "
        f"{language}. Never invent prices, dates or medical advice; offer to check or to book an evaluation "
        "instead. Placeholders such as [name], [phone], [cpf] and [email] stand for personal data that was "
        "removed; keep them as they are. When the clinic's past answers to similar messages are given, follow "
        "their tone and what they say about the clinic, but answer this conversation. "
        'Answer with JSON only: {"suggestions": ["...", "...", "..."]}.'
    )


def build_prompt(
    turns: Sequence[Turn], *, locale: str, names: Iterable[str] = (), examples: Sequence[Example] = ()
) -> list[dict[str, str]]:
    """The chat messages for the model: the instructions, the clinic's past answers to similar messages (each
    redacted with its own person's names as well), then the latest turns (redacted), oldest first."""
    kept = [t for t in turns if t.text and t.text.strip()][-HISTORY:]
    if not any(t.direction == "in" for t in kept):
        raise InvalidInput("The person has not written anything to answer yet.", field="conversation_id")
    names = list(names)
    lines = []
    for turn in kept:
        who = "Patient" if turn.direction == "in" else "Clinic"
        lines.append(f"{who}: {_line(turn.text, names, MAX_TURN_CHARS)}")
    conversation = "Conversation so far:\n" + "\n".join(lines)
    if examples:
        shown = []
        for n, ex in enumerate(examples, 1):
            own = [*names, *ex.names]
            asked = _line(ex.asked, own, MAX_EXAMPLE_CHARS)
            answer = _line(ex.answer, own, MAX_EXAMPLE_CHARS)
            shown.append(f"Example {n}:\nPatient: {asked}\nClinic: {answer}")
        conversation = (
            "The clinic's past answers to similar messages (other patients):\n" + "\n\n".join(shown) + "\n\n"
            + conversation
        )  # fmt: skip
    return [{"role": "system", "content": system_prompt(locale)}, {"role": "user", "content": conversation}]


def _clean(items: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        text = re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", item).strip().strip('"').strip()
        if text and text not in out:
            out.append(text[:MAX_SUGGESTION_CHARS])
    return out[:MAX_SUGGESTIONS]


def parse_suggestions(content: str) -> list[str]:
    """The model's answer as suggestions: the JSON asked for, else a JSON list, else one per line (models do
    not always follow the format). None usable: the endpoint failed (502)."""
    text = content.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, flags=re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        data = data.get("suggestions")
    found = _clean(data) if isinstance(data, list) else _clean(text.splitlines())
    if not found:
        raise AssistantFailed("The model's answer held no suggestion.")
    return found


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def use_of(sent: str, suggestions: Sequence[str]) -> str:
    """`as_is` when the staff sent one of the suggestions unchanged (spacing and case aside), else `edited`."""
    return AS_IS if _normal(sent) in {_normal(s) for s in suggestions} else EDITED


def cost(
    prompt_tokens: int, completion_tokens: int, prompt_price: Decimal | None, completion_price: Decimal | None
) -> Decimal | None:
    """At the clinic's prices per 1,000 tokens (prompt, completion); None when it set neither."""
    if prompt_price is None and completion_price is None:
        return None
    total = Decimal(prompt_tokens) * (prompt_price or 0) + Decimal(completion_tokens) * (completion_price or 0)
    return (total / 1000).quantize(Decimal("0.000001"))


def check_endpoint(url: str) -> str:
    """An http(s) base URL such as https://api.openai.com/v1 (or its /chat/completions itself)."""
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("The endpoint is an http(s) URL, e.g. https://api.openai.com/v1.", field="endpoint_url")
    if parts.username or parts.password:
        raise InvalidInput("Put the API key in api_key, not in the URL.", field="endpoint_url")
    if len(cleaned) > 500:
        raise InvalidInput("The endpoint URL has at most 500 characters.", field="endpoint_url")
    return cleaned.rstrip("/")


def completions_url(endpoint: str) -> str:
    return endpoint if endpoint.endswith("/chat/completions") else f"{endpoint}/chat/completions"


def check_price(value: str | None, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        price = Decimal(value)
    except ArithmeticError as exc:
        raise InvalidInput("A price per 1,000 tokens is a decimal number.", field=field) from exc
    if not price.is_finite() or price < 0 or price >= 1000:
        raise InvalidInput("A price per 1,000 tokens is from 0 up to 999.", field=field)
    return price
