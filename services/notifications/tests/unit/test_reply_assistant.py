"""The reply assistant's pure rules: redaction, the prompt, reading the model's answer, as-is vs edited, cost."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from notifications.domain import AssistantFailed, InvalidInput
from notifications.suggestions import (
    AS_IS,
    BOOKING_BONUS,
    EDITED,
    HISTORY,
    MIN_SIMILARITY,
    Example,
    Turn,
    asked_text,
    build_prompt,
    check_endpoint,
    check_price,
    completions_url,
    cost,
    cpf_valid,
    parse_suggestions,
    pick_examples,
    redact,
    use_of,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("meu CPF é 529.982.247-25", "meu CPF é [cpf]"),
        ("cpf 52998224725 ok", "cpf [cpf] ok"),
        ("ligue +55 (11) 98765-4321 hoje", "ligue [phone] hoje"),
        ("whats 11 98765 4321", "whats [phone]"),
        ("tel 11987654321", "tel [phone]"),  # 11 digits that are no valid CPF: a phone
        ("escreva para maria.souza+clinic@example.com.br!", "escreva para [email]!"),
        ("consulta dia 12/05/2026 às 10:00 por R$ 350,00", "consulta dia 12/05/2026 às 10:00 por R$ 350,00"),
        ("pedido 1234", "pedido 1234"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redaction_of_the_persons_name() -> None:
    assert redact("Oi, aqui é a Maria Souza. MARIA mesmo.", ["Maria Souza"]) == "Oi, aqui é a [name]. [name] mesmo."
    assert redact("Marianne", ["Maria"]) == "Marianne"  # whole words only


def test_cpf_check_digits() -> None:
    assert cpf_valid("52998224725")
    assert not cpf_valid("52998224726")
    assert not cpf_valid("11111111111")


def test_prompt_carries_the_latest_turns_redacted_oldest_first() -> None:
    turns = [Turn("out", "Olá! Como posso ajudar?")] * 30 + [
        Turn("in", "Sou a Ana Lima, CPF 529.982.247-25, e-mail ana@example.com"),
        Turn("in", "  "),
        Turn("in", "Quanto custa   o clareamento?\nPode me ligar no +5511987654321"),
    ]
    messages = build_prompt(turns, locale="es", names=["Ana Lima"])

    assert [m["role"] for m in messages] == ["system", "user"]
    assert "Spanish" in messages[0]["content"]
    assert "JSON" in messages[0]["content"]
    lines = messages[1]["content"].splitlines()[1:]
    assert len(lines) == HISTORY
    assert lines[-2] == "Patient: Sou a [name], CPF [cpf], e-mail [email]"
    assert lines[-1] == "Patient: Quanto custa o clareamento? Pode me ligar no [phone]"
    assert lines[0] == "Clinic: Olá! Como posso ajudar?"
    text = json.dumps(messages)
    for secret in ("529.982.247-25", "ana@example.com", "98765", "Ana", "Lima"):
        assert secret not in text


def test_nothing_to_answer_is_a_422_on_the_conversation() -> None:
    with pytest.raises(InvalidInput) as err:
        build_prompt([Turn("out", "Lembrete da consulta")], locale="pt-BR")
    assert err.value.field == "conversation_id"


@pytest.mark.parametrize(
    "content",
    [
        '{"suggestions": ["Olá!", "Claro.", "Podemos agendar?", "Quarta"]}',
        '```json\n{"suggestions": ["Olá!", "Claro.", "Podemos agendar?"]}\n```',
        '["Olá!", "Claro.", "Olá!", "Podemos agendar?"]',
        '1. Olá!\n2) "Claro."\n- Podemos agendar?\n',
    ],
)
def test_parse_suggestions(content: str) -> None:
    assert parse_suggestions(content) == ["Olá!", "Claro.", "Podemos agendar?"]


@pytest.mark.parametrize("content", ["", "   ", '{"suggestions": []}', '{"suggestions": [1, 2]}'])
def test_an_answer_without_suggestions_is_a_failed_endpoint(content: str) -> None:
    with pytest.raises(AssistantFailed):
        parse_suggestions(content)


def test_as_is_or_edited() -> None:
    offered = ["Podemos agendar uma avaliação?", "Claro!"]
    assert use_of("  podemos agendar  uma avaliação? ", offered) == AS_IS
    assert use_of("Podemos agendar uma avaliação amanhã?", offered) == EDITED


def test_cost_at_the_clinics_prices() -> None:
    assert cost(1000, 500, Decimal("0.15"), Decimal("0.60")) == Decimal("0.450000")
    assert cost(1000, 500, Decimal("0.15"), None) == Decimal("0.150000")
    assert cost(1000, 500, None, None) is None


def test_endpoint_and_price_checks() -> None:
    assert check_endpoint(" https://api.openai.com/v1/ ") == "https://api.openai.com/v1"
    assert completions_url("https://api.openai.com/v1") == "https://api.openai.com/v1/chat/completions"
    assert completions_url("http://x/v1/chat/completions") == "http://x/v1/chat/completions"
    for bad in ("ftp://x", "api.openai.com", "https://user:key@host/v1"):
        with pytest.raises(InvalidInput) as err:
            check_endpoint(bad)
        assert err.value.field == "endpoint_url"
    assert check_price("0.15", "prompt_price") == Decimal("0.15")
    assert check_price(None, "prompt_price") is None
    for bad in ("abc", "-1", "NaN", "5000"):
        with pytest.raises(InvalidInput) as err:
            check_price(bad, "completion_price")
        assert err.value.field == "completion_price"


def test_examples_are_looked_up_by_what_the_person_wrote_since_the_clinic_last_did() -> None:
    turns = [
        Turn("in", "Oi"),
        Turn("out", "Olá! Como posso ajudar?"),
        Turn("in", "Quanto custa"),
        Turn("in", " o clareamento? "),
    ]
    assert asked_text(turns) == "Quanto custa o clareamento?"
    assert asked_text([*turns, Turn("out", "Um momento")]) == "Quanto custa o clareamento?"
    assert asked_text([Turn("out", "Bem-vindo"), Turn("in", "  ")]) is None


def test_examples_rank_by_similarity_a_booking_counts_and_each_answer_once() -> None:
    close = Example("Quanto custa o clareamento?", "O clareamento custa a partir de R$ 800.", 0.82)
    booked = Example("Qual o preço do clareamento?", "Fazemos uma avaliação gratuita antes.", 0.75, booked=True)
    again = Example("quanto custa clareamento", "O  clareamento custa a partir de R$ 800. ", 0.80)
    far = Example("Vocês abrem sábado?", "Sim, das 8h às 12h.", MIN_SIMILARITY - 0.01)
    empty = Example("Quanto custa?", "   ", 0.9)
    third = Example("Clareamento dói?", "É um procedimento tranquilo.", 0.3)
    picked = pick_examples([far, third, again, close, booked, empty])
    # 0.75 + the booking's bonus beats 0.82; the repeated answer is left out; too far and empty ones never count
    assert 0.75 + BOOKING_BONUS > 0.82
    assert picked == [booked, close, third]
    assert pick_examples([close, booked, third], limit=1) == [booked]
    assert pick_examples([]) == []


def test_examples_reach_the_prompt_redacted_with_their_own_person_s_names() -> None:
    example = Example(
        "Sou a Joana Lima, meu CPF é 529.982.247-25, quanto custa o clareamento?",
        "Oi Joana! Custa R$ 800; ligue (11) 3333-4444 ou escreva para agenda@clinica.com.br.",
        0.7,
        names=("Joana Lima",),
    )
    prompt = build_prompt([Turn("in", "Oi, aqui é a Maria, quanto custa o clareamento?")], locale="pt-BR",
                          names=["Maria Souza"], examples=[example])  # fmt: skip
    user = prompt[1]["content"]
    assert "past answers to similar messages" in user
    assert "Example 1:\nPatient: Sou a [name], meu CPF é [cpf], quanto custa o clareamento?" in user
    assert "Clinic: Oi [name]! Custa R$ 800; ligue ([phone] ou escreva para [email]." in user
    for leaked in ("Joana", "Lima", "529.982", "3333", "agenda@", "Maria"):
        assert leaked not in user
    assert user.splitlines()[-1] == "Patient: Oi, aqui é a [name], quanto custa o clareamento?"  # the last line
    assert "past answers" in prompt[0]["content"]
    assert "Example" not in build_prompt([Turn("in", "Oi")], locale="pt-BR")[1]["content"]
