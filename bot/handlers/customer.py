"""The customer's side over Telegram (private chats).

Every message, whatever it holds, is logged before the bot answers it; the
conversation rules themselves live in :mod:`bot.desk.conversation`, shared with the
console, and :class:`~bot.handlers.outbox.Outbox` carries out what they decide.

Commands: ``/start``, ``/help``, ``/status`` (the customer's own tickets), ``/new``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot.desk.conversation import Desk, Incoming
from bot.handlers.outbox import Outbox, send

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


class CustomerHandlers:
    def __init__(self, desk: Desk, outbox: Outbox, retry_seconds: float = 30):
        self.desk = desk
        self.outbox = outbox
        self.retry_after = timedelta(seconds=retry_seconds)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: who the bot is, what to send, how long an answer takes."""
        user = update.effective_user
        await send(context.bot, update.effective_chat.id, self.desk.greeting(user.first_name if user else None))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: what to send and the commands."""
        await send(context.bot, update.effective_chat.id, self.desk.help())

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/status: the customer's own tickets, never anyone else's."""
        await send(context.bot, update.effective_chat.id, self.desk.status(update.effective_user.id))

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/new: start another ticket once the open one is resolved."""
        await send(context.bot, update.effective_chat.id, self.desk.new(update.effective_user.id))

    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any message from a customer: log it, read it, answer it, carry out what follows."""
        outcome = self.desk.receive(incoming_from(update))
        if not outcome.duplicate:
            await self.outbox.answer(outcome, self.desk)

    async def retry(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """JobQueue, every ``RETRY_SECONDS``: answer what a network error left unanswered."""
        await self.answer_unanswered(older_than=self.retry_after)

    async def answer_unanswered(self, older_than: timedelta = timedelta(0)) -> int:
        """Answer logged customer messages that never got their answer; returns how many."""
        waiting = self.desk.log.unanswered(older_than=older_than)
        for done, message in enumerate(waiting):
            try:
                outcome = self.desk.answer_again(message)
            except Exception:                       # one bad message must not hold up the others
                logger.exception("message %s could not be answered again; skipped", message.id)
                continue
            if not await self.outbox.answer(outcome, self.desk):
                return done     # the Bot API is unreachable: the rest waits for the next tick
        return len(waiting)
