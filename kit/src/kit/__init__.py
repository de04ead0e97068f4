"""The ClinicFlow service chassis: infrastructure only, no domain words (docs/architecture.md)."""
