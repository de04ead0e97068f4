"""Use cases of the valuation → quote process (docs/quotes.md): one unit of work each, events through the outbox.

Every step goes through `funnel.domain.valuation.step` (the state machine) and is written to the process's
history with who took it: a staff user id, "prospect" (a patient link) or "funnel" (a rule or a timer).

One module per use case (common, opening, requests, photos, doctors, price_list, quotes, reads, timers);
this package re-exports their names.
"""

from __future__ import annotations

from funnel.domain.valuation import Forbidden, LinkInvalid, Process
from funnel.services.valuation.common import (
    LEAD_EVENTS,
    PHOTOS_LINK,
    PUBLIC_PREFIX,
    QUOTE_LINK,
    STAFF_EVENTS,
    Env,
    Links,
)
from funnel.services.valuation.doctors import assign_doctor, handle_staff, record_valuation
from funnel.services.valuation.opening import cancel, edit_details, open_valuation, reassign_agent
from funnel.services.valuation.photos import add_photo, fetch_medium, handle_message, photo_page, upload_photo
from funnel.services.valuation.price_list import add_cost, add_discount, costs, discounts, edit_cost, edit_discount
from funnel.services.valuation.quotes import ItemIn, answer, quote_page, reply, save_quote, send_quote
from funnel.services.valuation.reads import valuation, valuations
from funnel.services.valuation.requests import handle_lead, put_request_settings, request_settings
from funnel.services.valuation.timers import answer_round, digest_round, reminder_round, timers

__all__ = [
    "LEAD_EVENTS",
    "PHOTOS_LINK",
    "PUBLIC_PREFIX",
    "QUOTE_LINK",
    "STAFF_EVENTS",
    "Env",
    "Forbidden",
    "ItemIn",
    "LinkInvalid",
    "Links",
    "Process",
    "add_cost",
    "add_discount",
    "add_photo",
    "answer",
    "answer_round",
    "assign_doctor",
    "cancel",
    "costs",
    "digest_round",
    "discounts",
    "edit_cost",
    "edit_details",
    "edit_discount",
    "fetch_medium",
    "handle_lead",
    "handle_message",
    "handle_staff",
    "open_valuation",
    "photo_page",
    "put_request_settings",
    "quote_page",
    "reassign_agent",
    "record_valuation",
    "reminder_round",
    "reply",
    "request_settings",
    "save_quote",
    "send_quote",
    "timers",
    "upload_photo",
    "valuation",
    "valuations",
]
