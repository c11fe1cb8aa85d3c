"""The ticket log: the only package that speaks SQL (schema, log, inbox, cards, reports)."""


class LogUnusable(Exception):
    """The ticket log cannot be used: the message is one line naming the path and the fix.

    Defined here, without importing sqlite-utils, so the command line can catch it cheaply.
    """
