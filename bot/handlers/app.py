"""The Telegram bot: every handler is wired here and nowhere else.

``complaint-bot run`` builds a real python-telegram-bot :class:`Application`
(long polling, JobQueue, rate limiter) against ``TELEGRAM_API_URL`` and runs it
until SIGINT or SIGTERM, after which it finishes the updates already fetched.

Start-up: the phrase files are compiled (a broken set stops the bot with every
``file:line`` problem), the ticket log is migrated, and messages that were
logged but never answered (a crash, a network error) get their answer. Every
fetched update is stored before Telegram can be told it arrived (:mod:`bot.handlers.inbox`).
"""

from __future__ import annotations

import logging
import signal
import sys
from datetime import timedelta

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import logs
from bot.handlers import inbox
from bot.desk.conversation import Desk
from bot.engine.store import EngineStore
from bot.desk.agents import AgentDesk
from bot.handlers import admin, agent, customer, jobs as deadlines
from bot.handlers.common import Services, send, services
from bot.handlers.inbox import InboxBot
from bot.engine.phrases import PhraseFileError
from bot.settings import Settings
from bot.tickets.log import TicketLog

logger = logging.getLogger(__name__)


async def on_startup(application: Application) -> None:
    """Replay updates a crash left unhandled; answer messages logged but never answered."""
    replayed = await inbox.replay_unhandled(application)
    if replayed:
        logger.info("replaying %d update(s) fetched before the last stop but never handled", replayed)
    answered = await customer.answer_unanswered(application)
    if answered:
        logger.info("answered %d message(s) logged before the last stop", answered)
    armed = deadlines.arm_all(application)
    if armed:
        logger.info("re-armed deadlines and follow-ups of %d ticket(s)", armed)


async def retry_unanswered(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue: a reply lost to a network error is sent on the next tick."""
    svc = services(context)
    for message in svc.desk.log.unanswered(older_than=timedelta(seconds=svc.settings.retry_seconds)):
        await customer.deliver(context.application, svc.desk.answer_again(message))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every error without the token; tell the customer nothing broke for them."""
    err = context.error
    if isinstance(err, (NetworkError, RetryAfter)):
        logger.warning("Telegram unreachable or busy: %s", err)
        return
    if isinstance(err, Forbidden):
        logger.info("a user blocked the bot: %s", err)
        return
    if isinstance(err, TelegramError):
        logger.warning("Telegram refused a request: %s", err)
        return
    logger.error("error while handling an update", exc_info=err)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        texts = services(context).desk.texts
        try:
            await send(context.bot, update.effective_chat.id, texts.sorry_error)
        except TelegramError:
            pass


def build_application(settings: Settings, desk: Desk) -> Application:
    """The Application with every handler; nothing runs until it is started."""
    bot = InboxBot(
        token=settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_api_url.replace("/bot", "/file/bot", 1),
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=AIORateLimiter(max_retries=3) if settings.rate_limiter else None,
        inbox=desk.log,
    )
    application = ApplicationBuilder().bot(bot).post_init(on_startup).build()
    agent_desk = AgentDesk(
        desk.store, desk.log, staff_ids=settings.staff_ids, supervisor_ids=settings.supervisor_ids,
        manager_ids=settings.manager_ids or settings.admin_ids, admin_ids=settings.admin_ids,
        agent_chat_id=settings.agent_chat_id, zone=settings.zone,
    )
    application.bot_data["services"] = Services(settings=settings, desk=desk, agent_desk=agent_desk)

    application.add_handler(TypeHandler(Update, inbox.skip_handled), group=-1)
    application.add_handler(TypeHandler(Update, inbox.mark_handled), group=99)
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", customer.start, filters=private))
    application.add_handler(CommandHandler("help", customer.help_command, filters=private))
    application.add_handler(CommandHandler("status", customer.status, filters=private))
    application.add_handler(CommandHandler("new", customer.new, filters=private))
    application.add_handler(
        MessageHandler(private & ~filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE),
                       customer.message)
    )
    for name, callback in (("tickets", agent.tickets), ("claim", agent.claim), ("reply", agent.reply),
                           ("check", agent.check), ("suggest", agent.suggest), ("resolve", agent.resolve),
                           ("escalate", agent.escalate)):
        application.add_handler(CommandHandler(name, callback))
    for name, callback in (("reload", admin.reload), ("stats", admin.stats), ("export", admin.export)):
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(agent.button))
    if settings.agent_chat_id is not None:
        application.add_handler(MessageHandler(
            filters.Chat(settings.agent_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            agent.reply_to_card,
        ))
    application.add_error_handler(on_error)
    jobs = application.job_queue
    jobs.run_repeating(retry_unanswered, interval=settings.retry_seconds, first=settings.retry_seconds, name="retry")
    jobs.run_repeating(agent.cards_job, interval=settings.card_seconds, first=1, name="cards")
    jobs.run_repeating(admin.watch_phrases, interval=settings.watch_seconds, first=settings.watch_seconds,
                       name="watch-phrases")
    return application


def run(settings: Settings) -> int:
    """``complaint-bot run``: poll until SIGINT/SIGTERM; exit status 0, or 1 on broken phrases."""
    logs.configure(settings.telegram_bot_token)
    try:
        store = EngineStore(settings.phrases_dir)
    except PhraseFileError as err:
        print("短语文件有错误，机器人没有启动（phrase files have errors）:", file=sys.stderr)
        print("\n".join(err.lines()), file=sys.stderr)
        return 1
    log = TicketLog(settings.database_path)
    desk = Desk(store, log, sla_minutes=settings.sla_minutes)
    application = build_application(settings, desk)
    logger.info("complaint-bot polling %s", settings.telegram_api_url)
    application.run_polling(
        allowed_updates=Update.ALL_TYPES,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        bootstrap_retries=-1,
    )
    log.close()
    logger.info("stopped")
    return 0
