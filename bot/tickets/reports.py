"""The queries behind the admins' statistics and exports (read-only)::

    reports = Reports(log)
    reports.tickets_since("2026-11-01")           # rows as dicts, in id order
    reports.blocked_violations_since(since)       # the JSON violations of each blocked draft
    reports.export(since)                         # {"tickets": [...], "messages": [...]}
"""

from __future__ import annotations

import json
from typing import Any

from bot.tickets.log import TicketLog


class Reports:
    def __init__(self, log: TicketLog):
        self.db = log.db

    def tickets_since(self, since: str | None) -> list[dict[str, Any]]:
        """Tickets created since ``since`` (ISO date or time; all when None)."""
        where, params = ("where created_at >= ?", [since]) if since else ("", [])
        return list(self.db.query(f"select * from tickets {where} order by id", params))

    def blocked_violations_since(self, since: str) -> list[list[dict[str, Any]]]:
        """For each draft the guard blocked since ``since``: its violations."""
        rows = self.db.query("select violations from messages where role = 'agent' and blocked = 1 "
                             "and created_at >= ? order by id", [since])
        return [json.loads(r["violations"] or "[]") for r in rows]

    def customer_texts_since(self, since: str) -> list[str]:
        rows = self.db.query("select text from messages where role = 'customer' and created_at >= ?", [since])
        return [r["text"] for r in rows]

    def export(self, since: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Tickets created since ``since`` and all their messages."""
        tickets = self.tickets_since(since)
        ids = [t["id"] for t in tickets]
        messages: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            messages.extend(self.db.query(f"select * from messages where ticket_id in ({marks}) order by id", chunk))
        return {"tickets": tickets, "messages": messages}
