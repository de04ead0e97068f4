"""The clinic's look of the lead statuses: a colour, an order and optionally its own name for each.

The statuses themselves are a fixed set (`leads.domain.leads.STATUSES`: their transitions are rules of the
domain), so a clinic cannot add or remove one; it paints and orders them (the console's chips, avatars and
board) like the request statuses of its lists. A status the clinic never touched has its default colour and
its place in STATUSES; `label` None means "the status's own name in each language" (the console translates it).
"""

from __future__ import annotations

from dataclasses import dataclass

from leads.domain.errors import InvalidLead
from leads.domain.leads import CLOSED_STATUSES, STATUSES
from leads.domain.lists import check_color, check_label

#: The colours a clinic starts with (dark enough for white text: WCAG AA on the console's chips).
DEFAULT_COLOURS: dict[str, str] = {
    "PENDING_CONTACT": "#8A5A00",
    "CONTACTED_NO_RESPONSE": "#6B4F9E",
    "CONTACTED_CALL_LATER": "#1D5FA8",
    "RESCHEDULED": "#0B7285",
    "REQUIRES_FOLLOW_UP": "#A8431D",
    "NOT_INTERESTED": "#5C6670",
    "APPOINTMENT_CANCELED": "#B02A37",
    "INTERESTED_SCHEDULE_APPOINTMENT": "#2B7A0B",
    "APPOINTMENT_SCHEDULED": "#186A3B",
    "VISIT_COMPLETED": "#343A40",
}


@dataclass(frozen=True)
class StatusStyle:
    status: str
    label: str | None
    color: str
    position: int

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


def default(status: str) -> StatusStyle:
    return StatusStyle(status=status, label=None, color=DEFAULT_COLOURS[status], position=STATUSES.index(status))


def check_known(status: str) -> str:
    if status not in STATUSES:
        raise InvalidLead(f"Unknown status {status!r}; the statuses are: {', '.join(STATUSES)}.", field="status")
    return status


def styles(stored: dict[str, StatusStyle]) -> list[StatusStyle]:
    """Every status, the clinic's style where it set one, in the clinic's order (ties: the domain's order)."""
    return sorted((stored.get(s) or default(s) for s in STATUSES), key=lambda x: (x.position, STATUSES.index(x.status)))


def restyle(
    current: StatusStyle, *, label: str | None, clear_label: bool, color: str | None, reset_color: bool
) -> StatusStyle:
    """A new name (or back to the translated one) and colour (or back to the default); the position stays."""
    if clear_label and label is not None:
        raise InvalidLead("Send either a label or clear_label, not both.", field="label")
    if reset_color and color is not None:
        raise InvalidLead("Send either a colour or reset_color, not both.", field="color")
    new_label = None if clear_label else check_label(label) if label is not None else current.label
    new_color = DEFAULT_COLOURS[current.status] if reset_color else current.color
    if color is not None:
        checked = check_color(color)
        assert checked is not None
        new_color = checked
    return StatusStyle(status=current.status, label=new_label, color=new_color, position=current.position)


def reorder(current: list[StatusStyle], order: list[str]) -> list[StatusStyle]:
    """Every status exactly once, in the new order."""
    unknown = [s for s in order if s not in STATUSES]
    if unknown:
        raise InvalidLead(f"Unknown status {unknown[0]!r}.", field="statuses")
    if len(order) != len(STATUSES) or set(order) != set(STATUSES):
        missing = [s for s in STATUSES if s not in order]
        raise InvalidLead(
            "Send every status exactly once, in the new order"
            + (f" (missing: {', '.join(missing)})." if missing else " (one is repeated)."),
            field="statuses",
        )
    by_status = {s.status: s for s in current}
    return [
        StatusStyle(status=s, label=by_status[s].label, color=by_status[s].color, position=i)
        for i, s in enumerate(order)
    ]
