"""The console obeys the same desk as Telegram: one scripted conversation, the same ticket log.

The same script — an angry customer, a severe threat, a blocked draft, a confirm-tier draft
confirmed, a clean reply, resolve, a rating — runs through ``complaint-bot console``'s line
handler and through the real PTB Application against the project's Bot API server; the two
ticket logs must agree row by row on everything but ids, chats and times.
"""

import json

import pytest
from telegram import Update

from bot.console import handle_line
from bot.handlers.app import build_application
from bot.services import Services
from tests.conftest import AGENT, AGENT_CHAT, make_settings

CUSTOMER_LINES = ["你们怎么回事？发货太慢了，我非常生气！", "再不处理我就去12315投诉你们，东西坏了"]
BLOCKED = "这是公司的规定"
CONFIRM = "这个我不知道，我帮您问问"
CLEAN = "非常抱歉让您久等了，我马上为您补发，今天下午五点前发出"
SUMMARY = "已补发"

TICKET_COLUMNS = ("status", "category", "emotion", "intensity", "severe", "demand", "escalation_level", "rating",
                  "summary", "sla_minutes")
MESSAGE_COLUMNS = ("role", "text", "kind", "state", "emotion", "intensity", "blocked", "violations", "template")


def log_rows(log) -> dict[str, list]:
    """The log as comparable rows: ids, users, chats and times left out."""
    tickets = [{c: t[c] for c in TICKET_COLUMNS} | {"answered": bool(t["first_response_at"]),
                                                     "resolved": bool(t["resolved_at"])}
               for t in log.db.query("select * from tickets order by id")]
    messages = [{c: m[c] for c in MESSAGE_COLUMNS} for m in log.db.query("select * from messages order by id")]
    events = []
    for e in log.db.query("select kind, detail from events order by id"):
        detail = json.loads(e["detail"]) if e["detail"] else None
        if isinstance(detail, dict):
            detail.pop("message_id", None)
        events.append((e["kind"], detail))
    return {"tickets": tickets, "messages": messages, "events": events}


def pending_draft(log) -> int | None:
    row = log.db.execute("select id from messages where role = 'agent' and state = 'pending' "
                         "order by id desc limit 1").fetchone()
    return row[0] if row else None


def run_console(services) -> None:
    lines = []
    say = lambda who, text: lines.append(text)        # noqa: E731
    for text in CUSTOMER_LINES:
        handle_line(services, text, say)
    for draft in (BLOCKED, CONFIRM):
        handle_line(services, f"/reply 1 {draft}", say)
    if pending_draft(services.log):
        handle_line(services, f"/send {pending_draft(services.log)}", say)
    handle_line(services, f"/reply 1 {CLEAN}", say)
    handle_line(services, f"/resolve 1 {SUMMARY}", say)
    handle_line(services, "/rate 1 5", say)
    assert any("升级" in line for line in lines)          # the console escalated, as Telegram does


async def run_telegram(services, telegram) -> None:
    application = build_application(services)
    async with application:
        async def feed(update):
            await application.process_update(Update.de_json(update, application.bot))

        def agent(text):
            return telegram.text_update(AGENT, text, chat_id=AGENT_CHAT, chat_type="supergroup", first_name="小李")

        for text in CUSTOMER_LINES:
            await feed(telegram.text_update(42, text))
        for draft in (BLOCKED, CONFIRM):
            await feed(agent(f"/reply 1 {draft}"))
        if pending_draft(services.log):
            message, data = telegram.with_button(AGENT_CHAT, "send:")
            await feed(telegram.callback_update(AGENT, data, message))
        await feed(agent(f"/reply 1 {CLEAN}"))
        await feed(agent(f"/resolve 1 {SUMMARY}"))
        message, _ = telegram.with_button(42, "rate:")
        await feed(telegram.callback_update(42, "rate:1:5", message))


@pytest.fixture
def console_services(tmp_path, store):
    from bot.console import CONSOLE_AGENT
    from bot.tickets.log import TicketLog

    services = Services.build(make_settings(), staff_ids=frozenset({CONSOLE_AGENT}),
                              log=TicketLog(tmp_path / "console.db"), store=store)
    yield services
    services.close()


async def test_console_and_telegram_write_the_same_ticket_log(console_services, telegram, tmp_path, store):
    from bot.tickets.log import TicketLog

    run_console(console_services)
    settings = make_settings(telegram_bot_token=telegram.token, telegram_api_url=telegram.url, rate_limiter=False)
    over_telegram = Services.build(settings, log=TicketLog(tmp_path / "telegram.db"), store=store)
    await run_telegram(over_telegram, telegram)

    console, tg = log_rows(console_services.log), log_rows(over_telegram.log)
    assert console["tickets"] == tg["tickets"]
    assert console["messages"] == tg["messages"]
    assert console["events"] == tg["events"]
    # and the script did what it says: escalated on the threat, blocked, answered, resolved, rated
    kinds = [kind for kind, _ in tg["events"]]
    assert {"escalated", "blocked", "replied", "resolved", "rated"} <= set(kinds)
    assert tg["tickets"][0]["severe"] == 1 and tg["tickets"][0]["rating"] == 5
    assert any("12315" in line for line in telegram.sent_to(6001))     # the supervisor read the customer's words
    over_telegram.close()
