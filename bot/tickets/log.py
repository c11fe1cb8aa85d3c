"""The ticket log: tickets, their messages and events, in a SQLite file written with sqlite-utils.

No Telegram here. The log is the truth the bot recovers from: a message is written
before anything else happens to it, each Telegram update is logged once, and a
message that was logged but never answered is found again after a restart::

    log = TicketLog(Path("data/tickets.db"))
    with log.transaction():                         # one commit for everything inside
        logged = log.record_customer_message(update_id=7, chat_id=42, user_id=42,
                                             user_name="王女士", text="快递三天了还没到")
        log.apply_reading(logged.message.id, logged.ticket, reading)
    logged.ticket.id, logged.new_ticket, logged.duplicate     # 1, True, False
    log.unanswered()                                          # [the message, until answered]

The schema is in :mod:`bot.tickets.schema`; the edge's own tables (the inbox, card
positions) in :mod:`bot.tickets.inbox` and :mod:`bot.tickets.cards`; the queries behind
statistics and exports in :mod:`bot.tickets.reports`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlite_utils

from bot.tickets import LogUnusable  # noqa: F401  (raised here, caught by the CLI)
from bot.tickets.schema import NotATicketLog, check_ticket_log, OPEN_STATUSES, Message, Ticket, iso, migrate, parse_iso, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """What the analyser read in a message, as the log stores it."""

    emotion: str | None
    intensity: int
    severe: bool
    category: str | None
    demand: str | None
    triggers: dict[str, list[str]]
    sla_minutes: float


@dataclass(frozen=True)
class Logged:
    """The outcome of logging one customer message."""

    ticket: Ticket
    message: Message
    new_ticket: bool
    duplicate: bool


def is_busy(err: BaseException | None) -> bool:
    """True when another process held the ticket log's lock longer than ``busy_seconds``."""
    return isinstance(err, sqlite3.OperationalError) and any(
        word in str(err).lower() for word in ("database is locked", "database table is locked", "busy"))


