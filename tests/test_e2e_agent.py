"""End to end for agents: the real bot against the project's Bot API server."""

import sqlite3

import pytest

from tests.botprocess import AGENT_CHAT, BotProcess

AGENT, SUPERVISOR, STRANGER = 5001, 6001, 9999


def rows(db, sql, *params):
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def open_ticket(telegram, bot, user=42, text="你们发货太慢了，我非常失望！"):
    telegram.push(telegram.text_update(user, text))
    telegram.wait_for(lambda: telegram.sent_to(user))
    telegram.wait_for(lambda: rows(bot.db, "select card_message_id from tickets where user_id = ? "
                                   "and card_message_id is not null", user))
    return rows(bot.db, "select * from tickets where user_id = ?", user)[-1]


def agent_says(telegram, text, user=AGENT):
    telegram.push(telegram.text_update(user, text, chat_id=AGENT_CHAT, chat_type="supergroup", first_name="小李"))


@pytest.mark.parametrize("draft", ["这是公司的规定", "這是公司的規定", "规 定 如 此", "我们也没有任何办法，您去问厂家吧"])
def test_blocked_drafts_never_reach_the_customer(telegram, bot, draft):
    ticket = open_ticket(telegram, bot)
    before = len(telegram.sent_to(42))
    agent_says(telegram, f"/reply {ticket['id']} {draft}")
    notice = telegram.wait_for(lambda: [t for t in telegram.sent_to(AGENT_CHAT) if "没有发送" in t])[0]
    assert "为什么" in notice and "可以这样说" in notice
    assert len(telegram.sent_to(42)) == before
    assert rows(bot.db, "select blocked from messages where role = 'agent'")[0]["blocked"] == 1


@pytest.mark.parametrize("draft", ["根据公司的退换货政策，我现在就为您办理", "我不会让您白跑一趟"])
def test_good_replies_reach_the_customer_and_start_the_clock(telegram, bot, draft):
    ticket = open_ticket(telegram, bot)
    agent_says(telegram, f"/reply {ticket['id']} {draft}")
    reply = telegram.wait_for(lambda: [t for t in telegram.sent_to(42) if draft in t])[0]
    assert "小李" in reply
    after = rows(bot.db, "select * from tickets")[0]
    assert after["first_response_at"] and after["status"] == "in_progress"


def test_replying_to_a_card_reaches_the_right_customer(telegram, bot):
    open_ticket(telegram, bot, user=41, text="东西坏了，太差了")
    second = open_ticket(telegram, bot, user=42, text="快递丢了，急死了")
    card = next(m for m in telegram.messages_to(AGENT_CHAT) if m["message_id"] == second["card_message_id"])
    update = telegram.text_update(AGENT, "非常抱歉，我马上联系快递查件，一小时内给您结果", chat_id=AGENT_CHAT,
                                  chat_type="supergroup", first_name="小李")
    update["message"]["reply_to_message"] = card
    telegram.push(update)
    telegram.wait_for(lambda: [t for t in telegram.sent_to(42) if "快递查件" in t])
    assert not [t for t in telegram.sent_to(41) if "快递查件" in t]


def test_a_suggestion_is_one_tap_from_the_customer(telegram, bot):
    ticket = open_ticket(telegram, bot)
    agent_says(telegram, f"/suggest {ticket['id']}")
    telegram.wait_for(lambda: [t for t in telegram.sent_to(AGENT_CHAT) if "回复建议" in t])
    message, data = telegram.with_button(AGENT_CHAT, "send:")
    telegram.push(telegram.callback_update(AGENT, data, message))
    reply = telegram.wait_for(lambda: [t for t in telegram.sent_to(42) if "FEEL" not in t and "抱歉" in t and "小李" not in t
                                       and "客服" in t])[0]
    assert "失望" in reply


