"""Use cases of privacy: one unit of work each (events are published with `work.publish(...)` before commit).

The consent ledger; data subject requests gathered and erased through events (each answering service writes its
part to the object store and says so on its own topic, never read from its database); the export archive behind
a signed, expiring, single-use link; the read audit; retention; the key store of crypto-shredding
(docs/privacy.md). One module per concern; the package re-exports what the handlers call.
"""

from __future__ import annotations

from privacy.services.audit import ReadInput, list_reads, record_read, remember_read
from privacy.services.common import (
    EXPORT_LINK,
    PrivacyUnitOfWork,
    PrivacyWorkFactory,
    get_clinic,
    now,
    remember_person,
    set_clinic,
)
from privacy.services.consent import (
    ConsentInput,
    PersonConsents,
    list_consents,
    person_consents,
    record_channel_consent,
    record_consent,
)
from privacy.services.keys import KeyVault, ensure_keys, unwrap_keys
from privacy.services.links import ExportLinks, download_export, mint_export_link
from privacy.services.requests import (
    RequestInput,
    archive_key,
    build_archive,
    get_request,
    list_requests,
    open_request,
    part_erased,
    part_ready_handler,
    resolve_request,
)
from privacy.services.retention import (
    list_retention,
    record_leads_retention_run,
    record_retention_run,
    retention_report,
    retention_round,
    set_retention,
)

__all__ = [
    "EXPORT_LINK",
    "ConsentInput",
    "ExportLinks",
    "KeyVault",
    "PersonConsents",
    "PrivacyUnitOfWork",
    "PrivacyWorkFactory",
    "ReadInput",
    "RequestInput",
    "archive_key",
    "build_archive",
    "download_export",
    "ensure_keys",
    "get_clinic",
    "get_request",
    "list_consents",
    "list_reads",
    "list_requests",
    "list_retention",
    "mint_export_link",
    "now",
    "open_request",
    "part_erased",
    "part_ready_handler",
    "person_consents",
    "record_channel_consent",
    "record_consent",
    "record_leads_retention_run",
    "record_read",
    "record_retention_run",
    "remember_person",
    "remember_read",
    "resolve_request",
    "retention_report",
    "retention_round",
    "set_clinic",
    "set_retention",
    "unwrap_keys",
]
