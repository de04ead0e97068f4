"""Use cases of payments: one unit of work each, events through the outbox."""
