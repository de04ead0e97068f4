"""funnel: scaffolded by `just new-service funnel` (docs/architecture.md, "Adding a service")."""
