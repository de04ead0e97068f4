"""Use cases of scheduling: each one unit of work, its events through the outbox."""
