"""The Telegram handlers, in-process: the real PTB Application fed real Update objects.

The bot object talks to the project's Bot API server on 127.0.0.1, so replies are real
HTTP requests; no Telegram object is mocked.
"""

import pytest
from telegram import Update

from bot.handlers.app import build_application
from bot.handlers.customer import incoming_from
from bot.services import Services
from tests.conftest import make_settings


@pytest.fixture
async def app(telegram, fresh_db, store):
    settings = make_settings(telegram_bot_token=telegram.token, telegram_api_url=telegram.url, rate_limiter=False)
    application = build_application(Services.build(settings, log=fresh_db, store=store))
    async with application:
        yield application


async def feed(app, update_dict):
    await app.process_update(Update.de_json(update_dict, app.bot))


async def test_start_greets_and_promises_the_deadline(app, telegram):
    await feed(app, telegram.text_update(1, "/start", first_name="小王"))
    (text,) = telegram.sent_to(1)
    assert "小王" in text and "60 分钟" in text


async def test_a_message_in_the_agent_group_is_not_a_customer_message(app, telegram, fresh_db):
    await feed(app, telegram.text_update(5001, "这个客户好凶", chat_id=-100, chat_type="supergroup"))
    assert fresh_db.count("messages") == 0 and telegram.sent_to(-100) == []


async def test_edited_message_is_logged_as_new_information(app, telegram, fresh_db):
    update = telegram.text_update(2, "东西坏了")
    update["edited_message"] = update.pop("message")
    await feed(app, update)
    assert fresh_db.messages(1)[0].kind == "edited" and telegram.sent_to(2)


def test_incoming_from_reads_media_and_captions(telegram):
    photo = Update.de_json(telegram.photo_update(3, caption="碎了"), None)
    sticker = Update.de_json(telegram.sticker_update(3, "😭"), None)
    assert (incoming_from(photo).kind, incoming_from(photo).text, incoming_from(photo).file_id) == ("photo", "碎了", "photo-3-1")
    assert (incoming_from(sticker).kind, incoming_from(sticker).text) == ("sticker", "😭")


async def test_an_internal_error_reaches_the_customer_as_an_apology_not_a_traceback(app, telegram, fresh_db):
    from bot.tickets.inbox import Inbox

    inbox = Inbox(fresh_db)
    fine, broken = telegram.text_update(3, "你好"), telegram.text_update(4, "太慢了")
    inbox.store([fine, broken])                       # as InboxBot stores every fetched update
    await feed(app, fine)
    fresh_db.db.execute("drop table messages")       # the log breaks under the handler
    await feed(app, broken)
    (text,) = telegram.sent_to(4)
    assert "抱歉" in text and "Traceback" not in text
    # the broken update is not marked handled: the next start replays it, nothing is lost
    assert inbox.is_handled(fine["update_id"]) and not inbox.is_handled(broken["update_id"])


async def test_broken_markup_in_texts_falls_back_to_plain_text(app, telegram):
    telegram.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unsupported start tag")
    await feed(app, telegram.text_update(6, "/help"))
    (text,) = telegram.sent_to(6)
    assert "/status" in text and "<" not in text


async def test_an_unknown_command_from_a_customer_gets_the_help_text_not_silence(app, telegram):
    await feed(app, telegram.text_update(7, "/refund 我的钱"))
    (text,) = telegram.sent_to(7)
    assert "/status" in text
