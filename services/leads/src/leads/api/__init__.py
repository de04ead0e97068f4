"""HTTP controllers of leads: decode, one use case, encode. Every controller is listed in ROUTES."""

from leads.api.activities import ActivityController, LeadActivityController
from leads.api.intake import FormController, PublicFormController, TildaWebhookController
from leads.api.leads import LeadController
from leads.api.lists import ListController
from leads.api.matching import MatchingController
from leads.api.staff import StaffController
from leads.api.statuses import StatusController

ROUTES: list[type] = [LeadController, ListController, StatusController]
ROUTES += [FormController, PublicFormController, TildaWebhookController]
ROUTES += [ActivityController, LeadActivityController]
ROUTES += [MatchingController, StaffController]

__all__ = ["ROUTES"]
