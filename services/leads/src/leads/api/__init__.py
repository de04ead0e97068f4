"""HTTP controllers of leads: decode, one use case, encode. Every controller is listed in ROUTES."""

from leads.api.leads import LeadController
from leads.api.lists import ListController

ROUTES: list[type] = [LeadController, ListController]

__all__ = ["ROUTES"]
