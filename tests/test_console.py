"""complaint-bot console as a user runs it: same desk, same log, no Telegram."""

import os
import sqlite3
import subprocess
import sys

from tests.conftest import PHRASES


def test_console_chat_is_logged_like_telegram(tmp_path):
    db = tmp_path / "console.db"
    env = {**os.environ, "DATABASE_PATH": str(db), "PHRASES_DIR": str(PHRASES)}
    session = "你们发货太慢了，我非常失望！\n订单号 20261123\n/status\n/quit\n"
    out = subprocess.run([sys.executable, "-m", "bot", "console"], input=session.encode(), capture_output=True,
                         cwd=tmp_path, env=env, timeout=60)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr.decode()
    assert "失望" in text and "1 号工单" in text and "工单卡片" in text and "1 号（物流送货）" in text
    with sqlite3.connect(db) as conn:
        roles = [r for (r,) in conn.execute("select role from messages order by id")]
    assert roles == ["customer", "bot", "customer", "bot"]
