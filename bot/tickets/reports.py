"""The queries behind the admins' statistics and exports (read-only)::

    reports = Reports(log)
    reports.tickets_since("2026-11-01")           # rows as dicts, in id order
    reports.blocked_violations_since(since)       # the JSON violations of each blocked draft
    reports.export(since)                         # {"tickets": [...], "messages": [...]}
    reports.drafts_to_review(since)               # blocked drafts and confirm-tier overrides
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

    def drafts_to_review(self, since: str) -> list[dict[str, Any]]:
        """Agents' drafts the guard blocked, and confirm-tier drafts agents sent anyway, since ``since``.

        Each row: ``id``, ``ticket_id``, ``text``, ``created_at``, ``outcome`` (``blocked`` or
        ``override``) and ``ids`` (the sentences that fired).
        """
        rows = []
        for r in self.db.query("select id, ticket_id, text, created_at, violations from messages "
                               "where role = 'agent' and blocked = 1 and created_at >= ? order by id", [since]):
            ids = [v["id"] for v in json.loads(r.pop("violations") or "[]")]
            rows.append({**r, "outcome": "blocked", "ids": ids})
        for r in self.db.query("select m.id, m.ticket_id, m.text, e.created_at, e.detail from events e "
                               "join messages m on m.id = json_extract(e.detail, '$.message_id') "
                               "where e.kind = 'override' and e.created_at >= ? order by e.id", [since]):
            rows.append({**{k: r[k] for k in ("id", "ticket_id", "text", "created_at")}, "outcome": "override",
                         "ids": json.loads(r["detail"]).get("ids", [])})
        return rows
