"""ClinicFlow payments: charges, payment links, provider webhooks, receipts and the finance view."""
