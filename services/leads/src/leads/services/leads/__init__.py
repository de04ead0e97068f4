"""Use cases on leads, one module per use: registering (creation), changing (changes), reading (queries)."""

from leads.services.leads.changes import assign, change_status, delete_lead, edit_lead
from leads.services.leads.creation import (
    Created,
    NewLead,
    check_list_slug,
    create_lead,
    intake,
    match_view,
    new_request,
    replace_struct,
)
from leads.services.leads.queries import (
    LeadList,
    audit_trail,
    clinic_query,
    get_lead,
    list_leads,
    metrics,
    status_history,
)

__all__ = [
    "Created",
    "LeadList",
    "NewLead",
    "assign",
    "audit_trail",
    "change_status",
    "check_list_slug",
    "clinic_query",
    "create_lead",
    "delete_lead",
    "edit_lead",
    "get_lead",
    "intake",
    "list_leads",
    "match_view",
    "metrics",
    "new_request",
    "replace_struct",
    "status_history",
]