class TicketLog:
    """Reads and writes of tickets, messages and events.

    A write waits for a lock another process holds (a backup, Datasette, an ``sqlite3``
    shell) up to ``busy_seconds``, SQLite's busy handler backing off between tries; after
    that it raises (:func:`is_busy` tells), and the caller tries again later. A file that
    cannot be used at all (read-only folder, full disk, not a ticket log) raises
    :class:`LogUnusable` at once, saying which file and what to do.
    """

    def __init__(self, path: Path | str, now: Callable[[], datetime] = utcnow, busy_seconds: float = 30.0):
        self.path = Path(path)
        self.now = now
        memory = str(path) == ":memory:"
        try:
            self._open(memory, busy_seconds)
        except (OSError, sqlite3.Error, NotATicketLog) as err:
            raise unusable(self.path, err) from None

    def _open(self, memory: bool, busy_seconds: float) -> None:
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=busy_seconds,
                                                        check_same_thread=False))
        check_ticket_log(self.db)       # before anything is written to someone else's file
        if not memory:
            self.db.enable_wal()
        # In WAL mode NORMAL loses no committed transaction when the process crashes; the
        # inbox, which must survive a power cut too, is written with FULL (bot.tickets.inbox).
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrate(self.db)
        # one real write, so a full disk or a read-only file stops the start, not the first customer
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        with self.transaction():
            self.db.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One commit for every write inside (sqlite-utils' ``atomic``; a nested use is a savepoint).

        Without it each statement commits by itself: sqlite-utils 4 commits every write that
        does not run inside an open transaction.
        """
        with self.db.atomic():
            yield

    # ------------------------------------------------------------------ customers

    def record_customer_message(self, *, update_id: int | None, chat_id: int, user_id: int,
                                user_name: str | None, text: str, kind: str = "text",
                                file_id: str | None = None) -> Logged:
        """Log a customer's message on their open ticket (opening one if needed).

        A Telegram update already logged is reported as a duplicate and not written again.
        """
        now = iso(self.now())
        with self.transaction():
            if update_id is not None:
                row = self._one("select * from messages where update_id = ?", [update_id])
                if row is not None:
                    return Logged(self.ticket(row["ticket_id"]), Message.from_row(row), False, duplicate=True)
            ticket = self.open_ticket_for(user_id)
            new_ticket = ticket is None
            if ticket is None:
                ticket = self._open_ticket(chat_id, user_id, user_name, now)
            message_id = self._insert("messages", {
                "ticket_id": ticket.id, "role": "customer", "user_id": user_id, "chat_id": chat_id,
                "text": text, "kind": kind, "file_id": file_id, "blocked": 0, "update_id": update_id,
                "created_at": now,
            })
            self._set("tickets", ticket.id, {"updated_at": now})     # the card shows the new message
        return Logged(self.ticket(ticket.id), self.message(message_id), new_ticket, duplicate=False)

    def _open_ticket(self, chat_id: int, user_id: int, user_name: str | None, now: str) -> Ticket:
        row = {"chat_id": chat_id, "user_id": user_id, "user_name": user_name, "status": "open",
               "intensity": 0, "severe": 0, "escalation_level": 0, "created_at": now, "updated_at": now}
        row["id"] = self._insert("tickets", row)
        self._event(row["id"], "opened", user_id, None, now)
        return Ticket.from_row(row)

    def apply_reading(self, message_id: int, ticket: Ticket, reading: Reading) -> dict[str, Any]:
        """Store what was read in a message and keep its ticket current; returns the ticket's changes.

        The ticket keeps the strongest intensity seen, the emotion of its strongest
        message, severe once any message was severe, the first category found (its
        deadline is ``created_at + sla_minutes``) and the latest demand.
        """
        now = iso(self.now())
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
        with self.transaction():
            self._set("messages", message_id, {
                "emotion": reading.emotion, "intensity": reading.intensity,
                "triggers": json.dumps(reading.triggers, ensure_ascii=False),
            })
            if changes:
                self._set("tickets", ticket.id, {**changes, "updated_at": now})
        return changes

    def record_bot_reply(self, answering: int | None, ticket_id: int, chat_id: int, text: str,
                         template: str | None = None) -> None:
        """Log what the bot said and mark the customer's message answered."""
        now = iso(self.now())
        with self.transaction():
            self._insert("messages", {"ticket_id": ticket_id, "role": "bot", "chat_id": chat_id, "text": text,
                                      "kind": "text", "blocked": 0, "template": template, "created_at": now})
            if answering is not None:
                self._set("messages", answering, {"answered_at": now})

    def mark_answered(self, message_id: int) -> None:
        with self.transaction():
            self._set("messages", message_id, {"answered_at": iso(self.now())})

    def unanswered(self, older_than: timedelta = timedelta(0)) -> list[Message]:
        """Customer messages logged but never answered, oldest first."""
        cutoff = iso(self.now() - older_than)
        return self._messages("select * from messages where role = 'customer' and answered_at is null "
                              "and created_at <= ? order by id", [cutoff])

    def triggers(self, ticket_id: int, kinds: tuple[str, ...] = ("severe", "learned", "emotion"),
                 limit: int = 8) -> list[str]:
        """The words behind the ticket's severity and emotion, across its customer messages (what the
        learned reader weighed before the rules' words: when it moved a reading, it decided)."""
        words: list[str] = []
        for message in self.messages(ticket_id, role="customer"):
            found = json.loads(message.triggers) if message.triggers else {}
            for kind in kinds:
                words.extend(found.get(kind, []))
        return list(dict.fromkeys(words))[:limit]

    def severe_message(self, ticket_id: int) -> Message | None:
        """The customer's first message that made the ticket severe (its own words)."""
        for message in self.messages(ticket_id, role="customer"):
            if message.triggers and json.loads(message.triggers).get("severe"):
                return message
        return None

    def templates_used(self, ticket_id: int) -> list[str]:
        """Empathy and acknowledgement templates the bot used on a ticket, newest last."""
        rows = self.db.query("select template from messages where ticket_id = ? and role = 'bot' "
                             "and template is not null order by id", [ticket_id])
        return [r["template"] for r in rows]

    # ------------------------------------------------------------------ agents

    def record_agent_message(self, ticket_id: int, agent_id: int, text: str, state: str,
                             violations: list[dict] | None = None) -> int:
        """An agent's draft, in one of :data:`bot.tickets.schema.DRAFT_STATES`."""
        with self.transaction():
            return self._insert("messages", {
                "ticket_id": ticket_id, "role": "agent", "user_id": agent_id, "text": text, "kind": "text",
                "state": state, "blocked": 1 if state == "blocked" else 0,
                "violations": json.dumps(violations, ensure_ascii=False) if violations else None,
                "created_at": iso(self.now()),
            })

    def set_state(self, message_id: int, state: str) -> None:
        with self.transaction():
            self._set("messages", message_id, {"state": state})

    def open_tickets(self) -> list[Ticket]:
        """Open tickets, the most urgent deadline first."""
        return self._tickets("select * from tickets where status in (?, ?, ?) order by due_at is null, due_at, id",
                             list(OPEN_STATUSES))

    def has_event(self, ticket_id: int, kind: str) -> bool:
        return self._one("select 1 from events where ticket_id = ? and kind = ? limit 1", [ticket_id, kind]) is not None

    def events(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("select * from events where ticket_id = ? order by id", [ticket_id]))

    def awaiting_first_response(self) -> list[Ticket]:
        """Open tickets with a deadline and no answer yet."""
        return self._tickets("select * from tickets where status in (?, ?, ?) and due_at is not null "
                             "and first_response_at is null order by due_at", list(OPEN_STATUSES))

    def awaiting_followup(self) -> list[Ticket]:
        """Resolved tickets whose 回访 has not been sent."""
        return self._tickets("select * from tickets where status = 'resolved' and resolved_at is not null and not "
                             "exists (select 1 from events e where e.ticket_id = tickets.id and e.kind = 'followup') "
                             "order by resolved_at", [])

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
        rows = self._messages(sql + " order by id", [ticket_id] + ([role] if role else []))
        return rows[-limit:] if limit else rows

    def open_ticket_for(self, user_id: int) -> Ticket | None:
        row = self._one("select * from tickets where user_id = ? and status in (?, ?, ?) order by id desc limit 1",
                        [user_id, *OPEN_STATUSES])
        return Ticket.from_row(row) if row else None

    def tickets_for(self, user_id: int, limit: int = 10) -> list[Ticket]:
        """A customer's own tickets, newest first."""
        return self._tickets("select * from tickets where user_id = ? order by id desc limit ?", [user_id, limit])

    def count(self, table: str, where: str = "1", params: Iterable[Any] = ()) -> int:
        return self.db.execute(f"select count(*) from {table} where {where}", list(params)).fetchone()[0]

    # ------------------------------------------------------------------ changes

    def update_ticket(self, ticket_id: int, **changes: Any) -> Ticket:
        with self.transaction():
            self._set("tickets", ticket_id, {**changes, "updated_at": iso(self.now())})
        return self.ticket(ticket_id)

    def add_event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any = None) -> None:
        with self.transaction():
            self._event(ticket_id, kind, actor_id, detail, iso(self.now()))

    # ------------------------------------------------------------------ helpers

    def _event(self, ticket_id: int, kind: str, actor_id: int | None, detail: Any, now: str) -> None:
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, ensure_ascii=False)
        self._insert("events", {"ticket_id": ticket_id, "kind": kind, "actor_id": actor_id, "detail": detail,
                                "created_at": now})

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
        if not storable(params):
            return None         # a number SQLite cannot store matches no row
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else dict(zip([c[0] for c in cursor.description], row))

    def _tickets(self, sql: str, params: list[Any]) -> list[Ticket]:
        if not storable(params):
            return []
        return [Ticket.from_row(r) for r in self.db.query(sql, params)]

    def _messages(self, sql: str, params: list[Any]) -> list[Message]:
        if not storable(params):
            return []
        return [Message.from_row(r) for r in self.db.query(sql, params)]


