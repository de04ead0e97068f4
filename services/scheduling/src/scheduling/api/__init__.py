"""HTTP: thin controllers over the use cases, one module per part of the API. Staff paths need a token;
/public/scheduling/... a patient link."""

from __future__ import annotations

from scheduling.api.agenda import AgendaController
from scheduling.api.appointments import AppointmentController
from scheduling.api.board import BoardController
from scheduling.api.public import PublicController
from scheduling.api.setup import SetupController

ROUTES = [SetupController, AppointmentController, AgendaController, BoardController, PublicController]
