"""The inbox: no update is confirmed to Telegram before it is on disk.

python-telegram-bot confirms updates as soon as it has fetched them (its next
``getUpdates`` carries the new offset), while a burst may still wait in its
in-memory queue; a crash then would lose those messages. :class:`InboxBot` writes
every fetched batch to the ticket log's ``inbox`` table inside ``get_updates``,
before returning it, so an update is durable before it can be confirmed. At
start-up, updates never marked handled are put back in the queue; an update that
was already handled (Telegram re-delivered it) is skipped.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, ExtBot

from bot.tickets.inbox import Inbox

logger = logging.getLogger(__name__)


class InboxBot(ExtBot):
    """An ExtBot whose ``get_updates`` stores each batch before handing it to the updater."""

    def __init__(self, *args, inbox: Inbox, admin_ids: frozenset[int] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self._inbox = inbox

    async def get_updates(self, *args, **kwargs) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if updates:
            self._inbox.store([u.to_dict() for u in updates])
        return updates


class InboxGate:
    """The first and last handler groups, and the start-up replay, over the inbox table."""

    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def skip_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """First handler group: an update handled before (re-delivered, or replayed) stops here."""
        if self.inbox.is_handled(update.update_id):
            logger.info("update %s was handled before; skipped", update.update_id)
            raise ApplicationHandlerStop

    async def mark_handled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Last handler group: the update is done."""
        self.inbox.mark_handled(update.update_id)

    async def replay_unhandled(self, application: Application) -> int:
        """Queue the updates a crash left unhandled; returns how many."""
        payloads = self.inbox.unhandled()
        for payload in payloads:
            await application.update_queue.put(Update.de_json(payload, application.bot))
        return len(payloads)
