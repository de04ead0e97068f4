"""Payments rules in plain Python: money, the charge state machine, prices and discounts."""
