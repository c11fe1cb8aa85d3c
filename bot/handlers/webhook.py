"""Webhook mode: Telegram posts each update to ``WEBHOOK_URL``; PTB's ``run_webhook`` serves it.

The same promise as polling: nothing Telegram was told arrived is lost. PTB's webhook handler
checks the ``X-Telegram-Bot-Api-Secret-Token`` header (403 without the right one), parses the
update and awaits ``update_queue.put(update)`` *before* it answers 200. The application's
queue here is a :class:`StoringQueue`, whose ``put`` writes the update to the inbox (FULL sync)
first, so an update is on disk before Telegram hears it arrived; if the bot dies before handling
it, it is replayed at start-up like a polled one (:class:`bot.handlers.inbox.InboxGate`). If
storing fails, the request gets 500 and Telegram delivers the update again later.

Polling stores at ``getUpdates`` (:class:`bot.handlers.inbox.InboxBot`); a handler (even in
group -2) would run only after the HTTP answer, too late.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application

from bot.settings import Settings
from bot.tickets.inbox import Inbox


class StoringQueue(asyncio.Queue):
    """The application's update queue: an update is stored in the inbox before it is queued."""

    def __init__(self, inbox: Inbox):
        super().__init__()
        self._inbox = inbox

    async def put(self, item: Any) -> None:
        if isinstance(item, Update):
            # raises on a full disk or a locked log: PTB then answers 500 and Telegram retries
            self._inbox.store([item.to_dict()])
        await super().put(item)


def url_path(settings: Settings) -> str:
    """The path PTB serves: WEBHOOK_URL's own path (a TLS proxy forwards it unchanged)."""
    return urlparse(settings.webhook_url).path.strip("/")


def run_webhook(application: Application, settings: Settings) -> None:
    """Serve WEBHOOK_LISTEN:WEBHOOK_PORT until SIGINT/SIGTERM; PTB sets the webhook at start-up."""
    application.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=url_path(settings),
        webhook_url=settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=Update.ALL_TYPES,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        bootstrap_retries=-1,
    )
