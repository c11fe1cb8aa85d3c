"""The customer's side over Telegram (private chats).

Every message, whatever it holds, is logged before the bot answers it; the
conversation rules themselves live in :mod:`bot.desk.conversation`, shared with the console.

Commands: ``/start``, ``/help``, ``/status`` (the customer's own tickets), ``/new``.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.desk.conversation import Incoming, Outcome
from bot.handlers import agent, jobs as deadlines
from bot.handlers.common import send, services, services_of

logger = logging.getLogger(__name__)

# Telegram message attributes we accept, in the order we look for them, and how we log them.
MEDIA = (
    ("photo", "photo"), ("document", "document"), ("video", "video"), ("sticker", "sticker"),
    ("voice", "voice"), ("video_note", "video_note"), ("audio", "audio"), ("animation", "animation"),
    ("location", "location"), ("venue", "location"), ("contact", "contact"), ("poll", "poll"), ("dice", "dice"),
)


def incoming_from(update: Update) -> Incoming:
    """What the desk needs from any customer update (text, caption, media, edits)."""
    msg = update.effective_message
    user = update.effective_user
    kind, file_id, text = "other", None, msg.text or msg.caption or ""
    if msg.text is not None:
        kind = "edited" if update.edited_message else "text"
    else:
        for attr, name in MEDIA:
            value = getattr(msg, attr, None)
            if value:
                kind = name
                item = value[-1] if isinstance(value, (list, tuple)) else value
                file_id = getattr(item, "file_id", None)
                if attr == "sticker" and not text:
                    text = value.emoji or ""
                break
    name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else None
    return Incoming(
        update_id=update.update_id,
        chat_id=msg.chat_id,
        user_id=user.id if user else msg.chat_id,
        user_name=name or (user.username if user else None),
        text=text,
        kind=kind,
        file_id=file_id,
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: who the bot is, what to send, how long an answer takes."""
    user = update.effective_user
    await send(context.bot, update.effective_chat.id, services(context).desk.greeting(user.first_name if user else None))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what to send and the commands."""
    await send(context.bot, update.effective_chat.id, services(context).desk.help())


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status: the customer's own tickets, never anyone else's."""
    await send(context.bot, update.effective_chat.id, services(context).desk.status(update.effective_user.id))


async def new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: start another ticket once the open one is resolved."""
    await send(context.bot, update.effective_chat.id, services(context).desk.new(update.effective_user.id))


async def message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any message from a customer: log it, read it, answer it, tell the agents."""
    desk = services(context).desk
    outcome = desk.receive(incoming_from(update))
    if outcome.duplicate:
        return
    await deliver(context.application, outcome)


async def deliver(application: Application, outcome: Outcome) -> None:
    """Send the replies and record them.

    A network error leaves the message unanswered: the retry job answers it later.
    A new ticket's card is posted by the cards job (:func:`bot.handlers.agent.cards_job`),
    so the agent chat's flood limit (20 messages a minute in a group) never delays a
    customer's answer or the bot's shutdown.
    """
    desk = services_of(application).desk
    ticket = outcome.ticket
    sent = []
    for reply in outcome.replies:
        try:
            await send(application.bot, ticket.chat_id, reply.text)
        except TelegramError as err:
            logger.warning("reply to ticket %s not sent (%s); will retry", ticket.id, type(err).__name__)
            break
        sent.append(reply)
    if len(sent) == len(outcome.replies):
        desk.replied(outcome.message_id, ticket.id, ticket.chat_id, sent)
    if outcome.new_ticket or "due_at" in outcome.changes:
        deadlines.arm(application, ticket)
    if outcome.changes.get("severe"):
        # seed 002: a threat to go to regulators, media or court is a 严重投诉 — supervisors now
        action = services_of(application).agent_desk.escalate(
            ticket.id, None, "客户提到监管部门、媒体或法律途径（严重投诉）", automatic=True)
        await agent.perform(application, action, None)


async def answer_unanswered(application: Application) -> int:
    """Answer every logged customer message that never got its answer; returns how many."""
    desk = services_of(application).desk
    count = 0
    for message in desk.log.unanswered():
        outcome = desk.answer_again(message)
        await deliver(application, outcome)
        count += 1
    return count
