"""End to end: the Bot API goes away and comes back; nobody notices but the log, once.

The server goes down right after it handed the bot a batch, so the bot holds messages it
cannot answer: the replies fail, polling fails, and both must recover by themselves once
the server is back, with no reply sent twice. ``OUTAGE_SECONDS`` (default 6) sets each
outage's length; the issue's scenario is 30 s, which works the same way (polling retries
every few seconds whatever the length). Two outages: connections refused (the host is
down), then connections dropped without an answer (a proxy in trouble).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3

from tests.botprocess import BotProcess

OUTAGE_SECONDS = float(os.environ.get("OUTAGE_SECONDS", "6"))


def count(db, sql, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_polling_and_replies_come_back_after_outages_with_nothing_lost_or_sent_twice(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path, RETRY_SECONDS="1", RATE_LIMITER="false").start()
    customers = [61_000 + i for i in range(5)]
    sent = {c: 0 for c in customers}

    def write(round_: int, n: int) -> None:
        for i in range(n):
            c = customers[i % len(customers)]
            telegram.push(telegram.text_update(c, f"第{round_}轮第{i}条：快递还没到，太慢了！"))
            sent[c] += 1

    try:
        for number, mode in enumerate(("refuse", "drop"), start=1):
            telegram.outage_after("getUpdates", OUTAGE_SECONDS, mode=mode)
            write(number * 10, 10)                              # fetched, then the server goes down
            telegram.wait_for(lambda: telegram.down, timeout=30)
            write(number * 10 + 1, 10)                          # written during the outage
            telegram.wait_for(lambda: not telegram.down, timeout=OUTAGE_SECONDS + 30)
            total = sum(sent.values())
            telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer' "
                                                        "and answered_at is not null") == total,
                              timeout=OUTAGE_SECONDS + 60)

        assert telegram.outages == 2
        assert process.proc.poll() is None
        total = sum(sent.values())
        assert count(process.db, "select count(*) from messages where role='customer'") == total
        assert count(process.db, "select count(distinct update_id) from messages where role='customer'") == total
        assert count(process.db, "select count(*) from messages where role='bot'") == total
        for c in customers:   # one reply per message: nothing lost, nothing sent twice
            assert len(telegram.sent_to(c)) == sent[c], (c, telegram.sent_to(c))

        log = process.log()
        assert "Traceback" not in log, log
        assert len(re.findall(r"Bot API unreachable", log)) == 2, log
        failed = [int(n) for n in re.findall(r"reachable again after \d+ s \((\d+) request", log)]
        assert len(failed) == 2 and all(n >= 1 for n in failed), log   # real outages: requests did fail
        noisy = [line for line in log.splitlines() if re.search(r" (WARNING|ERROR|CRITICAL) (bot|telegram|httpx)", line)
                 and "Bot API unreachable" not in line and "reachable again" not in line]
        assert not noisy, "said more than once per outage:\n" + "\n".join(noisy[:10])
        assert process.stop(signal.SIGTERM, timeout=60) == 0
    finally:
        process.kill()


def test_sigterm_during_an_outage_stops_cleanly_and_the_restart_answers(telegram, tmp_path):
    """The last confirmation at shutdown cannot reach the Bot API either: the bot still exits 0
    without a traceback, and after the restart the message is answered, once."""
    process = BotProcess(telegram, tmp_path, RETRY_SECONDS="1").start()
    try:
        telegram.outage_after("getUpdates", 600)
        telegram.push(telegram.text_update(62_000, "还没发货，太慢了"))
        telegram.wait_for(lambda: telegram.down, timeout=30)
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") == 1)
        assert process.stop(signal.SIGTERM, timeout=90) == 0
        assert "Traceback" not in process.log(), process.log()
        telegram.come_back()
        process.start()
        telegram.wait_for(lambda: telegram.sent_to(62_000), timeout=60)
        assert len(telegram.sent_to(62_000)) == 1
        assert count(process.db, "select count(*) from messages where role='customer'") == 1
        assert "Traceback" not in process.log(), process.log()
    finally:
        telegram.come_back()
        process.kill()
