"""The agents' side over Telegram: ticket cards in the agent chat.

(The agents' desk issue adds claiming, suggestions, guarded replies and deadlines.)
"""

from __future__ import annotations

import logging

from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.cards import render_card
from bot.handlers.common import send
from bot.tickets import utcnow

logger = logging.getLogger(__name__)


async def post_card(application: Application, ticket_id: int) -> None:
    """Post a ticket's card to the agent chat and remember where it is (for later edits)."""
    svc = application.bot_data["services"]
    chat_id = svc.settings.agent_chat_id
    if chat_id is None:
        return
    log = svc.desk.log
    ticket = log.ticket(ticket_id)
    if ticket.card_message_id is not None:
        return
    text = render_card(ticket, log.messages(ticket_id, role="customer", limit=3), utcnow(),
                       log.emotion_triggers(ticket_id))
    try:
        sent = await send(application.bot, chat_id, text)
    except TelegramError as err:
        logger.warning("card for ticket %s not posted (%s); will retry", ticket_id, type(err).__name__)
        return
    if sent is not None:
        log.update_ticket(ticket_id, card_chat_id=chat_id, card_message_id=sent.message_id)


async def post_missing_cards(application: Application, limit: int = 3) -> None:
    """Cards for open tickets that have none yet (new tickets, or a crash before posting).

    At most ``limit`` per call, so a tick stays short under the group flood limit.
    """
    svc = application.bot_data["services"]
    async with svc.card_lock:
        for ticket in svc.desk.log.tickets_without_card()[:limit]:
            await post_card(application, ticket.id)


async def cards_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue: post missing ticket cards."""
    await post_missing_cards(context.application)
