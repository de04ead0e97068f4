"""analytics: scaffolded by `just new-service analytics` (docs/architecture.md, "Adding a service")."""
