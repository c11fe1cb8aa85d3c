"""The Telegram bot: every handler is wired here and nowhere else.

``complaint-bot run`` builds the services (:mod:`bot.services`), then a real
python-telegram-bot :class:`Application` (long polling, JobQueue, rate limiter)
against ``TELEGRAM_API_URL``, and runs it until SIGINT or SIGTERM, after which it
finishes the updates already fetched.

Start-up: the phrase files are compiled (a broken set stops the bot with every
``file:line`` problem), the ticket log is migrated, updates a crash left unhandled
are replayed, messages logged but never answered get their answer, and every timer
the log calls for is set again. Every fetched update is stored before Telegram can
be told it arrived (:mod:`bot.handlers.inbox`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
                          ApplicationHandlerStop, ContextTypes, Defaults, MessageHandler, TypeHandler, filters)
from telegram.request import HTTPXRequest

from bot import logs
from bot.desk.actions import Timer
from bot.engine.phrases import PhraseFileError
from bot.handlers import heartbeat, webhook
from bot.handlers.admin import AdminHandlers
from bot.handlers.agent import COMMAND_VERBS, AgentHandlers
from bot.handlers.cards import Cards
from bot.handlers.customer import CustomerHandlers
from bot.handlers.inbox import InboxBot, InboxGate
from bot.handlers.jobs import Timers
from bot.handlers.outbox import Outbox, send
from bot.services import Services
from bot.settings import Settings
from bot.tickets.inbox import Inbox
from bot.tickets.log import LogUnusable, is_busy

logger = logging.getLogger(__name__)


def make_bot(services: Services, inbox: Inbox) -> InboxBot:
    settings = services.settings
    return InboxBot(
        token=settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_api_url.replace("/bot", "/file/bot", 1),
        request=HTTPXRequest(connection_pool_size=256),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=AIORateLimiter(max_retries=3) if settings.rate_limiter else None,
        inbox=inbox,
        admin_ids=settings.admin_ids,
    )


def build_application(services: Services) -> Application:
    """The Application with every handler and job; nothing runs until it is started."""
    settings, desk, agents = services.settings, services.desk, services.agents
    inbox = InboxGate(Inbox(services.log))
    builder = ApplicationBuilder().bot(make_bot(services, inbox.inbox))
    if settings.mode == "webhook":
        # an update is stored before PTB's webhook handler answers Telegram 200 (bot.handlers.webhook)
        builder = builder.update_queue(webhook.StoringQueue(inbox.inbox))
    application = builder.build()
    timers = Timers(application.job_queue, lambda timer: fire(timer))
    outbox = Outbox(application.bot, agents, timers)
    cards = Cards(application.bot, services.log, agents.render, settings.agent_chat_id)
    customer = CustomerHandlers(desk, outbox, settings.retry_seconds)
    agent = AgentHandlers(agents, outbox, cards)
    admin = AdminHandlers(services.store, services.log, settings.admin_ids, settings.document_limit_mb)

    async def fire(timer: Timer) -> None:
        action = agents.fire(timer)
        if action.ok:
            await outbox.perform(action, None)

    async def on_startup(app: Application) -> None:
        """Replay updates a crash left unhandled; answer what was never answered; set the timers."""
        replayed = await inbox.replay_unhandled(app)
        answered = await customer.answer_unanswered()
        pending = agents.pending_timers()
        timers.set(pending)
        logger.info("start-up: %d update(s) replayed, %d message(s) answered, %d timer(s) set",
                    replayed, answered, len(pending))

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every error without the token; tell the customer nothing broke for them."""
        if is_busy(context.error):
            # another program held the ticket log past DATABASE_BUSY_SECONDS: the update is in the
            # inbox, unhandled; it goes back in the queue, and mark_handled is skipped
            locked.waiting()
            if isinstance(update, Update):
                application.create_task(requeue(update), update=update)
                raise ApplicationHandlerStop
            return
        if not report_error(context.error) or not isinstance(update, Update):
            return
        if update.effective_chat and update.effective_chat.type == "private":
            try:
                await send(context.bot, update.effective_chat.id, services.store.engine.phrases.texts.sorry_error)
            except TelegramError:
                pass
        # a bug stopped the handler: the update stays unhandled in the inbox (mark_handled is
        # skipped) and is replayed at the next start, after the fix, instead of being lost
        logger.warning("update %s left unhandled in the inbox; it is replayed at the next start", update.update_id)
        raise ApplicationHandlerStop

    locked = application.bot.locked        # one 'locked' line per episode, shared with InboxBot

    async def requeue(update: Update) -> None:
        await asyncio.sleep(1)
        await application.update_queue.put(update)

    application.post_init = on_startup
    add_handlers(application, settings.agent_chat_id, inbox, customer, agent, admin)
    application.add_error_handler(on_error)
    jobs = application.job_queue
    jobs.run_repeating(customer.retry, interval=settings.retry_seconds, first=settings.retry_seconds, name="retry")
    jobs.run_repeating(cards.tick, interval=settings.card_seconds, first=1, name="cards")
    jobs.run_repeating(admin.watch_phrases, interval=settings.watch_seconds, first=settings.watch_seconds,
                       name="watch-phrases")
    heartbeat.arm(application, settings)
    return application


