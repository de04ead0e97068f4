"""The reply assistant's pure rules: redaction, the prompt, reading the model's answer, as-is vs edited, cost."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from notifications.domain import AssistantFailed, InvalidInput
from notifications.suggestions import (
    AS_IS,
    EDITED,
    HISTORY,
    Turn,
    build_prompt,
    check_endpoint,
    check_price,
    completions_url,
    cost,
    cpf_valid,
    parse_suggestions,
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
