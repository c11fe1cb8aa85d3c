"""``complaint-bot health`` (the container's healthcheck) against the real running bot."""

from __future__ import annotations

import subprocess
import sys
import time


def health(bot, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "health", *args], cwd=bot.db.parent, env=bot.env,
                          capture_output=True, text=True, timeout=60)


def test_a_running_bot_is_healthy_and_a_dead_one_is_not(telegram, bot):
    heartbeat = bot.db.with_name(bot.db.name + ".alive")
    telegram.wait_for(heartbeat.exists, timeout=30)       # the first beat comes at start-up, not after 30 s
    out = health(bot)
    assert out.returncode == 0 and out.stdout.startswith("ok:"), out.stderr
    bot.kill()
    time.sleep(2.5)
    out = health(bot, "--max-age", "2")
    assert out.returncode == 1 and "unhealthy" in out.stderr


def test_no_heartbeat_is_unhealthy(tmp_path):
    import os

    env = {**os.environ, "DATABASE_PATH": str(tmp_path / "tickets.db")}
    out = subprocess.run([sys.executable, "-m", "bot", "health"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "no heartbeat" in out.stderr
