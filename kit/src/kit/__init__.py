"""The ClinicFlow service chassis: infrastructure only, no domain words (DESIGN §5)."""
