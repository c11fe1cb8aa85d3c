"""End to end: ``/export`` of a large ticket log stays under Telegram's 50 MB document limit.

The two CSV files go out as one zip. A log whose zip would still be too big is not sent:
the admin gets the command to run on the server instead. The local Bot API server refuses
documents over the limit as Telegram does (413). ``DOCUMENT_LIMIT_MB`` is the limit (50 for
Telegram; a self-hosted Bot API server accepts up to 2,000).
"""

from __future__ import annotations

import csv
import io
import random
import sqlite3
import zipfile

from bot.tickets.log import TicketLog
from tests.botprocess import BotProcess

ADMIN = 7001
MB = 1024 * 1024


def fill(db, messages: int, chars: int, seed: int = 1) -> None:
    """A log with ``messages`` customer messages of ``chars`` characters over 1,000 tickets."""
    TicketLog(db).close()
    rng = random.Random(seed)
    words = ["快递", "还没到", "太慢了", "退款", "客服", "态度", "订单号", "非常失望", "冰箱", "不制冷", "我要投诉", "！", "，"]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "insert into tickets (id, chat_id, user_id, user_name, status, intensity, severe, escalation_level, "
            "created_at) values (?, ?, ?, ?, 'open', 0, 0, 0, '2026-11-20T00:00:00.000+00:00')",
            [(t, 90_000 + t, 90_000 + t, f"客户{t}") for t in range(1, 1001)])
        conn.executemany(
            "insert into messages (ticket_id, role, user_id, chat_id, text, kind, blocked, created_at, answered_at) "
            "values (?, 'customer', ?, ?, ?, 'text', 0, '2026-11-20T00:00:00.000+00:00', '2026-11-20T00:00:01.000+00:00')",
            [(1 + m % 1000, 90_000 + 1 + m % 1000, 90_000 + 1 + m % 1000,
              "".join(rng.choice(words) for _ in range(chars // 2))[:chars]) for m in range(messages)])


def documents(telegram, chat_id):
    return [r for r in telegram.calls("sendDocument") if str(r.params.get("chat_id")) == str(chat_id)]


def test_a_log_bigger_than_50_mb_is_exported_as_a_zip_under_the_limit(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path, RATE_LIMITER="false")
    fill(process.db, messages=12_000, chars=1_800)          # about 65 MB of CSV
    process.start()
    try:
        telegram.push(telegram.text_update(ADMIN, "/export 3650"))
        sent = telegram.wait_for(lambda: [r for r in documents(telegram, ADMIN) if not r.failed], timeout=300)
        assert len(sent) == 1
        document = sent[0].params["document"]
        assert document["filename"].endswith(".zip")
        assert len(document["bytes"]) < 50 * MB
        with zipfile.ZipFile(io.BytesIO(document["bytes"])) as archive:
            names = archive.namelist()
            assert sorted(names) == ["messages.csv", "tickets.csv"]
            raw = archive.read("messages.csv")
            assert len(raw) > 50 * MB, "the test log is too small to prove anything"
            assert len(list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))) == 12_000
            tickets = archive.read("tickets.csv").decode("utf-8-sig")
            assert len(list(csv.DictReader(io.StringIO(tickets)))) == 1000
        assert not telegram.refusals
        assert "Traceback" not in process.log()
    finally:
        process.kill()


def test_a_log_too_big_even_zipped_is_refused_with_the_command_to_use(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path, RATE_LIMITER="false", DOCUMENT_LIMIT_MB="1")
    fill(process.db, messages=3_000, chars=1_000)           # about 9 MB of CSV; more than 1 MB zipped
    process.start()
    try:
        telegram.push(telegram.text_update(ADMIN, "/export 3650"))
        reply = telegram.wait_for(lambda: [t for t in telegram.sent_to(ADMIN) if "complaint-bot export" in t])
        assert "1 MB" in reply[0]
        assert not documents(telegram, ADMIN), "a document over the limit was attempted"
        assert "Traceback" not in process.log()
    finally:
        process.kill()