def test_a_stranger_can_do_nothing(telegram, bot):
    ticket = open_ticket(telegram, bot)
    before = [rows(bot.db, f"select * from {t}") for t in ("tickets", "events")]
    agent_says(telegram, f"/claim {ticket['id']}", user=STRANGER)
    agent_says(telegram, f"/reply {ticket['id']} 我们马上处理", user=STRANGER)
    card = next(m for m in telegram.messages_to(AGENT_CHAT) if m["message_id"] == ticket["card_message_id"])
    telegram.push(telegram.callback_update(STRANGER, f"resolve:{ticket['id']}", card))
    telegram.push(telegram.text_update(STRANGER, f"/resolve {ticket['id']}"))     # privately, too
    telegram.wait_for(lambda: len([t for t in telegram.sent_to(AGENT_CHAT) if "只有客服" in t]) >= 2)
    telegram.wait_for(lambda: telegram.calls("answerCallbackQuery"))
    telegram.wait_for(lambda: [t for t in telegram.sent_to(STRANGER) if "只有客服" in t])
    assert [rows(bot.db, f"select * from {t}") for t in ("tickets", "events")] == before
    assert not [t for t in telegram.sent_to(42) if "马上处理" in t]


def test_a_claim_redraws_the_card_in_place(telegram, bot):
    ticket = open_ticket(telegram, bot)
    card = next(m for m in telegram.messages_to(AGENT_CHAT) if m["message_id"] == ticket["card_message_id"])
    telegram.push(telegram.callback_update(AGENT, f"claim:{ticket['id']}", card))
    edit = telegram.wait_for(lambda: [r for r in telegram.calls("editMessageText")
                                      if r.params.get("message_id") == ticket["card_message_id"]])[-1]
    assert "处理中" in edit.params["text"]


def test_resolve_closes_with_three_sentences_and_the_rating_is_stored(telegram, bot):
    ticket = open_ticket(telegram, bot)
    agent_says(telegram, f"/resolve {ticket['id']} 已补发")
    telegram.wait_for(lambda: [t for t in telegram.sent_to(42) if "打个分" in t])
    assert any("再次为这件事" in t for t in telegram.sent_to(42))
    message, data = telegram.with_button(42, "rate:")
    telegram.push(telegram.callback_update(42, data.rsplit(":", 1)[0] + ":5", message))
    telegram.wait_for(lambda: rows(bot.db, "select rating from tickets")[0]["rating"] == 5)
    assert rows(bot.db, "select kind from events where kind = 'rated'")


def test_a_severe_complaint_goes_to_supervisors_at_once(telegram, bot):
    open_ticket(telegram, bot, text="再不退款我就去12315投诉你们，还要发微博曝光！")
    alert = telegram.wait_for(lambda: telegram.sent_to(SUPERVISOR))[0]
    assert "升级到主管" in alert and "严重投诉" in alert
    ticket = rows(bot.db, "select * from tickets")[0]
    assert ticket["status"] == "escalated" and ticket["escalation_level"] == 1


def test_a_restart_re_arms_deadlines(telegram, tmp_path):
    process = BotProcess(telegram, tmp_path, SLA_MINUTES="0.15", REMINDER_MINUTES="0.1").start()
    try:
        telegram.push(telegram.text_update(42, "东西坏了"))
        telegram.wait_for(lambda: telegram.sent_to(42))
        process.kill()                                  # the deadline jobs die with the process
        assert not telegram.sent_to(SUPERVISOR)
        process.start()                                 # and come back from the log
        reminder = telegram.wait_for(lambda: [t for t in telegram.sent_to(AGENT_CHAT) if "还没有答复" in t], 30)
        alert = telegram.wait_for(lambda: telegram.sent_to(SUPERVISOR), 30)[0]
        assert reminder and "超过答复时限" in alert
        assert rows(process.db, "select status from tickets")[0]["status"] == "escalated"
    finally:
        process.kill()


def test_a_reply_the_customer_never_got_is_reported_to_the_agent(telegram, bot):
    ticket = open_ticket(telegram, bot)
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    agent_says(telegram, f"/reply {ticket['id']} 非常抱歉，我马上为您处理")
    notice = telegram.wait_for(lambda: [t for t in telegram.sent_to(AGENT_CHAT) if "没有送达" in t])[0]
    assert f"{ticket['id']} 号工单" in notice
    assert not [t for t in telegram.sent_to(AGENT_CHAT) if "已发给" in t]
    after = rows(bot.db, "select first_response_at from tickets")[0]
    assert after["first_response_at"] is None
    telegram.with_button(AGENT_CHAT, "send:")                  # the agent can send it again
