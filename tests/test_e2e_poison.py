"""End to end: an update python-telegram-bot cannot parse stalls nobody.

Without the per-update parsing in ``InboxBot``, PTB logs ``Error while parsing updates!``
and fetches the same batch again forever: every customer after the poison waits. Here
the poison is kept in the inbox with its error, confirmed, reported to the admins once,
listed by ``complaint-bot inbox --failed``, and handed back by ``--replay``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

from tests.botprocess import BotProcess, tmp_cwd

ADMIN = 7001


def count(db, sql, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchone()[0]


def poison(telegram, kind: str) -> dict:
    """An update PTB 22 cannot turn into an ``Update`` (each raises in ``de_json``)."""
    if kind == "callback":      # the case: a field missing from a callback query's message
        message = {"message_id": 1, "chat": {"id": 70_004, "type": "private"}, "text": "按钮"}
        return telegram.callback_update(70_004, "rate:1:5", message)
    update = telegram.text_update(70_001, "你好")
    if kind == "no_first_name":
        del update["message"]["from"]["first_name"]
    else:
        update["message"]["date"] = "昨天"
    return update


def cli(process: BotProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_cwd(process.db.parent), env=process.env,
                          capture_output=True, text=True, timeout=120)


def test_a_poison_update_is_kept_aside_and_the_queue_moves_on(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path, RETRY_SECONDS="1").start()
    try:
        def good(i: int) -> dict:
            return telegram.text_update(71_000 + i, f"第{i}条：东西坏了，太失望了")

        # one batch with poison in the middle, one ending with poison, one that is only poison
        # (update ids rise in the order pushed, as Telegram's do)
        g0, p1, g1 = good(0), poison(telegram, "no_first_name"), good(1)
        telegram.push(g0, p1, g1)
        g2, p2 = good(2), poison(telegram, "bad_date")
        telegram.push(g2, p2)
        telegram.wait_for(lambda: count(process.db, "select count(*) from inbox") >= 5)
        p3 = poison(telegram, "callback")
        telegram.push(p3)
        telegram.wait_for(lambda: count(process.db, "select count(*) from inbox") >= 6)
        g3 = good(3)
        telegram.push(g3)
        goods = [g0, g1, g2, g3]

        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer' "
                                                    "and answered_at is not null") == 4)
        poison_ids = [p["update_id"] for p in (p1, p2, p3)]
        telegram.wait_for(lambda: telegram.confirmed > g3["update_id"])
        for u in poison_ids:
            error = count(process.db, "select error from inbox where update_id = ?", u)
            assert error, f"update {u} kept without its error"
            assert count(process.db, "select handled_at from inbox where update_id = ?", u) is None
        for g in goods:
            assert len(telegram.sent_to(g["message"]["chat"]["id"])) == 1

        # reported to the admins once each
        reports = lambda: "\n".join(t for t in telegram.sent_to(ADMIN) if "无法解析" in t)
        telegram.wait_for(lambda: all(str(u) in reports() for u in poison_ids))
        for u in poison_ids:
            assert reports().count(f"update {u}") == 1

        log = process.log()
        assert "Error while parsing updates" not in log and "Traceback" not in log, log
        assert log.count("cannot be parsed") == 3
        # the queue moved on: a handful of long polls, not the same batch fetched in a loop
        assert len(telegram.calls("getUpdates")) < 50
        assert process.stop(signal.SIGTERM) == 0

        listed = cli(process, "inbox", "--failed")
        assert listed.returncode == 0, listed.stderr
        for u in poison_ids:
            assert str(u) in listed.stdout
        assert "KeyError" in listed.stdout and "first_name" in listed.stdout
        assert "Traceback" not in listed.stderr

        # a restart neither replays nor reports them again
        process.start()
        telegram.push(telegram.text_update(71_100, "还有人吗"))
        telegram.wait_for(lambda: telegram.sent_to(71_100))
        assert reports().count(f"update {poison_ids[0]}") == 1
        assert process.stop(signal.SIGTERM) == 0

        # handed back (as after an upgrade): the next start tries them again; still unreadable, kept
        replay = cli(process, "inbox", "--replay")
        assert replay.returncode == 0 and "3" in replay.stdout, replay.stdout + replay.stderr
        assert count(process.db, "select count(*) from inbox where error is not null") == 0
        process.start()
        telegram.wait_for(lambda: count(process.db, "select count(*) from inbox where error is not null") == 3)
        assert process.proc.poll() is None
        assert "Traceback" not in process.log()
    finally:
        process.kill()
