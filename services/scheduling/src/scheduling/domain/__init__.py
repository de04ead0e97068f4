"""Scheduling rules in plain Python: set-up, slots, the appointment's life, reminders, anamnesis."""