def add_handlers(application: Application, agent_chat_id: int | None, inbox: InboxGate,
                 customer: CustomerHandlers, agent: AgentHandlers, admin: AdminHandlers) -> None:
    """Every command, message and button, in one table; the inbox gate runs first and last."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, inbox.skip_handled), group=-1)
    application.add_handler(TypeHandler(Update, inbox.mark_handled), group=99)
    application.add_handlers([
        CommandHandler("start", customer.start, filters=private),
        CommandHandler("help", customer.help, filters=private),
        CommandHandler("status", customer.status, filters=private),
        CommandHandler("new", customer.new, filters=private),
        MessageHandler(private & ~filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE),
                       customer.message),
        CommandHandler("tickets", agent.tickets),
        CommandHandler("check", agent.check),
        CommandHandler(list(COMMAND_VERBS), agent.command),
        CommandHandler("reload", admin.reload),
        CommandHandler("stats", admin.stats),
        CommandHandler("export", admin.export),
        CallbackQueryHandler(agent.button),
        # a customer's unknown /command gets the help text rather than silence
        MessageHandler(private & filters.COMMAND, customer.help),
    ])
    if agent_chat_id is not None:
        application.add_handler(MessageHandler(
            filters.Chat(agent_chat_id) & filters.REPLY & filters.TEXT & ~filters.COMMAND, agent.reply_to_card))


def report_error(err: BaseException | None) -> bool:
    """Log an error at the level it deserves; True when it was a bug (the customer gets an apology)."""
    if isinstance(err, NetworkError):
        logger.debug("Telegram unreachable: %s", err)     # the outage is logged once, by InboxBot
    elif isinstance(err, RetryAfter):
        logger.warning("Telegram busy: %s", err)
    elif isinstance(err, Forbidden):
        logger.info("a user blocked the bot: %s", err)
    elif isinstance(err, TelegramError):
        logger.warning("Telegram refused a request: %s", err)
    else:
        logger.error("error while handling an update", exc_info=err)
        return True
    return False


def run(settings: Settings) -> int:
    """``complaint-bot run``: poll (or serve the webhook) until SIGINT/SIGTERM; exit status 0, or 1 on
    broken phrases."""
    logs.configure(settings.telegram_bot_token)
    try:
        services = Services.build(settings)
    except LogUnusable as err:
        print(err, file=sys.stderr)
        return 1
    except PhraseFileError as err:
        print("短语文件有错误，机器人没有启动（phrase files have errors）:", file=sys.stderr)
        print("\n".join(err.lines()), file=sys.stderr)
        return 1
    application = build_application(services)
    if settings.mode == "webhook":
        logger.info("complaint-bot serving a webhook on %s:%s for %s", settings.webhook_listen,
                    settings.webhook_port, settings.webhook_url)
        webhook.run_webhook(application, settings)
    else:
        logger.info("complaint-bot polling %s", settings.telegram_api_url)
        application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=(signal.SIGINT, signal.SIGTERM),
                                bootstrap_retries=-1)
    services.close()
    logger.info("stopped")
    return 0
