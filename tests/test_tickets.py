"""The ticket log on a fresh SQLite file: logging once, transactions, readings, drafts, migration."""

import itertools
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from bot.tickets.cards import CardBoard
from bot.tickets.inbox import Inbox
from bot.tickets.log import Reading, TicketLog
from bot.tickets.schema import SCHEMA


def customer(log, update_id, user=42, text="快递三天了还没到"):
    return log.record_customer_message(update_id=update_id, chat_id=user, user_id=user, user_name="王女士", text=text)


def test_a_telegram_update_is_logged_once(fresh_db):
    first, again = customer(fresh_db, 7), customer(fresh_db, 7)
    assert first.new_ticket and not first.duplicate
    assert again.duplicate and again.message.id == first.message.id
    assert fresh_db.count("messages") == 1 and fresh_db.count("events", "kind = 'opened'") == 1


def test_messages_join_the_customers_open_ticket_until_it_is_resolved(fresh_db):
    a, b = customer(fresh_db, 1), customer(fresh_db, 2)
    assert a.ticket.id == b.ticket.id and not b.new_ticket
    fresh_db.update_ticket(a.ticket.id, status="resolved")
    assert customer(fresh_db, 3).new_ticket


def test_a_transaction_that_fails_leaves_nothing_behind(fresh_db):
    with pytest.raises(RuntimeError):
        with fresh_db.transaction():
            customer(fresh_db, 1)
            with fresh_db.transaction():          # nested: joins the outer one
                fresh_db.add_event(1, "claimed", 5001)
            raise RuntimeError("the reader broke")
    assert fresh_db.count("messages") == 0 and fresh_db.count("tickets") == 0 and fresh_db.count("events") == 0


def test_a_reading_keeps_the_strongest_feeling_and_sets_the_deadline(fresh_db):
    logged = customer(fresh_db, 1)
    reading = Reading("anger", 2, True, "物流送货", "补偿型", {"severe": ["12315"]}, 10)
    changes = fresh_db.apply_reading(logged.message.id, logged.ticket, reading)
    assert changes["severe"] == 1 and changes["emotion"] == "anger" and changes["sla_minutes"] == 10
    ticket = fresh_db.ticket(logged.ticket.id)
    later = fresh_db.apply_reading(customer(fresh_db, 2).message.id, ticket, Reading("dissatisfaction", 1, False,
                                                                                     None, None, {}, 60))
    assert "emotion" not in later and "due_at" not in later
    assert fresh_db.severe_message(ticket.id).id == logged.message.id
    assert fresh_db.triggers(ticket.id) == ["12315"]


def test_answered_messages_leave_the_unanswered_list(fresh_db):
    logged = customer(fresh_db, 1)
    assert [m.id for m in fresh_db.unanswered()] == [logged.message.id]
    fresh_db.record_bot_reply(logged.message.id, logged.ticket.id, 42, "收到", "ack.0")
    assert fresh_db.unanswered() == [] and fresh_db.templates_used(logged.ticket.id) == ["ack.0"]


def test_drafts_keep_their_state_apart_from_what_they_hold(fresh_db):
    ticket = customer(fresh_db, 1).ticket
    draft = fresh_db.record_agent_message(ticket.id, 5001, "这是公司的规定", "blocked", [{"id": 8}])
    message = fresh_db.message(draft)
    assert (message.kind, message.state) == ("text", "blocked")
    fresh_db.set_state(draft, "cancelled")
    assert fresh_db.message(draft).state == "cancelled"


def test_an_old_log_is_migrated_without_losing_a_row(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:          # a log written before messages.state existed
        columns = [c for c in SCHEMA["messages"] if c != "state"]
        conn.execute(f"create table messages ({', '.join(columns)})")
        conn.execute("insert into messages (id, ticket_id, role, text, kind) values (1, 1, 'agent', '好的', 'reply')")
        conn.execute("insert into messages (id, ticket_id, role, text, kind) values (2, 1, 'customer', '图', 'photo')")
    log = TicketLog(path)
    assert (log.message(1).kind, log.message(1).state) == ("text", "sent")
    assert (log.message(2).kind, log.message(2).state) == ("photo", None)
    log.close()


def test_the_inbox_replays_only_what_was_never_handled(fresh_db):
    inbox = Inbox(fresh_db)
    inbox.store([{"update_id": 1}, {"update_id": 2}])
    inbox.store([{"update_id": 2}])                                  # fetched again: stored once
    inbox.mark_handled(1)
    assert [p["update_id"] for p in inbox.unhandled()] == [2] and inbox.is_handled(1)


def test_cards_go_stale_when_their_ticket_changes(tmp_path):
    clock = itertools.count()
    log = TicketLog(tmp_path / "t.db", now=lambda: datetime(2026, 11, 25, tzinfo=timezone.utc)
                    + timedelta(seconds=next(clock)))
    board = CardBoard(log)
    ticket = customer(log, 1).ticket
    assert [t.id for t in board.without_card()] == [ticket.id]
    log.update_ticket(ticket.id, status="in_progress")            # changed while the card was on its way
    board.posted(ticket.id, -100, 55, shown=ticket.updated_at)
    assert [t.id for t in board.stale()] == [ticket.id] and board.ticket_at(-100, 55).id == ticket.id
    now = log.ticket(ticket.id)
    board.drawn(ticket.id, shown=now.updated_at)
    assert board.stale() == []
    log.update_ticket(ticket.id, status="escalated")
    assert [t.id for t in board.stale()] == [ticket.id]
    log.close()
