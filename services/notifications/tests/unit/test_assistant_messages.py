"""The funnel assistant's messages: how each channel shows its choices, and a tapped list row coming back."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.assistant import AssistantMessageRequestedV1, Choice
from notifications import inbound
from notifications.channels import Outgoing, whatsapp_payload
from notifications.services import assistant_render

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def request(channel: str, options: list[Choice], style: str = "list") -> AssistantMessageRequestedV1:
    return AssistantMessageRequestedV1(
        process_id="p", lead_id="l", message_id="m", channel=channel, to="+5511987654321", locale="pt-BR",
        key="ask_procedure", text="Qual procedimento?", style=style, options=options, button="Ver opções",
        requested_at=T0,
    )  # fmt: skip


PROCEDURES = [Choice(id=f"asst:procedure:{n}", title=t) for n, t in enumerate(["Botox", "Peeling", "Laser", "Lipo"])]


def test_a_list_on_whatsapp_is_an_interactive_list() -> None:
    render = assistant_render(request("whatsapp", PROCEDURES))
    out = Outgoing(channel="whatsapp", to="+5511987654321", body=render["body"], idempotency_key="k",
                   buttons=render["buttons"], list_button=render["list_button"])  # fmt: skip
    payload = whatsapp_payload(out)
    assert payload["type"] == "interactive"
    assert payload["interactive"]["type"] == "list"
    assert payload["interactive"]["action"]["button"] == "Ver opções"
    rows = payload["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == ["Botox", "Peeling", "Laser", "Lipo"]
    assert rows[0]["id"] == "asst:procedure:0"


def test_few_short_choices_are_reply_buttons_and_other_channels_get_numbered_lines() -> None:
    two = [Choice(id="asst:region:a", title="Moema"), Choice(id="asst:region:b", title="Av. Paulista")]
    render = assistant_render(request("whatsapp", two, style="buttons"))
    assert "list_button" not in render
    payload = whatsapp_payload(Outgoing(channel="whatsapp", to="+1", body=render["body"], idempotency_key="k",
                                        buttons=render["buttons"]))  # fmt: skip
    assert payload["interactive"]["type"] == "button"
    # A title longer than a reply button holds: a list instead.
    long = [Choice(id="asst:region:a", title="Avenida Paulista Centro")]
    assert "list_button" in assistant_render(request("whatsapp", long, style="buttons"))
    assert assistant_render(request("telegram", two))["buttons"][0]["id"] == "asst:region:a"
    assert assistant_render(request("instagram", two))["body"] == "Qual procedimento?\n1. Moema\n2. Av. Paulista"
    assert assistant_render(request("whatsapp", [])) == {"body": "Qual procedimento?"}


def test_a_tapped_list_row_arrives_as_the_button_id() -> None:
    body = {
        "entry": [{"changes": [{"value": {
            "metadata": {"phone_number_id": "123"},
            "contacts": [{"wa_id": "5511987654321", "profile": {"name": "Maria"}}],
            "messages": [{"from": "5511987654321", "id": "wamid.1", "timestamp": "1764590400", "type": "interactive",
                          "interactive": {"type": "list_reply",
                                          "list_reply": {"id": "asst:procedure:0", "title": "Botox"}}}],
        }}]}]
    }  # fmt: skip
    messages, _ = inbound.parse_whatsapp(body)
    assert [(m.button_id, m.text) for m in messages] == [("asst:procedure:0", "Botox")]
