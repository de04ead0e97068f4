"""The assistant's API shows every column of a process but its internals (a column added later must be shown)."""

from __future__ import annotations

from funnel.models.assistant import assistant_processes
from funnel.schemas.assistant import ProcessOut


def test_a_process_row_fits_its_schema() -> None:
    columns = {c.name for c in assistant_processes.columns} - {"seen", "tenant_id"}
    assert columns == set(ProcessOut.__struct_fields__) - {"history"}
