"""The assistant's API shows every column of a process but its internals (a column added later must be shown)."""

from __future__ import annotations

from funnel.models.assistant import assistant_processes
from funnel.schemas.assistant import ProcessOut


def test_a_process_row_fits_its_schema() -> None:
    columns = {c.name for c in assistant_processes.columns} - {"seen", "tenant_id"}
    assert columns == set(ProcessOut.__struct_fields__) - {"history"}


def test_the_first_contact_is_on_the_channel_the_lead_wrote_from() -> None:
    from datetime import UTC, datetime

    from contracts.leads import LeadCreatedV1
    from funnel.services.assistant import first_contact

    def lead(source: str, phone: str = "", channel: str = "message", **contacts: str) -> LeadCreatedV1:
        return LeadCreatedV1(lead_id="l", name="Ana", phone=phone, source=source, channel=channel,
                             created_at=datetime(2026, 12, 1, tzinfo=UTC), contacts=contacts)  # fmt: skip

    assert first_contact(lead("whatsapp", "+5511987654321")) == ("whatsapp", "+5511987654321")
    assert first_contact(lead("whatsapp")) is None
    assert first_contact(lead("telegram", telegram=" 812345678 ")) == ("telegram", "812345678")
    assert first_contact(lead("instagram", instagram="17841")) == ("instagram", "17841")
    assert first_contact(lead("telegram")) is None
    # The clinic switched the Telegram source off (leads recorded its first active one): the address still says.
    assert first_contact(lead("site", telegram="812345678")) == ("telegram", "812345678")
    assert first_contact(lead("site", channel="web_form", telegram="812345678")) is None
    assert first_contact(lead("instagram", "+5511987654321", channel="manual")) is None
