"""The ticket log: a SQLite file written with sqlite-utils, readable by any SQLite tool.

No Telegram here. The log is the truth the bot recovers from: a message is written
before anything else happens to it, each Telegram update is logged once, and a
message that was logged but never answered is found again after a restart::

    log = TicketLog(Path("data/tickets.db"))
    logged = log.record_customer_message(update_id=7, chat_id=42, user_id=42,
                                         user_name="王女士", text="快递三天了还没到")
    logged.ticket.id, logged.new_ticket, logged.duplicate     # 1, True, False
    log.unanswered()                                          # [the message, until answered]

Tables (the product contract; extra columns are additions, never renames):
``tickets``, ``messages`` (``update_id`` unique), ``events``. Times are ISO 8601 UTC.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import sqlite_utils

logger = logging.getLogger(__name__)

OPEN_STATUSES = ("open", "in_progress", "escalated")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")

SCHEMA: dict[str, dict[str, type]] = {
    "tickets": {
        "id": int, "chat_id": int, "user_id": int, "user_name": str, "status": str,
        "category": str, "emotion": str, "intensity": int, "severe": int, "demand": str,
        "agent_id": int, "escalation_level": int, "created_at": str, "due_at": str,
        "first_response_at": str, "resolved_at": str, "rating": int,
        # additions
        "sla_minutes": int, "summary": str, "card_chat_id": int, "card_message_id": int,
        "updated_at": str,
    },
    "messages": {
        "id": int, "ticket_id": int, "role": str, "user_id": int, "text": str, "emotion": str,
        "intensity": int, "blocked": int, "violations": str, "update_id": int, "created_at": str,
        # additions
        "chat_id": int, "kind": str, "file_id": str, "answered_at": str, "template": str,
        "triggers": str,
    },
    "events": {
        "id": int, "ticket_id": int, "kind": str, "actor_id": int, "detail": str, "created_at": str,
    },
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, millisecond precision (sorts correctly as text)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Ticket:
    id: int
    chat_id: int
    user_id: int
    user_name: str | None
    status: str
    category: str | None
    emotion: str | None
    intensity: int
    severe: int
    demand: str | None
    agent_id: int | None
    escalation_level: int
    created_at: str
    due_at: str | None
    first_response_at: str | None
    resolved_at: str | None
    rating: int | None
    sla_minutes: int | None
    summary: str | None
    card_chat_id: int | None
    card_message_id: int | None
    updated_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Ticket":
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Message:
    id: int
    ticket_id: int
    role: str
    user_id: int | None
    chat_id: int | None
    text: str
    kind: str | None
    file_id: str | None
    emotion: str | None
    intensity: int | None
    update_id: int | None
    created_at: str
    answered_at: str | None
    template: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Message":
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Logged:
    """The outcome of logging one customer message."""

    ticket: Ticket
    message: Message
    new_ticket: bool
    duplicate: bool


class TicketLog:
    """All reads and writes of the ticket log."""

    def __init__(self, path: Path | str, now: Callable[[], datetime] = utcnow):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(str(path))
        self.now = now
        if str(path) != ":memory:":
            self.db.enable_wal()
        # FULL: a message the bot has acknowledged survives a power cut, not only a crash
        self.db.execute("PRAGMA synchronous=FULL")
        self.migrate()

    # ------------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Create missing tables, add missing columns and indexes; never drops anything."""
        for name, columns in SCHEMA.items():
            table = self.db[name]
            if not table.exists():
                table.create(columns, pk="id")
            else:
                existing = set(table.columns_dict)
                for column, kind in columns.items():
                    if column not in existing:
                        table.add_column(column, kind)
        self.db["messages"].create_index(["update_id"], unique=True, if_not_exists=True)
        self.db["messages"].create_index(["ticket_id"], if_not_exists=True)
        self.db["messages"].create_index(["answered_at", "role"], if_not_exists=True)
        self.db["tickets"].create_index(["user_id", "status"], if_not_exists=True)
        self.db["events"].create_index(["ticket_id"], if_not_exists=True)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ customers

    def record_customer_message(
        self,
        *,
        update_id: int | None,
        chat_id: int,
        user_id: int,
        user_name: str | None,
        text: str,
        kind: str = "text",
        file_id: str | None = None,
    ) -> Logged:
        """Log a customer's message on their open ticket (opening one if needed).

        One transaction; a Telegram update already logged is reported as a duplicate
        and not written again.
        """
        now = iso(self.now())
        with self.db.conn:
            if update_id is not None:
                row = self._one("select * from messages where update_id = ?", [update_id])
                if row is not None:
                    ticket = self.ticket(row["ticket_id"])
                    return Logged(ticket, Message.from_row(row), new_ticket=False, duplicate=True)
            ticket_row = self._one(
                "select * from tickets where user_id = ? and status in (?, ?, ?) order by id desc limit 1",
                [user_id, *OPEN_STATUSES],
            )
            new_ticket = ticket_row is None
            if new_ticket:
                ticket_id = self.db["tickets"].insert(
                    {
                        "chat_id": chat_id, "user_id": user_id, "user_name": user_name, "status": "open",
                        "intensity": 0, "severe": 0, "escalation_level": 0, "created_at": now,
                        "updated_at": now,
                    }
                ).last_pk
                self._event(ticket_id, "opened", user_id, None, now)
            else:
                ticket_id = ticket_row["id"]
            message_id = self.db["messages"].insert(
                {
                    "ticket_id": ticket_id, "role": "customer", "user_id": user_id, "chat_id": chat_id,
                    "text": text, "kind": kind, "file_id": file_id, "blocked": 0, "update_id": update_id,
                    "created_at": now,
                }
            ).last_pk
        return Logged(self.ticket(ticket_id), self.message(message_id), new_ticket, duplicate=False)

    def record_analysis(
        self,
        message_id: int,
        *,
        emotion: str | None,
        intensity: int,
        severe: bool,
        category: str | None,
        demand: str | None,
        triggers: dict[str, list[str]],
        sla_minutes: int,
    ) -> Ticket:
        """Store what the analyser read and keep the ticket's fields current.

        The ticket keeps the strongest intensity seen, the emotion of its strongest
        message, severe once any message was severe, the first category found (its
        deadline is ``created_at + sla_minutes``) and the latest demand.
        """
        message = self.message(message_id)
        with self.db.conn:
            self.db["messages"].update(
                message_id,
                {"emotion": emotion, "intensity": intensity, "triggers": json.dumps(triggers, ensure_ascii=False)},
            )
            ticket = self.ticket(message.ticket_id)
            changes: dict[str, Any] = {}
            if emotion and intensity >= (ticket.intensity or 0):
                changes["emotion"] = emotion
            if intensity > (ticket.intensity or 0):
                changes["intensity"] = intensity
            if severe and not ticket.severe:
                changes["severe"] = 1
            if category and not ticket.category:
                changes["category"] = category
            if demand:
                changes["demand"] = demand
            if ticket.due_at is None or (category and not ticket.category):
                changes["sla_minutes"] = sla_minutes
                changes["due_at"] = iso(parse_iso(ticket.created_at) + timedelta(minutes=sla_minutes))
            if changes:
                changes["updated_at"] = iso(self.now())
                self.db["tickets"].update(ticket.id, changes)
        return self.ticket(message.ticket_id)

    def record_bot_reply(self, answering: int | None, ticket_id: int, chat_id: int, text: str,
                         template: str | None = None) -> None:
        """Log what the bot said and mark the customer's message answered (one transaction)."""
        now = iso(self.now())
        with self.db.conn:
            self.db["messages"].insert(
                {"ticket_id": ticket_id, "role": "bot", "chat_id": chat_id, "text": text, "blocked": 0,
                 "template": template, "created_at": now}
            )
            if answering is not None:
                self.db["messages"].update(answering, {"answered_at": now})

    def mark_answered(self, message_id: int) -> None:
        self.db["messages"].update(message_id, {"answered_at": iso(self.now())})

    def unanswered(self, older_than: timedelta = timedelta(0)) -> list[Message]:
        """Customer messages logged but never answered, oldest first."""
        cutoff = iso(self.now() - older_than)
        rows = self.db.query(
            "select * from messages where role = 'customer' and answered_at is null and created_at <= ? "
            "order by id",
            [cutoff],
        )
        return [Message.from_row(r) for r in rows]

    def emotion_triggers(self, ticket_id: int, limit: int = 8) -> list[str]:
        """The words behind the ticket's emotion and severity, across its messages."""
        words: list[str] = []
        rows = self.db.query(
            "select triggers from messages where ticket_id = ? and role = 'customer' and triggers is not null "
            "order by id",
            [ticket_id],
        )
        for row in rows:
            found = json.loads(row["triggers"])
            words.extend(found.get("severe", []) + found.get("emotion", []))
        return list(dict.fromkeys(words))[:limit]

    def templates_used(self, ticket_id: int) -> list[str]:
        """Empathy and acknowledgement templates the bot used on a ticket, newest last."""
        rows = self.db.query(
            "select template from messages where ticket_id = ? and role = 'bot' and template is not null "
            "order by id",
            [ticket_id],
        )
        return [r["template"] for r in rows]

    # ------------------------------------------------------------------ reads

    def ticket(self, ticket_id: int) -> Ticket:
        return Ticket.from_row(self.db["tickets"].get(ticket_id))

    def find_ticket(self, ticket_id: int) -> Ticket | None:
        try:
            return self.ticket(ticket_id)
        except sqlite_utils.db.NotFoundError:
            return None

    def message(self, message_id: int) -> Message:
        return Message.from_row(self.db["messages"].get(message_id))

    def messages(self, ticket_id: int, role: str | None = None, limit: int | None = None) -> list[Message]:
        """A ticket's messages, oldest first (the last ``limit`` when given)."""
        sql = "select * from messages where ticket_id = ?" + (" and role = ?" if role else "")
        params: list[Any] = [ticket_id] + ([role] if role else [])
        rows = [Message.from_row(r) for r in self.db.query(sql + " order by id", params)]
        return rows[-limit:] if limit else rows

    def open_ticket_for(self, user_id: int) -> Ticket | None:
        row = self._one(
            "select * from tickets where user_id = ? and status in (?, ?, ?) order by id desc limit 1",
            [user_id, *OPEN_STATUSES],
        )
        return Ticket.from_row(row) if row else None

    def tickets_for(self, user_id: int, limit: int = 10) -> list[Ticket]:
        """A customer's own tickets, newest first."""
        rows = self.db.query("select * from tickets where user_id = ? order by id desc limit ?", [user_id, limit])
        return [Ticket.from_row(r) for r in rows]

    def tickets_without_card(self) -> list[Ticket]:
        rows = self.db.query(
            "select * from tickets where card_message_id is null and status in (?, ?, ?) order by id",
            list(OPEN_STATUSES),
        )
        return [Ticket.from_row(r) for r in rows]

    def count(self, table: str, where: str = "1", params: Iterable[Any] = ()) -> int:
        return self.db.execute(f"select count(*) from {table} where {where}", list(params)).fetchone()[0]

    # ------------------------------------------------------------------ updates

    def update_ticket(self, ticket_id: int, **changes: Any) -> Ticket:
        changes["updated_at"] = iso(self.now())
        with self.db.conn:
            self.db["tickets"].update(ticket_id, changes)
        return self.ticket(ticket_id)

    def add_event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any = None) -> None:
        with self.db.conn:
            self._event(ticket_id, kind, actor_id, detail, iso(self.now()))

    # ------------------------------------------------------------------ helpers

    def _event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any, now: str) -> None:
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, ensure_ascii=False)
        self.db["events"].insert(
            {"ticket_id": ticket_id, "kind": kind, "actor_id": actor_id, "detail": detail, "created_at": now}
        )

    def _one(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row))
