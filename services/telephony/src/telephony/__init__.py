"""telephony: scaffolded by `just new-service telephony` (docs/architecture.md, "Adding a service")."""