def storable(params: Iterable[Any]) -> bool:
    """False when a parameter is an integer outside SQLite's 64-bit range (a ticket number typed as
    99999999999999999999): no row can hold it, and sqlite3 would raise OverflowError."""
    return all(not isinstance(p, int) or -2 ** 63 <= p < 2 ** 63 for p in params)


def unusable(path: Path, err: BaseException) -> LogUnusable:
    """One line for a ticket log that cannot be opened or written: which file, what is wrong, the fix."""
    where, text = f"ticket log {path}", str(err).lower()
    folder = _existing(path.parent)
    code = getattr(err, "errno", None)
    if isinstance(err, NotATicketLog) or "not a database" in text or "malformed" in text:
        why = str(err) if isinstance(err, NotATicketLog) else str(err).rstrip(".")
        return LogUnusable(f"{where} is not a complaint-bot ticket log ({why}); move it away, "
                           "or set DATABASE_PATH to a new file")
    if code == errno.ENOSPC or "full" in text or _free_bytes(folder) < 256 * 1024:
        return LogUnusable(f"{where}: the disk is full; free some space on it, "
                           "or set DATABASE_PATH to a file on another disk")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text or "read-only" in text \
            or not os.access(folder, os.W_OK):
        return LogUnusable(f"{where}: the folder {folder} is read-only; make it writable, "
                           "or set DATABASE_PATH to a file in a writable folder")
    if is_busy(err):
        return LogUnusable(f"{where} is locked by another program (a backup, Datasette, an sqlite3 shell); "
                           "close it and start again, or set DATABASE_PATH to another file")
    return LogUnusable(f"{where} cannot be opened ({err}); check the file and its folder, "
                       "or set DATABASE_PATH to another file")


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 40

