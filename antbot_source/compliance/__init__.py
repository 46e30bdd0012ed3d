"""Calling-rule compliance: the rules (hours, frequency, do-not-call lists) and what applies them."""
