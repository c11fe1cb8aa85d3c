"""End to end: another process locks the ticket log during a burst (a backup, Datasette, an
admin's ``sqlite3`` shell). Writers wait with backoff (SQLite's busy handler) up to
``DATABASE_BUSY_SECONDS``; nothing is confirmed to Telegram before it is on disk; once
the lock is released every message is logged and answered exactly once.

``LOCK_SECONDS`` (default 15) sets how long the other process holds ``BEGIN EXCLUSIVE``.
The second test holds it longer than the bot is willing to wait: the writer gives up,
says so once, and tries again, still losing nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.botprocess import BotProcess

LOCK_SECONDS = float(os.environ.get("LOCK_SECONDS", "15"))

HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


def count(db, sql, *params):
    with sqlite3.connect(db, timeout=120) as conn:
        return conn.execute(sql, params).fetchone()[0]


def hold_lock(db, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.parametrize("busy_seconds", ["60", "4"], ids=["waits-out-the-lock", "gives-up-and-retries"])
def test_a_locked_ticket_log_delays_but_loses_and_duplicates_nothing(telegram, tmp_path, busy_seconds):
    process = BotProcess(telegram, tmp_path, RATE_LIMITER="false", RETRY_SECONDS="2",
                         DATABASE_BUSY_SECONDS=busy_seconds).start()
    customers = [81_000 + i for i in range(10)]
    try:
        first = [telegram.text_update(c, f"第{i}条：退款还没到账，太慢了") for i in range(3) for c in customers]
        telegram.push(*first)
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") >= 5)

        holder = hold_lock(process.db, LOCK_SECONDS)     # in the middle of the burst
        locked_at = telegram.confirmed
        second = [telegram.text_update(c, f"又一条{i}：还没人理我？") for i in range(2) for c in customers]
        telegram.push(*second)
        # while the lock is held, nothing new is confirmed to Telegram: it is not on disk yet
        while holder.poll() is None:
            assert telegram.confirmed <= max(locked_at, first[-1]["update_id"] + 1), "confirmed before stored"
            time.sleep(0.1)
        assert holder.stdout.read().strip() == "released"

        total = len(first) + len(second)
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer' "
                                                    "and answered_at is not null") == total, timeout=180)
        assert process.proc.poll() is None
        assert count(process.db, "select count(*) from messages where role='customer'") == total
        assert count(process.db, "select count(distinct update_id) from messages where role='customer'") == total
        assert count(process.db, "select count(*) from messages where role='bot'") == total
        for c in customers:
            assert len(telegram.sent_to(c)) == 5, (c, telegram.sent_to(c))
        log = process.log()
        assert "Traceback" not in log, log
        if busy_seconds == "4":
            assert "locked" in log      # the give-up was said, once per wait, not per statement
        assert process.stop(signal.SIGTERM) == 0
    finally:
        process.kill()
