"""Fuzzing at volume: thousands of generated updates from ~50 users through the local Bot API server.

``FUZZ_UPDATES`` (default 3000) sets the count and ``FUZZ_SEED`` (default 1) the seed; a
failure names its seed, and the same seed gives the same updates (:mod:`botapi.fuzz`). The
bot runs as users run it (``python -m bot run``) with PTB's rate limiter off, so the test
measures the bot rather than Telegram's pacing. ``bench/fuzz.py`` runs 10,000 and prints figures.

Three phases: customers (and noise: groups the bot was not set up for, a channel, member
updates), staff with bad arguments, then strangers' commands and buttons between two
snapshots of the ticket log, which must be identical.
"""

from __future__ import annotations

import os
import re
import signal

import pytest

from botapi.fuzz import Fuzzer, one, push_all, query, settled, snapshot
from botapi.tghtml import problem
from tests.botprocess import AGENT_CHAT, BotProcess

UPDATES = int(os.environ.get("FUZZ_UPDATES", "3000"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))
SENT = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument", "editMessageCaption")


def test_thousands_of_generated_updates_break_nothing(telegram, tmp_path):
    fuzz = Fuzzer(seed=SEED, agent_chat=AGENT_CHAT)
    n_staff = max(60, UPDATES // 12)
    n_strangers = max(100, UPDATES // 8)
    n_customers = max(200, UPDATES - n_staff - n_strangers)
    process = BotProcess(telegram, tmp_path, RATE_LIMITER="false", SLA_MINUTES="600", REMINDER_MINUTES="0.01",
                         RETRY_SECONDS="5").start()
    db = process.db
    budget = 120 + UPDATES / 10          # generous: a failure here is a stall, not slowness
    try:
        # 1. customers, and noise around them
        pushed = push_all(telegram, fuzz.customers(n_customers), 0)
        telegram.wait_for(settled(db, pushed), timeout=budget)

        # 2. staff with bad arguments (and good ones: this phase may change tickets)
        tickets = [t for (t,) in query(db, "select id from tickets order by id")]
        pushed = push_all(telegram, fuzz.staff(n_staff, tickets), pushed)
        telegram.wait_for(settled(db, pushed), timeout=budget)

        # 3. strangers: every command and button, on other people's tickets; nothing may change
        owners = dict(query(db, "select id, user_id from tickets"))
        drafts = [d for (d,) in query(db, "select id from messages where role='agent' order by id")]
        before = snapshot(db)
        pushed = push_all(telegram, fuzz.strangers(n_strangers, owners, drafts), pushed)
        telegram.wait_for(settled(db, pushed), timeout=budget)
        after = snapshot(db)

        assert process.proc.poll() is None, "the bot died\n" + process.log()[-3000:]
        for table in before:
            changed = set(after[table]) ^ set(before[table])
            assert not changed, f"seed {SEED}: strangers changed {table}: {sorted(changed, key=str)[:5]}"

        # every customer message logged exactly once, and answered once
        expected = fuzz.customer_updates
        logged = dict(query(db, "select update_id, count(*) from messages where role='customer' group by update_id"))
        missing = [u for u in expected if u not in logged]
        assert not missing, f"seed {SEED}: customer updates never logged: {missing[:10]}"
        assert all(n == 1 for n in logged.values()), f"seed {SEED}: logged twice"
        assert set(logged) == set(expected), f"seed {SEED}: logged as customer text: {set(logged) - set(expected)}"
        assert one(db, "select count(*) from messages where role='customer' and answered_at is null") == 0
        assert one(db, "select count(*) from messages where role='bot'") == len(expected), "one reply per message"
        for user in set(expected.values()):
            assert len(telegram.sent_to(user)) >= sum(1 for u in expected.values() if u == user)

        # poison updates: kept aside with their error, never handled as messages
        kept = {u for (u,) in query(db, "select update_id from inbox where error is not null")}
        assert kept == set(fuzz.poison_updates), f"seed {SEED}: poison kept aside {sorted(kept)[:5]}"
        assert not kept & set(logged)

        # every message the bot sent is HTML Telegram accepts; Telegram refused nothing
        for request in telegram.requests:
            if request.method in SENT and (request.params.get("parse_mode") or "").upper() == "HTML":
                text = request.params.get("text") or request.params.get("caption") or ""
                assert problem(text) is None, f"seed {SEED}: {problem(text)} in {text[:300]!r}"
        assert not telegram.refusals, f"seed {SEED}: Telegram would refuse: " + "; ".join(
            f"{m}: {d} ({(p.get('text') or p.get('caption') or '')[:80]!r})" for m, p, d in telegram.refusals[:5])

        log = process.log()
        assert telegram.token not in log
        assert "Traceback" not in log, f"seed {SEED}:\n" + log[log.index("Traceback") - 500:][:4000]
        bad = [line for line in log.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]
        assert not bad, f"seed {SEED}: " + "\n".join(bad[:10])
        assert process.stop(signal.SIGTERM, timeout=120) == 0
    finally:
        process.kill()
