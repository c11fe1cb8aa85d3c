"""Telegram-side benchmark: the real bot against the project's local Bot API server.

    python bench/burst.py [--customers 40] [--each 5]

For the complaint bot and for a minimal PTB bot that only answers "收到" (the floor,
bench/minimal_bot.py), both started as subprocesses against the same local server,
it pushes a burst (customers x each messages at once) and prints: per-update cost
(burst duration / messages), reply latency p50/p99 from the burst to each reply,
and the ratio to the floor (target within 1.5x). Each bot is measured with PTB's
rate limiter off (our own cost) and on (Telegram's 30 messages/s: what a customer
sees during a real burst). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botapi import FakeTelegram  # noqa: E402


def run_burst(command: list[str], customers: int, each: int, limiter: bool) -> dict:
    with FakeTelegram() as tg, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": tg.url,
               "DATABASE_PATH": str(Path(tmp) / "t.db"), "PHRASES_DIR": str(ROOT / "bot" / "phrases"),
               "AGENT_CHAT_ID": "-100", "RATE_LIMITER": "true" if limiter else "false"}
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            tg.wait_for(tg.polling, timeout=60)
            startup = time.monotonic() - started
            users = [50_000 + c for c in range(customers)]
            updates = [tg.text_update(u, f"第{i + 1}条：快递还没到，你们太慢了，非常失望！")
                       for i in range(each) for u in users]
            t0 = time.monotonic()
            tg.push(*updates)
            total = customers * each
            tg.wait_for(lambda: sum(len(tg.sent_to(u)) for u in users) >= total, timeout=600)
            replies = [r for r in tg.calls("sendMessage") if r.params.get("chat_id") in users and not r.failed]
            latencies = sorted(r.at - t0 for r in replies)
            duration = latencies[-1]
        finally:
            proc.terminate()
            proc.wait(60)
    return {
        "startup_s": startup,
        "per_update_ms": duration / total * 1000,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "first_ms": latencies[0] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--each", type=int, default=5)
    args = parser.parse_args()
    bots = {
        "minimal PTB bot": [sys.executable, str(ROOT / "bench" / "minimal_bot.py")],
        "complaint-bot": [sys.executable, "-m", "bot", "run"],
    }
    os.environ["PYTHONPATH"] = str(ROOT)
    n = args.customers * args.each
    print(f"burst: {n} messages from {args.customers} customers, pushed at once")
    print(f"{'bot':<18}{'limiter':>8}{'per update ms':>15}{'first ms':>10}{'p50 ms':>9}{'p99 ms':>9}{'start s':>9}")
    results = {}
    for limiter in (False, True):
        for name, command in bots.items():
            r = run_burst(command, args.customers, args.each, limiter)
            results[(name, limiter)] = r
            print(f"{name:<18}{'on' if limiter else 'off':>8}{r['per_update_ms']:>15.2f}{r['first_ms']:>10.0f}"
                  f"{r['p50_ms']:>9.0f}{r['p99_ms']:>9.0f}{r['startup_s']:>9.2f}")
    for limiter in (False, True):
        ratio = results[("complaint-bot", limiter)]["per_update_ms"] / results[("minimal PTB bot", limiter)]["per_update_ms"]
        print(f"per-update cost, complaint-bot / floor, limiter {'on' if limiter else 'off'}: {ratio:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
