"""The customer's conversation rules (听-同-问), without Telegram, on a fresh log."""

import itertools

from bot.desk.conversation import Incoming
from bot.tickets.log import parse_iso

_ids = itertools.count(1)


def say(desk, user_id, text="", kind="text", file_id=None, answer=True):
    outcome = desk.receive(Incoming(next(_ids), user_id, user_id, "王女士", text, kind, file_id))
    if answer:
        desk.replied(outcome.message_id, outcome.ticket.id, outcome.ticket.chat_id, outcome.replies)
    return outcome


def test_first_upset_message_is_answered_feelings_first(desk):
    out = say(desk, 1, "你们发货太慢了，我非常失望！")
    text = out.replies[0].text
    assert out.new_ticket and text.index("失望") < text.index("号工单")     # feeling before facts
    assert "60 分钟" in text and text.rstrip().endswith(("？", "?"))
    assert out.ticket.emotion == "disappointment" and out.ticket.intensity == 2


def test_neutral_question_gets_no_apology(desk):
    text = say(desk, 2, "请问你们周末上班吗").replies[0].text
    assert "抱歉" not in text and "对不起" not in text and "号工单" in text


def test_later_messages_join_the_ticket_and_acknowledgements_never_repeat_back_to_back(desk):
    first = say(desk, 3, "快递三天了还没到")
    replies = [say(desk, 3, f"补充第{i}点：订单号 {i}").replies[0].text for i in range(6)]
    assert all(r for r in replies)
    assert all(a != b for a, b in zip(replies, replies[1:]))
    assert {say(desk, 3, "好的").ticket.id} == {first.ticket.id}


def test_a_customer_growing_more_upset_gets_a_fresh_empathy_sentence(desk):
    first = say(desk, 4, "东西有点问题，有点失望").replies[0]
    say(desk, 4, "订单号是 123")
    later = say(desk, 4, "你们太过分了，气死我了！！").replies[0]
    assert later.template.startswith("anger.") and later.template != first.template


def test_severe_message_marks_the_ticket(desk):
    say(desk, 5, "东西坏了")
    out = say(desk, 5, "再不处理我就去12315投诉你们")
    assert out.ticket.severe == 1 and out.ticket.intensity == 2


def test_sticker_voice_location_ask_for_words(desk):
    for kind in ("sticker", "voice", "location", "contact"):
        assert "文字" in say(desk, 6, "", kind=kind).replies[0].text


def test_photo_is_evidence_and_opens_the_ticket(desk):
    out = say(desk, 7, "", kind="photo", file_id="f1")
    assert "照片" in out.replies[0].text and "号工单" in out.replies[0].text
    assert desk.log.message(out.message_id).file_id == "f1"


def test_photo_caption_is_read_like_a_message(desk):
    out = say(desk, 8, "收到就是碎的，气死了", kind="photo", file_id="f2")
    assert out.analysis.negative and "照片" in out.replies[0].text


def test_empty_text_asks_for_words(desk):
    assert say(desk, 9, "   ").replies[0].template == "empty"


def test_change_order_gets_its_ten_minute_deadline(desk):
    out = say(desk, 10, "我要改地址，地址填错了，麻烦快点")
    assert out.ticket.sla_minutes == 10 and "10 分钟" in out.replies[0].text
    created, due = parse_iso(out.ticket.created_at), parse_iso(out.ticket.due_at)
    assert (due - created).total_seconds() == 600


def test_status_shows_only_the_customers_own_tickets(desk):
    say(desk, 11, "气死了")
    say(desk, 12, "太慢了")
    mine = desk.status(11)
    assert "1 号" in mine and "2 号" not in mine
    assert "没有工单" in desk.status(13)


def test_new_waits_for_the_open_ticket_and_a_resolved_ticket_makes_room(desk):
    out = say(desk, 14, "太慢了")
    assert "还在处理中" in desk.new(14)
    desk.log.update_ticket(out.ticket.id, status="resolved")
    assert "新的工单" in desk.new(14)
    assert say(desk, 14, "又坏了").ticket.id != out.ticket.id


def test_replied_marks_the_message_answered_and_logs_the_bot(desk):
    out = say(desk, 15, "太差了", answer=False)
    assert [m.id for m in desk.log.unanswered()] == [out.message_id]
    desk.replied(out.message_id, out.ticket.id, out.ticket.chat_id, out.replies)
    assert desk.log.unanswered() == []
    assert [m.role for m in desk.log.messages(out.ticket.id)] == ["customer", "bot"]


def test_answer_again_composes_the_first_reply_for_an_unanswered_first_message(desk):
    out = say(desk, 16, "气死我了，东西坏了", answer=False)
    again = desk.answer_again(desk.log.unanswered()[0])
    assert again.replies[0].text == out.replies[0].text


def test_customer_words_are_escaped_in_the_empathy_sentence(desk):
    out = say(desk, 17, "<b>鞋子</b>质量太差了，非常失望")
    assert "<b>鞋子" not in out.replies[0].text


def test_duplicate_update_is_not_logged_twice(desk):
    incoming = Incoming(999_999, 18, 18, "x", "太差了")
    first = desk.receive(incoming)
    again = desk.receive(incoming)
    assert again.duplicate and again.message_id == first.message_id and again.replies == []
    assert desk.log.count("messages", "role = 'customer'") == 1


def test_minutes_read_naturally_whatever_type_the_setting_has(fresh_db, store):
    from bot.services import Services
    from bot.settings import Settings

    settings = Settings(_env_file=None)                  # SLA_MINUTES arrives as a float
    desk = Services.build(settings, log=fresh_db, store=store).desk
    assert "60 分钟" in desk.help() and "60.0" not in desk.help()
    out = desk.receive(Incoming(1, 1, 1, "x", "请问几点开门"))
    assert "60 分钟" in out.replies[0].text and "60.0" not in out.replies[0].text
