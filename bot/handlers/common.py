"""What every handler needs: the shared services, and sending that never raises."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, ContextTypes

from bot.desk.agents import AgentDesk
from bot.desk.conversation import Desk
from bot.settings import Settings
from bot.engine.text import html_to_text as plain

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the handlers share; one instance in ``application.bot_data``."""

    settings: Settings
    desk: Desk
    agent_desk: AgentDesk
    card_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return services_of(context.application)


def services_of(application: Application) -> Services:
    return application.bot_data["services"]


async def send(bot: Bot, chat_id: int, text: str, **kwargs) -> Message | None:
    """Send HTML; on a markup error send it as plain text. Returns None when the chat is gone.

    Network errors propagate: the caller leaves the message unanswered and the retry
    job answers it later.
    """
    try:
        return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, **kwargs)
    except BadRequest as err:
        if "parse entities" in str(err).lower() or "can't parse" in str(err).lower():
            logger.warning("markup refused by Telegram, sending plain text: %s", err)
            return await bot.send_message(chat_id, plain(text), parse_mode=None, **kwargs)
        if "chat not found" in str(err).lower():
            logger.info("chat %s not found; nothing sent", chat_id)
            return None
        raise
    except Forbidden:
        logger.info("chat %s blocked the bot; nothing sent", chat_id)
        return None
