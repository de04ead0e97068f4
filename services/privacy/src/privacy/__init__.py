"""privacy: scaffolded by `just new-service privacy` (docs/architecture.md, "Adding a service")."""
