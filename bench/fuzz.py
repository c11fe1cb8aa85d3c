"""Fuzzing benchmark: 10,000 generated updates through the local Bot API server, with figures.

    python bench/fuzz.py [--updates 10000] [--seed 1]

The same generator and phases as ``tests/test_e2e_fuzz.py`` (:mod:`botapi.fuzz`):
customers and noise, staff with bad arguments, then strangers' commands and buttons
between two snapshots of the ticket log. It prints what was sent, how long each phase
took to settle, and what went wrong (messages lost or logged twice, unanswered
customers, Telegram refusals, tracebacks, strangers' changes); figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botapi import FakeTelegram  # noqa: E402
from botapi.fuzz import Fuzzer, one, push_all, query, settled, snapshot  # noqa: E402

AGENT_CHAT = -100200300


def kinds(updates: list[dict]) -> Counter:
    return Counter(next(k for k in u if k != "update_id") for u in updates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    fuzz = Fuzzer(seed=args.seed, agent_chat=AGENT_CHAT)
    n_staff, n_strangers = args.updates // 12, args.updates // 8
    phases = [("customers and noise", lambda db: fuzz.customers(args.updates - n_staff - n_strangers)),
              ("staff, bad arguments", lambda db: fuzz.staff(n_staff, [t for (t,) in query(db, "select id from tickets")])),
              ("strangers", lambda db: fuzz.strangers(n_strangers, dict(query(db, "select id, user_id from tickets")),
                                                       [d for (d,) in query(db, "select id from messages where role='agent'")]))]
    with FakeTelegram() as tg, tempfile.TemporaryDirectory() as tmp:
        db, log_path = Path(tmp) / "tickets.db", Path(tmp) / "bot.log"
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": tg.url, "DATABASE_PATH": str(db),
               "AGENT_CHAT_ID": str(AGENT_CHAT), "AGENT_IDS": "5001,5002", "SUPERVISOR_IDS": "6001",
               "ADMIN_IDS": "7001", "RATE_LIMITER": "false", "SLA_MINUTES": "600", "REMINDER_MINUTES": "0.01",
               "RETRY_SECONDS": "5", "CARD_SECONDS": "0.5"}
        with open(log_path, "wb") as out:
            bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        tg.wait_for(tg.polling, timeout=60)
        pushed, total_s, all_updates, before = 0, 0.0, [], None
        try:
            print(f"seed {args.seed}: {args.updates} updates from {len(fuzz.users)} users")
            print(f"{'phase':<22} {'updates':>8} {'settled s':>10} {'ms/update':>10}")
            for name, make in phases:
                updates = make(db)
                all_updates += updates
                if name == "strangers":
                    before = snapshot(db)
                t0 = time.monotonic()
                pushed = push_all(tg, updates, pushed)
                tg.wait_for(settled(db, pushed), timeout=600 + len(updates) / 5)
                took = time.monotonic() - t0
                total_s += took
                print(f"{name:<22} {len(updates):>8} {took:>10.1f} {took / len(updates) * 1000:>10.2f}")
            after = snapshot(db)
            alive = bot.poll() is None
        finally:
            bot.send_signal(signal.SIGTERM)
            code = bot.wait(120)
        log = log_path.read_text(encoding="utf-8", errors="replace")
        logged = dict(query(db, "select update_id, count(*) from messages where role='customer' group by update_id"))
        unanswered = one(db, "select count(*) from messages where role='customer' and answered_at is null")
        kept = one(db, "select count(*) from inbox where error is not null")
    expected = fuzz.customer_updates
    print(f"{'total':<22} {pushed:>8} {total_s:>10.1f} {total_s / pushed * 1000:>10.2f}")
    print("update kinds:", ", ".join(f"{k} {n}" for k, n in kinds(all_updates).most_common()))
    print(f"customer messages: {len(expected)} sent, {sum(1 for u in expected if u in logged)} logged, "
          f"lost {sum(1 for u in expected if u not in logged)}, logged twice {sum(1 for n in logged.values() if n > 1)}, "
          f"unanswered {unanswered}")
    print(f"poison updates: {len(fuzz.poison_updates)} sent, {kept} kept aside with their error")
    print(f"Bot API calls: {len(tg.requests)}; refused by Telegram's rules: {len(tg.refusals)}")
    changed = sum(len(set(after[t]) ^ set(before[t])) for t in before)
    print(f"strangers' changes to the ticket log: {changed} rows")
    print(f"bot alive at the end: {alive}; exit status after SIGTERM: {code}; "
          f"tracebacks in its log: {log.count('Traceback')}; "
          f"ERROR/CRITICAL lines: {sum(1 for line in log.splitlines() if re.search(r' (ERROR|CRITICAL) ', line))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
