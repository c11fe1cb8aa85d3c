"""Carrying out what the desk decided: sending messages, setting timers, undoing what failed.

Sending never raises for a chat that is gone (blocked bot, chat not found) and falls
back to plain text when Telegram refuses the HTML; network errors propagate to the
caller, who leaves the customer's message unanswered for the retry job::

    outbox = Outbox(bot, agents, timers)
    await outbox.perform(action, notice_chat=agent_chat)     # deliveries, notice, timers
    await outbox.answer(outcome, desk)                       # a customer message's outcome
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.desk.actions import Action, Buttons
from bot.desk.agents import AgentDesk
from bot.desk.conversation import Desk, Outcome
from bot.desk.render import html_to_text
from bot.handlers.jobs import Timers
from bot.tickets.log import is_busy

logger = logging.getLogger(__name__)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in buttons])


async def send(bot: Bot, chat_id: int, text: str, buttons: Buttons | None = None) -> Message | None:
    """Send HTML; on a markup error send it as plain text. Returns None when the chat is gone."""
    markup = keyboard(buttons)
    try:
        return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as err:
        reason = str(err).lower()
        if "parse entities" in reason or "can't parse" in reason:
            logger.warning("markup refused by Telegram, sending plain text: %s", err)
            return await bot.send_message(chat_id, html_to_text(text), parse_mode=None, reply_markup=markup)
        if "chat not found" in reason:
            logger.info("chat %s not found; nothing sent", chat_id)
            return None
        raise
    except Forbidden:
        logger.info("chat %s blocked the bot; nothing sent", chat_id)
        return None


async def until_written(write, *args):
    """A write that records what already reached Telegram: retried, with backoff, until the ticket
    log takes it (another program may hold its lock past ``DATABASE_BUSY_SECONDS``)."""
    delay = 0.5
    while True:
        try:
            return write(*args)
        except Exception as err:
            if not is_busy(err):
                raise
            logger.info("ticket log locked; recording a sent reply again in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def quiet(err: BaseException) -> int:
    """The level for a failed send: a network error is part of an outage, which the bot logs once
    when it starts and once when it ends (:class:`bot.handlers.inbox.Outage`), not once per try."""
    return logging.DEBUG if isinstance(err, NetworkError) else logging.WARNING


class Outbox:
    def __init__(self, bot: Bot, agents: AgentDesk, timers: Timers):
        self.bot = bot
        self.agents = agents
        self.timers = timers
        self._answering: set[int] = set()      # customer messages whose answer is on its way

    async def perform(self, action: Action, notice_chat: int | None) -> Action:
        """Deliver the messages first, then tell the one who acted what really happened.

        When a reply does not reach the customer, the agents' desk undoes it
        (:meth:`~bot.desk.agents.AgentDesk.undelivered`) and the agent gets a button to send
        it again. Returns the action as it finally stands.
        """
        failed = 0
        for delivery in action.deliveries:
            try:
                sent = await send(self.bot, delivery.chat_id, delivery.text, delivery.buttons)
            except TelegramError as err:
                logger.log(quiet(err), "delivery to %s failed: %s", delivery.chat_id, type(err).__name__)
                sent = None
            failed += sent is None
        if action.draft_id is not None and failed:
            action = self.agents.undelivered(action)
        elif failed:
            action = replace(action, notice=(action.notice + "\n" if action.notice else "")
                             + f"⚠️ 有 {failed} 条消息没有送达（网络问题，或对方屏蔽了机器人）。")
        self.timers.set(action.timers)          # before the notice: a failed notice must not lose a timer
        if action.notice and notice_chat is not None:
            await send(self.bot, notice_chat, action.notice, action.notice_buttons)
        return action

    async def answer(self, outcome: Outcome, desk: Desk) -> bool:
        """False when the Bot API could not be reached (the message stays unanswered for the retry job)."""
        if outcome.message_id in self._answering:
            return True         # being answered right now (the retry job met a slow first answer)
        self._answering.add(outcome.message_id)
        try:
            return await self._answer(outcome, desk)
        finally:
            self._answering.discard(outcome.message_id)

    async def _answer(self, outcome: Outcome, desk: Desk) -> bool:
        """Send a customer message's replies and record them, then carry out what follows.

        A network error leaves the message unanswered: the retry job answers it later.
        The ticket's card is posted by the card job, so the agent chat's flood limit never
        delays a customer's answer.
        """
        ticket = outcome.ticket
        sent = []
        reached = True
        for reply in outcome.replies:
            try:
                await send(self.bot, ticket.chat_id, reply.text)
            except TelegramError as err:
                reached = not isinstance(err, NetworkError)
                logger.log(quiet(err), "reply to ticket %s not sent (%s); will retry", ticket.id, type(err).__name__)
                break
            sent.append(reply)
        if len(sent) == len(outcome.replies):
            # the customer has the answer: recording it may wait out a locked log, but never gives up,
            # or the retry job would send it a second time
            await until_written(desk.replied, outcome.message_id, ticket.id, ticket.chat_id, sent)
        self.timers.set(outcome.timers)
        for action in outcome.actions:
            await self.perform(action, None)
        return reached
