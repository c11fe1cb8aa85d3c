"""The ticket cards in the agent chat: posted and redrawn by a JobQueue job.

Cards are never sent inline with a customer's answer: a group accepts about 20
messages a minute, so a burst of new tickets must not delay any customer or the
bot's shutdown. Each tick posts a few missing cards and redraws a few changed ones.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.desk.agents import card_buttons
from bot.desk.render import Render
from bot.handlers.outbox import keyboard, send, quiet
from bot.tickets.cards import CardBoard
from bot.tickets.log import TicketLog
from bot.tickets.schema import Ticket, utcnow

logger = logging.getLogger(__name__)


class Cards:
    def __init__(self, bot: Bot, log: TicketLog, render: Render, agent_chat_id: int | None, per_tick: int = 3):
        self.bot = bot
        self.log = log
        self.board = CardBoard(log)
        self.render = render
        self.chat_id = agent_chat_id
        self.per_tick = per_tick
        self._lock = asyncio.Lock()

    async def tick(self, context: ContextTypes.DEFAULT_TYPE | None = None) -> None:
        """JobQueue: post cards for new tickets, then redraw changed ones (a few of each)."""
        if self.chat_id is None:
            return
        async with self._lock:
            for ticket in self.board.without_card()[:self.per_tick]:
                if not await self.post(ticket):
                    return      # the Bot API is unreachable: the rest waits for the next tick
            for ticket in self.board.stale()[:self.per_tick]:
                if not await self.redraw(ticket):
                    return

    def ticket_at(self, chat_id: int, message_id: int) -> Ticket | None:
        """The ticket whose card is that message (an agent replied to it)."""
        return self.board.ticket_at(chat_id, message_id)

    async def post(self, ticket: Ticket) -> bool:
        """Post a ticket's card; False when the Bot API could not be reached."""
        try:
            sent = await send(self.bot, self.chat_id, self._text(ticket), card_buttons(ticket))
        except TelegramError as err:
            logger.log(quiet(err), "card for ticket %s not posted (%s); will retry", ticket.id, type(err).__name__)
            return not isinstance(err, NetworkError)
        if sent is not None:
            self.board.posted(ticket.id, self.chat_id, sent.message_id, shown=ticket.updated_at)
        return True

    async def redraw(self, ticket: Ticket) -> bool:
        """Edit a card to show its ticket now; False when the Bot API could not be reached."""
        try:
            await self.bot.edit_message_text(self._text(ticket), chat_id=ticket.card_chat_id,
                                             message_id=ticket.card_message_id,
                                             reply_markup=keyboard(card_buttons(ticket)))
        except BadRequest as err:
            if "not modified" not in str(err).lower():
                logger.warning("card %s not redrawn: %s", ticket.id, err)
        except TelegramError as err:
            logger.log(quiet(err), "card %s not redrawn (%s); will retry", ticket.id, type(err).__name__)
            return not isinstance(err, NetworkError)
        self.board.drawn(ticket.id, shown=ticket.updated_at)
        return True

    def _text(self, ticket: Ticket) -> str:
        return self.render.card(ticket, self.log.messages(ticket.id, role="customer", limit=3), utcnow(),
                                self.log.triggers(ticket.id))
