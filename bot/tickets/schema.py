"""The ticket log's schema, its migrations, and the rows read back from it.

Tables (the product contract; extra columns are additions, never renames):
``tickets``, ``messages`` (``update_id`` unique), ``events``, and the Telegram edge's
``inbox``. Times are ISO 8601 in UTC.

``messages.kind`` is what a message holds (``text``, ``edited``, ``photo``, ``sticker`` …);
``messages.state`` is where an agent's draft stands (``blocked``, ``pending``,
``suggestion``, ``sent``, ``cancelled``), and is empty for customer and bot messages.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any

import sqlite_utils

OPEN_STATUSES = ("open", "in_progress", "escalated")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")
DRAFT_STATES = ("blocked", "pending", "suggestion", "sent", "cancelled")

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
        "triggers": str, "state": str,
    },
    "events": {
        "id": int, "ticket_id": int, "kind": str, "actor_id": int, "detail": str, "created_at": str,
    },
    # every update exactly as fetched, written before Telegram can be told it was received
    # error: why the update could not be read (a poison update, kept aside and confirmed)
    "inbox": {"update_id": int, "payload": str, "received_at": str, "handled_at": str, "error": str},
}
PRIMARY_KEYS = {"inbox": "update_id"}
INDEXES = (
    ("messages", ["update_id"], True), ("messages", ["ticket_id"], False),
    ("messages", ["answered_at", "role"], False), ("tickets", ["user_id", "status"], False),
    ("events", ["ticket_id"], False), ("inbox", ["handled_at"], False),
)


# what a table of ours must have; a file whose tables lack them belongs to someone else
REQUIRED = {"tickets": ("id", "user_id", "status", "created_at"), "messages": ("id", "ticket_id", "role", "text"),
            "events": ("id", "ticket_id", "kind"), "inbox": ("update_id", "payload")}


class NotATicketLog(Exception):
    """The database holds something else; nothing may be written to it."""


def check_ticket_log(db: sqlite_utils.Database) -> None:
    """Raise :class:`NotATicketLog` unless ``db`` is empty or a ticket log (any version)."""
    tables = [t for t in db.table_names() if not t.startswith("sqlite_")]
    if not tables:
        return
    if not set(tables) & set(REQUIRED):
        raise NotATicketLog(f"it holds {', '.join(sorted(tables)[:4])}{' …' if len(tables) > 4 else ''}, "
                            "none of the ticket log's tables")
    for name, columns in REQUIRED.items():
        if name in tables:
            missing = [c for c in columns if c not in db[name].columns_dict]
            if missing:
                raise NotATicketLog(f"its {name} table has no {', '.join(missing)} column")


def migrate(db: sqlite_utils.Database) -> None:
    """Create missing tables, add missing columns and indexes; never drops anything."""
    for name, columns in SCHEMA.items():
        table = db[name]
        if not table.exists():
            table.create(columns, pk=PRIMARY_KEYS.get(name, "id"))
            continue
        existing = set(table.columns_dict)
        for column, kind in columns.items():
            if column not in existing:
                table.add_column(column, kind)
                if (name, column) == ("messages", "state"):
                    # logs written before drafts had their own column kept the state in `kind`
                    db.execute("update messages set state = replace(kind, 'reply', 'sent'), kind = 'text' "
                               "where role = 'agent'")
    for table, columns, unique in INDEXES:
        db[table].create_index(columns, unique=unique, if_not_exists=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC, millisecond precision (sorts correctly as text)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


class _Row:
    @classmethod
    def from_row(cls, row: dict[str, Any]):
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Ticket(_Row):
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

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Message(_Row):
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
    state: str | None = None
    triggers: str | None = None
    violations: str | None = None
