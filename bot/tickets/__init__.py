"""The ticket log: the only package that speaks SQL (schema, log, inbox, cards, reports)."""
