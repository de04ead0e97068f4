"""Sandbox providers: local HTTP servers that behave like the real external providers."""
