"""The inbox table: every Telegram update exactly as fetched, stored before it is confirmed.

Only the Telegram edge (:mod:`bot.handlers.inbox`) uses it; it lives here because every
SQL statement lives in :mod:`bot.tickets`::

    inbox = Inbox(log)
    inbox.store([update_dict, ...])         # FULL sync: survives a power cut
    inbox.unhandled()                       # after a crash: what to replay
"""

from __future__ import annotations

import json
from typing import Any

from bot.tickets.log import TicketLog
from bot.tickets.schema import iso


class Inbox:
    def __init__(self, log: TicketLog):
        self.log = log
        self.db = log.db

    def store(self, payloads: list[dict[str, Any]], failed: dict[int, str] | None = None) -> list[int]:
        """Write fetched updates durably (FULL sync) before Telegram is told they arrived.

        ``failed`` maps the ids of updates that could not be read to the reason; they are kept
        aside (never replayed by themselves). Returns the ids newly kept aside.
        """
        failed = failed or {}
        if not payloads:
            return []
        now = iso(self.log.now())
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self.log.transaction():
                known = {r[0] for r in self.db.execute(
                    f"select update_id from inbox where error is not null and update_id in "
                    f"({', '.join('?' for _ in failed)})", list(failed)).fetchall()} if failed else set()
                self.db.conn.executemany(
                    "insert or ignore into inbox (update_id, payload, received_at) values (?, ?, ?)",
                    [(p["update_id"], json.dumps(p, ensure_ascii=False), now) for p in payloads],
                )
                self.db.conn.executemany("update inbox set error = ? where update_id = ?",
                                         [(error, update_id) for update_id, error in failed.items()])
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")
        return [u for u in failed if u not in known]

    def unhandled(self) -> list[dict[str, Any]]:
        """Updates fetched but never handled (the bot died with them queued), oldest first."""
        rows = self.db.query("select payload from inbox where handled_at is null and error is null "
                             "order by update_id")
        return [json.loads(r["payload"]) for r in rows]

    def failed(self) -> list[dict[str, Any]]:
        """Updates kept aside because they could not be read: id, when, why, and the raw payload."""
        return list(self.db.query("select update_id, received_at, error, payload from inbox "
                                  "where error is not null order by update_id"))

    def replay_failed(self) -> int:
        """Hand every kept-aside update back for the next start (after an upgrade); returns how many."""
        with self.log.transaction():
            return self.db.execute("update inbox set error = null where error is not null "
                                   "and handled_at is null").rowcount

    def is_handled(self, update_id: int) -> bool:
        row = self.db.execute("select handled_at from inbox where update_id = ?", [update_id]).fetchone()
        return bool(row and row[0])

    def mark_handled(self, update_id: int) -> None:
        with self.log.transaction():
            self.db.execute("update inbox set handled_at = ? where update_id = ?", [iso(self.log.now()), update_id])
