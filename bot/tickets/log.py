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
from dataclasses import dataclass, field, fields
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
        "updated_at": str, "card_updated_at": str,
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
    # every update exactly as fetched, written before Telegram can be told it was received
    "inbox": {"update_id": int, "payload": str, "received_at": str, "handled_at": str},
}
PRIMARY_KEYS = {"inbox": "update_id"}


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
    card_updated_at: str | None = None

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
class Reading:
    """What the analyser read in a message, as the log stores it."""

    emotion: str | None
    intensity: int
    severe: bool
    category: str | None
    demand: str | None
    triggers: dict[str, list[str]]
    sla_minutes: int


@dataclass(frozen=True)
class Logged:
    """The outcome of logging one customer message."""

    ticket: Ticket
    message: Message
    new_ticket: bool
    duplicate: bool
    changes: dict[str, Any] = field(default_factory=dict)


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
        # In WAL mode NORMAL loses no committed transaction when the process crashes; the
        # inbox, which must survive a power cut too, is written with FULL (store_updates).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    # ------------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Create missing tables, add missing columns and indexes; never drops anything."""
        for name, columns in SCHEMA.items():
            table = self.db[name]
            if not table.exists():
                table.create(columns, pk=PRIMARY_KEYS.get(name, "id"))
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
        self.db["inbox"].create_index(["handled_at"], if_not_exists=True)

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
        read: Callable[[str, Ticket], Reading | None] | None = None,
    ) -> Logged:
        """Log a customer's message on their open ticket (opening one if needed).

        One transaction. ``read`` (the analyser) runs inside it, so the message and what
        was read in it are committed together; if ``read`` raises, the message is still
        committed, unread. A Telegram update already logged is reported as a duplicate and
        not written again.
        """
        now = iso(self.now())
        reading: Reading | None = None
        changes: dict[str, Any] = {}
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
                ticket_row = {
                    "chat_id": chat_id, "user_id": user_id, "user_name": user_name, "status": "open",
                    "intensity": 0, "severe": 0, "escalation_level": 0, "created_at": now, "updated_at": now,
                }
                ticket_row["id"] = self._insert("tickets", ticket_row)
                self._event(ticket_row["id"], "opened", user_id, None, now)
            ticket = Ticket.from_row(ticket_row)
            message_id = self._insert(
                "messages",
                {
                    "ticket_id": ticket.id, "role": "customer", "user_id": user_id, "chat_id": chat_id,
                    "text": text, "kind": kind, "file_id": file_id, "blocked": 0, "update_id": update_id,
                    "created_at": now,
                },
            )
            if read is not None:
                try:
                    reading = read(text, ticket)
                except Exception:   # never lose the message to a reading bug
                    logger.exception("reading message %s failed; logged unread", message_id)
                if reading is not None:
                    changes = self._apply_reading(message_id, ticket, reading, now)
            if not changes:     # a new message changes the card even when no field changed
                self._set("tickets", ticket.id, {"updated_at": now})
        return Logged(self.ticket(ticket.id), self.message(message_id), new_ticket, duplicate=False, changes=changes)

    def record_reading(self, message_id: int, reading: Reading) -> Ticket:
        """Store a reading made after logging (a message answered again after a restart)."""
        message = self.message(message_id)
        with self.db.conn:
            self._apply_reading(message_id, self.ticket(message.ticket_id), reading, iso(self.now()))
        return self.ticket(message.ticket_id)

    def _apply_reading(self, message_id: int, ticket: Ticket, reading: Reading, now: str) -> dict[str, Any]:
        """The message's emotion and triggers; the ticket's fields kept current.

        The ticket keeps the strongest intensity seen, the emotion of its strongest
        message, severe once any message was severe, the first category found (its
        deadline is ``created_at + sla_minutes``) and the latest demand.
        """
        self._set("messages", message_id, {
            "emotion": reading.emotion, "intensity": reading.intensity,
            "triggers": json.dumps(reading.triggers, ensure_ascii=False),
        })
        changes: dict[str, Any] = {}
        if reading.emotion and reading.intensity >= (ticket.intensity or 0):
            changes["emotion"] = reading.emotion
        if reading.intensity > (ticket.intensity or 0):
            changes["intensity"] = reading.intensity
        if reading.severe and not ticket.severe:
            changes["severe"] = 1
        if reading.category and not ticket.category:
            changes["category"] = reading.category
        if reading.demand:
            changes["demand"] = reading.demand
        if ticket.due_at is None or (reading.category and not ticket.category):
            changes["sla_minutes"] = reading.sla_minutes
            changes["due_at"] = iso(parse_iso(ticket.created_at) + timedelta(minutes=reading.sla_minutes))
        if changes:
            changes["updated_at"] = now
            self._set("tickets", ticket.id, changes)
        return changes

    def record_bot_reply(self, answering: int | None, ticket_id: int, chat_id: int, text: str,
                         template: str | None = None) -> None:
        """Log what the bot said and mark the customer's message answered (one transaction)."""
        now = iso(self.now())
        with self.db.conn:
            self._insert(
                "messages",
                {"ticket_id": ticket_id, "role": "bot", "chat_id": chat_id, "text": text, "blocked": 0,
                 "template": template, "created_at": now},
            )
            if answering is not None:
                self._set("messages", answering, {"answered_at": now})

    def mark_answered(self, message_id: int) -> None:
        with self.db.conn:
            self._set("messages", message_id, {"answered_at": iso(self.now())})

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

    # ------------------------------------------------------------------ agents

    def record_agent_message(self, ticket_id: int, agent_id: int, text: str, kind: str,
                             violations: list[dict] | None = None) -> int:
        """An agent's draft or reply: kind ``reply`` (sent), ``blocked``, ``pending`` (warn tier,
        awaiting confirmation), ``suggestion`` (offered, not sent) or ``cancelled``."""
        with self.db.conn:
            return self._insert("messages", {
                "ticket_id": ticket_id, "role": "agent", "user_id": agent_id, "text": text, "kind": kind,
                "blocked": 1 if kind == "blocked" else 0,
                "violations": json.dumps(violations, ensure_ascii=False) if violations else None,
                "created_at": iso(self.now()),
            })

    def set_message_kind(self, message_id: int, kind: str) -> None:
        with self.db.conn:
            self._set("messages", message_id, {"kind": kind})

    def open_tickets(self) -> list[Ticket]:
        """Open tickets, the most urgent deadline first."""
        rows = self.db.query(
            "select * from tickets where status in (?, ?, ?) order by due_at is null, due_at, id", list(OPEN_STATUSES)
        )
        return [Ticket.from_row(r) for r in rows]

    def ticket_by_card(self, chat_id: int, message_id: int) -> Ticket | None:
        row = self._one("select * from tickets where card_chat_id = ? and card_message_id = ?", [chat_id, message_id])
        return Ticket.from_row(row) if row else None

    def has_event(self, ticket_id: int, kind: str) -> bool:
        return self._one("select 1 from events where ticket_id = ? and kind = ? limit 1", [ticket_id, kind]) is not None

    def events(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("select * from events where ticket_id = ? order by id", [ticket_id]))

    def card_posted(self, ticket_id: int, chat_id: int, message_id: int) -> None:
        """Where the ticket's card is; it shows the ticket as of now."""
        with self.db.conn:
            self.db.execute(
                "update tickets set card_chat_id = ?, card_message_id = ?, card_updated_at = updated_at where id = ?",
                [chat_id, message_id, ticket_id],
            )

    def card_drawn(self, ticket_id: int, drawn_at: str) -> None:
        """The card shows the ticket as it was at ``drawn_at`` (a later change makes it stale again)."""
        with self.db.conn:
            self._set("tickets", ticket_id, {"card_updated_at": drawn_at})

    def stale_cards(self) -> list[Ticket]:
        """Tickets whose card was posted but changed since it was last drawn."""
        rows = self.db.query(
            "select * from tickets where card_message_id is not null "
            "and (card_updated_at is null or updated_at > card_updated_at) order by id"
        )
        return [Ticket.from_row(r) for r in rows]

    def awaiting_first_response(self) -> list[Ticket]:
        """Open tickets with a deadline and no answer yet (their deadline jobs are re-armed)."""
        rows = self.db.query(
            "select * from tickets where status in (?, ?, ?) and due_at is not null and first_response_at is null "
            "order by due_at", list(OPEN_STATUSES)
        )
        return [Ticket.from_row(r) for r in rows]

    def awaiting_followup(self) -> list[Ticket]:
        """Resolved tickets whose 回访 has not been sent."""
        rows = self.db.query(
            "select * from tickets where status = 'resolved' and resolved_at is not null and not exists "
            "(select 1 from events e where e.ticket_id = tickets.id and e.kind = 'followup') order by resolved_at"
        )
        return [Ticket.from_row(r) for r in rows]

    # ------------------------------------------------------------------ inbox

    def store_updates(self, payloads: list[dict[str, Any]]) -> None:
        """Write fetched updates durably (FULL sync) before Telegram is told they arrived."""
        if not payloads:
            return
        now = iso(self.now())
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self.db.conn:
                self.db.conn.executemany(
                    "insert or ignore into inbox (update_id, payload, received_at) values (?, ?, ?)",
                    [(p["update_id"], json.dumps(p, ensure_ascii=False), now) for p in payloads],
                )
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")

    def unhandled_updates(self) -> list[dict[str, Any]]:
        """Updates fetched but never handled (the bot died with them queued), oldest first."""
        rows = self.db.query("select payload from inbox where handled_at is null order by update_id")
        return [json.loads(r["payload"]) for r in rows]

    def is_handled(self, update_id: int) -> bool:
        row = self._one("select handled_at from inbox where update_id = ?", [update_id])
        return bool(row and row["handled_at"])

    def mark_handled(self, update_id: int) -> None:
        with self.db.conn:
            self.db.execute("update inbox set handled_at = ? where update_id = ?", [iso(self.now()), update_id])

    # ------------------------------------------------------------------ reads

    def ticket(self, ticket_id: int) -> Ticket:
        ticket = self.find_ticket(ticket_id)
        if ticket is None:
            raise KeyError(f"no ticket {ticket_id}")
        return ticket

    def find_ticket(self, ticket_id: int) -> Ticket | None:
        row = self._one("select * from tickets where id = ?", [ticket_id])
        return Ticket.from_row(row) if row else None

    def message(self, message_id: int) -> Message:
        row = self._one("select * from messages where id = ?", [message_id])
        if row is None:
            raise KeyError(f"no message {message_id}")
        return Message.from_row(row)

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
            self._set("tickets", ticket_id, changes)
        return self.ticket(ticket_id)

    def add_event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any = None) -> None:
        with self.db.conn:
            self._event(ticket_id, kind, actor_id, detail, iso(self.now()))

    # ------------------------------------------------------------------ helpers

    def _event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any, now: str) -> None:
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, ensure_ascii=False)
        self._insert(
            "events", {"ticket_id": ticket_id, "kind": kind, "actor_id": actor_id, "detail": detail, "created_at": now}
        )

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """INSERT one row, returning its id (the hot path skips sqlite-utils' introspection)."""
        columns = ", ".join(f"[{k}]" for k in row)
        marks = ", ".join("?" for _ in row)
        return self.db.execute(f"insert into [{table}] ({columns}) values ({marks})", list(row.values())).lastrowid

    def _set(self, table: str, row_id: int, changes: dict[str, Any]) -> None:
        """UPDATE one row by id (the hot path skips sqlite-utils' read-before-write)."""
        columns = ", ".join(f"[{k}] = ?" for k in changes)
        self.db.execute(f"update [{table}] set {columns} where id = ?", [*changes.values(), row_id])

    def _one(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row))
