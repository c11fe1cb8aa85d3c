"""End to end under load and interruption: nothing a customer writes is lost or logged twice."""

import signal
import sqlite3
import threading
import time

from bot.tickets.log import TicketLog
from tests.botprocess import BotProcess


def count(db, sql, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchone()[0]


def burst(telegram, customers: int, each: int) -> list[int]:
    updates = [
        telegram.text_update(10_000 + c, f"第{i + 1}条：快递{c}号还没到，太慢了！")
        for i in range(each) for c in range(customers)
    ]
    return telegram.push(*updates)


def all_answered(db, n):
    return lambda: count(db, "select count(*) from messages where role='customer' and answered_at is not null") >= n


def test_a_burst_of_200_messages_from_40_customers_is_logged_exactly_once(telegram, bot):
    ids = burst(telegram, customers=40, each=5)
    telegram.wait_for(all_answered(bot.db, 200), timeout=120)
    assert count(bot.db, "select count(*) from messages where role='customer'") == 200
    assert count(bot.db, "select count(distinct update_id) from messages where role='customer'") == 200
    assert count(bot.db, "select count(*) from tickets") == 40
    assert count(bot.db, "select max(c) from (select count(*) c from tickets group by user_id)") == 1
    assert sorted(ids) == [r for (r,) in sqlite3.connect(bot.db).execute(
        "select update_id from messages where role='customer' order by update_id")]
    for c in range(40):
        assert len(telegram.sent_to(10_000 + c)) == 5


def test_sigterm_in_the_middle_of_a_burst_loses_nothing(telegram, tmp_path):
    """Customers keep writing through a restart: 100 messages arrive over ~4 s, SIGTERM lands
    after ~1 s. Every update the bot fetched is handled before it exits; the rest wait at
    the server and are handled after the restart; nothing is lost or logged twice."""
    process = BotProcess(telegram, tmp_path).start()
    updates = [telegram.text_update(20_000 + i % 20, f"第{i}条：还没发货，太慢了") for i in range(100)]

    def keep_writing():
        for update in updates:
            telegram.push(update)
            time.sleep(0.04)

    pusher = threading.Thread(target=keep_writing)
    try:
        pusher.start()
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") >= 15)
        assert process.stop(signal.SIGTERM, timeout=90) == 0
        logged = count(process.db, "select count(*) from messages where role='customer'")
        assert logged < 100, "the burst finished before SIGTERM: the test proves nothing"
        assert count(process.db, "select count(*) from messages where role='customer' and answered_at is null") == 0
        pusher.join()
        process.start()
        telegram.wait_for(all_answered(process.db, 100), timeout=120)
        assert count(process.db, "select count(*) from messages where role='customer'") == 100
        assert count(process.db, "select count(distinct update_id) from messages where role='customer'") == 100
    finally:
        pusher.join()
        process.kill()


def test_messages_logged_but_never_answered_are_answered_at_start_up(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path)
    log = TicketLog(process.db)   # as if the bot crashed right after logging
    log.record_customer_message(update_id=None, chat_id=555, user_id=555, user_name="赵先生", text="气死我了，东西坏了")
    log.close()
    process.start()
    try:
        reply = telegram.wait_for(lambda: telegram.sent_to(555))[0]
        assert "号工单" in reply
        assert count(process.db, "select count(*) from messages where role='customer' and answered_at is null") == 0
    finally:
        process.kill()


def test_an_update_redelivered_after_a_crash_is_logged_and_answered_once(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path).start()
    try:
        (update_id,) = telegram.push(telegram.text_update(777, "你们太过分了"))
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where answered_at is not null"))
        process.kill()                          # SIGKILL: no chance to confirm the update
        telegram.redeliver(update_id)           # so Telegram delivers it again
        telegram.push(telegram.text_update(777, "还有人吗"))
        process.start()
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") == 2
                          and len(telegram.sent_to(777)) == 2)
        assert count(process.db, "select count(*) from messages where update_id = ?", update_id) == 1
        assert len(telegram.sent_to(777)) == 2  # the first message was not answered twice
    finally:
        process.kill()


def test_a_crash_in_the_middle_of_a_burst_loses_nothing(telegram, tmp_path):
    """SIGKILL while updates the bot already confirmed to Telegram still wait in its queue:
    the inbox has them, and the restarted bot handles every one exactly once."""
    process = BotProcess(telegram, tmp_path).start()
    try:
        burst(telegram, customers=20, each=5)
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") >= 10)
        process.kill()
        logged = count(process.db, "select count(*) from messages where role='customer'")
        assert logged < 100, "the burst finished before the crash: the test proves nothing"
        assert telegram.confirmed > max(telegram.history), "Telegram was not yet told: the test proves nothing"
        process.start()
        telegram.wait_for(all_answered(process.db, 100), timeout=120)
        assert count(process.db, "select count(*) from messages where role='customer'") == 100
        assert count(process.db, "select count(distinct update_id) from messages where role='customer'") == 100
    finally:
        process.kill()


def test_sigint_finishes_what_was_fetched_and_exits_cleanly(telegram, tmp_path):
    """Ctrl-C in a terminal: the same graceful stop as SIGTERM."""
    process = BotProcess(telegram, tmp_path).start()
    try:
        burst(telegram, customers=5, each=4)
        telegram.wait_for(lambda: count(process.db, "select count(*) from messages where role='customer'") >= 1)
        assert process.stop(signal.SIGINT, timeout=90) == 0
        logged = count(process.db, "select count(*) from messages where role='customer'")
        assert logged >= 1
        assert count(process.db, "select count(*) from messages where role='customer' and answered_at is null") == 0
        assert "stopped" in process.log() and "Traceback" not in process.log()
    finally:
        process.kill()
