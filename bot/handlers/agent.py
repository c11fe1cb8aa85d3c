"""The agents' side over Telegram: commands, buttons, replies to cards.

Agents work in the agent chat (``AGENT_CHAT_ID``) or privately with the bot.
Commands: ``/tickets``, ``/claim N``, ``/reply N text`` (or a Telegram reply to the
ticket's card), ``/check text``, ``/suggest N``, ``/resolve N [summary]``,
``/escalate N [reason]``. Every rule lives in :mod:`bot.desk.agents`, reached through
its one verb table; this module only turns updates into calls, and the outbox
carries out the :class:`~bot.desk.actions.Action` that comes back. Only ``AGENT_IDS``
and ``SUPERVISOR_IDS`` may act.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.desk.actions import VERBS, parse_callback, ticket_number
from bot.desk.agents import AgentDesk
from bot.handlers.cards import Cards
from bot.handlers.outbox import Outbox, keyboard, send

logger = logging.getLogger(__name__)
COMMAND_VERBS = tuple(VERBS)          # /claim /reply /suggest /resolve /escalate /send /cancel


def who(update: Update) -> tuple[int | None, str | None]:
    user = update.effective_user
    if user is None:
        return None, None
    return user.id, " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


def words_after(update: Update, skip: int) -> str:
    """The message text after the command and ``skip - 1`` arguments, spacing kept."""
    parts = (update.effective_message.text or "").split(maxsplit=skip)
    return parts[skip].strip() if len(parts) > skip else ""


class AgentHandlers:
    def __init__(self, agents: AgentDesk, outbox: Outbox, cards: Cards):
        self.agents = agents
        self.outbox = outbox
        self.cards = cards

    async def _staff_only(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """True for staff; a stranger gets a short refusal and nothing changes."""
        if self.agents.is_staff(who(update)[0]):
            return True
        await send(context.bot, update.effective_chat.id, self.agents.texts.not_staff)
        return False

    async def tickets(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/tickets: open tickets by deadline."""
        if await self._staff_only(update, context):
            await send(context.bot, update.effective_chat.id, self.agents.tickets())

    async def check(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/check text: the guard's verdict, nothing sent (staff and admins)."""
        chat = update.effective_chat.id
        if not self.agents.may_check(who(update)[0]):
            await send(context.bot, chat, self.agents.texts.not_staff)
            return
        text = words_after(update, 1)
        await send(context.bot, chat, self.agents.check(text) if text else "用法：/check 要检查的句子")

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/claim, /reply, /suggest, /resolve, /escalate: a verb, a ticket number, maybe words."""
        if not await self._staff_only(update, context):
            return
        verb = (update.effective_message.text or "/").split()[0][1:].split("@")[0].lower()
        number = ticket_number(context.args[0]) if context.args else None
        rest = words_after(update, 2)
        if number is None:
            await send(context.bot, update.effective_chat.id, f"用法：{VERBS[verb]}")
            return
        user_id, name = who(update)
        action = self.agents.act(verb, number, user_id, name, rest)
        await self.outbox.perform(action, update.effective_chat.id)

    async def reply_to_card(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A Telegram reply to a ticket's card in the agent chat is a reply to that customer."""
        msg = update.effective_message
        ticket = self.cards.ticket_at(msg.chat_id, msg.reply_to_message.message_id)
        if ticket is None or not await self._staff_only(update, context):
            return
        user_id, name = who(update)
        action = self.agents.act("reply", ticket.id, user_id, name, msg.text or "")
        await self.outbox.perform(action, msg.chat_id)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every inline button: card actions and drafts (staff), ratings (the ticket's customer)."""
        query = update.callback_query
        user_id, name = who(update)
        parsed = parse_callback(query.data)
        if parsed is None:
            await query.answer("这个按钮已经失效了。")
            return
        verb, numbers = parsed
        if verb == "rate":
            action = self.agents.rate(numbers[0], user_id, numbers[1])
            await query.answer(None if action.ok else action.notice)
            if action.ok:
                await _edit_quietly(query, action.notice)
            return
        if not self.agents.is_staff(user_id):
            await query.answer(self.agents.texts.not_staff, show_alert=True)
            return
        await query.answer()
        action = self.agents.act(verb, numbers[0], user_id, name)
        if verb in ("send", "cancel") and action.ok and isinstance(query.message, Message):
            # deliver first; then the message with the buttons says how it went (and loses them)
            final = await self.outbox.perform(replace(action, notice=""), None)
            note = action.notice if final.ok else final.notice
            await _edit_quietly(query, f"{query.message.text_html}\n\n{note}", keyboard(final.notice_buttons))
            return
        await self.outbox.perform(action, query.message.chat_id if query.message else user_id)


async def _edit_quietly(query, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace a button message's text and buttons (ignore 'message is not modified')."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as err:
        logger.info("could not edit a button message: %s", err)
