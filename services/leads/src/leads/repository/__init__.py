"""The only modules of leads that build queries."""

from leads.repository.audit import AuditRepository
from leads.repository.leads import LeadRepository
from leads.repository.lists import ListRepository
from leads.repository.requests import RequestRepository

__all__ = ["AuditRepository", "LeadRepository", "ListRepository", "RequestRepository"]
