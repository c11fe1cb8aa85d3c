"""End to end: the real bot, as a subprocess, against the project's Bot API server."""

import sqlite3

from tests.botprocess import AGENT_CHAT


def rows(db, sql, *params):
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def test_first_angry_message_gets_empathy_ticket_deadline_and_a_question(telegram, bot):
    telegram.push(telegram.text_update(101, "你们发货太慢了，我非常失望！"))
    reply = telegram.wait_for(lambda: telegram.sent_to(101))[0]
    assert "失望" in reply and "1 号工单" in reply and "60 分钟" in reply
    assert "？" in reply                                   # one open question
    ticket = rows(bot.db, "select * from tickets")[0]
    assert ticket["emotion"] == "disappointment" and ticket["intensity"] == 2 and ticket["due_at"]
    card = telegram.wait_for(lambda: telegram.sent_to(AGENT_CHAT))[0]
    assert "1 号工单" in card and "失望" in card and "你们发货太慢了" in card


def test_a_neutral_question_gets_no_false_apology(telegram, bot):
    telegram.push(telegram.text_update(102, "请问怎么修改收货地址？"))
    reply = telegram.wait_for(lambda: telegram.sent_to(102))[0]
    assert "抱歉" not in reply and "号工单" in reply


def test_later_messages_join_the_ticket_with_acknowledgements_that_vary(telegram, bot):
    user = 103
    texts = ["快递三天了还没到，怎么回事", "订单号是 20261123001", "我希望今天能送到", "麻烦尽快"]
    for text in texts:
        telegram.push(telegram.text_update(user, text))
        telegram.wait_for(lambda n=len(telegram.sent_to(user)): len(telegram.sent_to(user)) > n)
    replies = telegram.sent_to(user)
    assert len(rows(bot.db, "select * from tickets where user_id = ?", user)) == 1
    assert all(a != b for a, b in zip(replies[1:], replies[2:]))   # never the same twice in a row
    assert len(rows(bot.db, "select * from messages where role = 'customer' and ticket_id = 1")) == 4


def test_traditional_chinese_is_read_and_answered(telegram, bot):
    telegram.push(telegram.text_update(104, "這是什麼態度！！我要投訴"))
    reply = telegram.wait_for(lambda: telegram.sent_to(104))[0]
    assert "抱歉" in reply or "对不起" in reply
    assert rows(bot.db, "select emotion from tickets")[0]["emotion"] == "anger"


def test_html_like_text_is_escaped_in_replies_and_cards(telegram, bot):
    text = "<b>退款</b> & <script>alert(1)</script> 太过分了"
    telegram.push(telegram.text_update(105, text))
    telegram.wait_for(lambda: telegram.sent_to(105))
    card = telegram.wait_for(lambda: telegram.sent_to(AGENT_CHAT))[0]
    assert "&lt;b&gt;退款&lt;/b&gt; &amp; &lt;script&gt;" in card and "<script>" not in card
    assert rows(bot.db, "select text from messages where role = 'customer'")[0]["text"] == text


def test_a_sticker_gets_a_polite_request_for_words_and_is_logged(telegram, bot):
    telegram.push(telegram.sticker_update(106, "😡"))
    reply = telegram.wait_for(lambda: telegram.sent_to(106))[0]
    assert "文字" in reply
    logged = rows(bot.db, "select kind, file_id, text from messages where role = 'customer'")[0]
    assert logged == {"kind": "sticker", "file_id": "sticker-106", "text": "😡"}


def test_a_photo_is_evidence_and_its_caption_is_read(telegram, bot):
    telegram.push(telegram.photo_update(107, caption="收到就是碎的，太气人了"))
    reply = telegram.wait_for(lambda: telegram.sent_to(107))[0]
    assert "照片" in reply and "号工单" in reply
    logged = rows(bot.db, "select kind, file_id, emotion from messages where role = 'customer'")[0]
    assert logged["kind"] == "photo" and logged["file_id"] == "photo-107-1" and logged["emotion"]


def test_a_4000_character_message_is_logged_whole_and_the_card_fits(telegram, bot):
    text = "质量太差了，" + "我买的洗衣机一直漏水" * 400
    text = text[:4000]
    telegram.push(telegram.text_update(108, text))
    telegram.wait_for(lambda: telegram.sent_to(108))
    assert len(rows(bot.db, "select text from messages where role = 'customer'")[0]["text"]) == 4000
    card = telegram.wait_for(lambda: telegram.sent_to(AGENT_CHAT))[0]
    assert len(card) <= 4096


def test_status_shows_only_the_customers_own_tickets(telegram, bot):
    telegram.push(telegram.text_update(201, "你们的客服态度太差了"))
    telegram.wait_for(lambda: telegram.sent_to(201))
    telegram.push(telegram.text_update(202, "/status"))
    assert "没有工单" in telegram.wait_for(lambda: telegram.sent_to(202))[0]
    telegram.push(telegram.text_update(201, "/status"))
    mine = telegram.wait_for(lambda: len(telegram.sent_to(201)) > 1 and telegram.sent_to(201))[-1]
    assert "1 号" in mine


def test_a_customer_who_blocked_the_bot_does_not_stop_it(telegram, bot):
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    telegram.push(telegram.text_update(301, "太过分了"))
    telegram.push(telegram.text_update(302, "我也要投诉"))
    assert telegram.wait_for(lambda: telegram.sent_to(302))
    assert bot.proc.poll() is None
    assert len(rows(bot.db, "select * from messages where role = 'customer'")) == 2


def test_a_network_error_is_retried_until_the_customer_is_answered(telegram, bot):
    telegram.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    telegram.push(telegram.text_update(303, "快递丢了，怎么办"))
    telegram.wait_for(
        lambda: rows(bot.db, "select 1 from messages where role = 'customer' and answered_at is not null"), timeout=30
    )
    assert sum("号工单" in t for t in telegram.sent_to(303)) == 1     # answered once, not per retry


def test_flood_control_waits_and_sends(telegram, bot):
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    telegram.push(telegram.text_update(304, "气死我了"))
    assert telegram.wait_for(lambda: telegram.sent_to(304), timeout=30)


def test_the_token_never_appears_in_the_log_or_the_database(telegram, bot):
    telegram.push(telegram.text_update(401, "你们太过分了"))
    telegram.wait_for(lambda: telegram.sent_to(401))
    telegram.fail_next("sendMessage", 400, "Bad Request: chat not found")
    telegram.push(telegram.text_update(402, "在吗"))
    telegram.wait_for(lambda: len(telegram.calls("sendMessage")) >= 3)
    bot.stop()
    log = bot.log()
    assert "polling" in log and telegram.token not in log
    assert telegram.token.encode() not in bot.db.read_bytes()
