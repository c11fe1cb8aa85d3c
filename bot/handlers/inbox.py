"""The inbox: no update is confirmed to Telegram before it is on disk, and none stalls the rest.

python-telegram-bot confirms updates as soon as it has fetched them (its next
``getUpdates`` carries the new offset), while a burst may still wait in its
in-memory queue; a crash then would lose those messages. :class:`InboxBot` writes
every fetched batch to the ticket log's ``inbox`` table, raw, exactly as Telegram
sent it, before the batch reaches the updater, so an update is durable before it can
be confirmed. At start-up, updates never marked handled are put back in the queue;
an update that was already handled (Telegram re-delivered it) is skipped.

**Poison updates.** PTB turns a whole batch into ``Update`` objects at once; one that
does not parse (a field a newer Bot API, a proxy or a self-hosted server sends
differently) makes it log ``Error while parsing updates!`` and fetch the same batch
again, forever. Here each raw update is parsed on its own, at ``_do_post`` (the depth
PTB's own ExtBot overrides for its rate limiter, below ``get_updates``' ``de_list``);
one that fails is kept in the inbox with its error, left out of the batch, counted,
reported once to the admins, and confirmed like any other (the next offset passes
it). ``complaint-bot inbox --failed`` lists them; ``--replay`` hands them back for the
next start, after an upgrade.

**A locked ticket log.** When another program holds the log's lock longer than
``DATABASE_BUSY_SECONDS``, a batch that cannot be stored is not handed on and not
confirmed: Telegram keeps it and polling asks again (:class:`LockedLog` says so once).

**Outages.** When the Bot API cannot be reached, polling retries on its own; the
log says so once when it starts and once when it ends (:class:`Outage`), never once
per try. Polling retries every few seconds (at most :data:`RECONNECT_MAX_SECONDS`),
so the bot is back within seconds of the Bot API, whatever the outage's length.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, ExtBot

from bot.tickets.inbox import Inbox
from bot.tickets.log import is_busy

logger = logging.getLogger(__name__)

RECONNECT_MAX_SECONDS = 5.0


class Outage:
    """Whether the Bot API answers; one log line when it stops, one when it is back."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.failures = 0
        self.count = 0              # outages since start-up

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, endpoint: str, err: Exception) -> None:
        self.failures += 1
        if self.since is None:
            self.since = time.monotonic()
            self.count += 1
            logger.warning("Bot API unreachable (%s during %s); retrying quietly until it answers",
                           type(err).__name__, endpoint)

    def answered(self) -> None:
        if self.since is not None:
            logger.warning("Bot API reachable again after %.0f s (%d request(s) failed meanwhile); "
                           "sending what waited", time.monotonic() - self.since, self.failures)
            self.since = None
            self.failures = 0


class LockedLog:
    """Another program holds the ticket log's lock past ``DATABASE_BUSY_SECONDS``: said once when
    writes start giving up, once when the log is free again."""

    def __init__(self) -> None:
        self.since: float | None = None

    def waiting(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("ticket log locked by another program for longer than DATABASE_BUSY_SECONDS; "
                           "nothing is confirmed to Telegram or marked handled until it is free, then tried again")

    def free(self) -> None:
        if self.since is not None:
            logger.warning("ticket log free again after %.0f s", time.monotonic() - self.since)
            self.since = None


class InboxBot(ExtBot):
    """An ExtBot that stores each fetched batch raw before the updater sees it, parses each
    update on its own, and keeps polling through outages."""

    def __init__(self, *args, inbox: Inbox, admin_ids: frozenset[int] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self._inbox = inbox
        self._admin_ids = admin_ids
        self._next_offset = 0           # every update below this is stored: it may be confirmed
        self._outage = Outage()
        self._locked = LockedLog()
        self._poisoned = 0              # updates that did not parse, since start-up

    @property
    def outage(self) -> Outage:
        return self._outage

    @property
    def locked(self) -> LockedLog:
        return self._locked

    @property
    def poisoned(self) -> int:
        return self._poisoned

    async def get_updates(self, offset: int | None = None, limit: int | None = None, timeout: Any = None,
                          *args, **kwargs) -> tuple[Update, ...]:
        """Updates from Telegram. A long poll is retried here through an outage, every few
        seconds; a short poll (``timeout`` 0: the last confirmation at shutdown) tries once and,
        when the Bot API is unreachable, gives up quietly (PTB would log a traceback)."""
        delay = 0.5
        while True:
            if self._next_offset:
                # a poison update at the end of a batch is stored but was not handed on:
                # the updater's offset does not pass it, this does
                offset = max(offset or 0, self._next_offset)
            try:
                return await super().get_updates(offset, limit, timeout, *args, **kwargs)
            except NetworkError:
                # NetworkError (TimedOut included) is already logged once by Outage; PTB's
                # retry loop would log every try and wait up to 30 s between them
                if not timeout:
                    # the last confirmation at shutdown: without it Telegram delivers these updates
                    # again, and the inbox skips those already handled; nothing to retry or trace
                    logger.warning("could not confirm the last updates before stopping (Bot API "
                                   "unreachable); Telegram will deliver them again and handled ones are skipped")
                    return ()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _do_post(self, endpoint: str, data: dict[str, Any], **kwargs) -> Any:
        try:
            result = await super()._do_post(endpoint, data, **kwargs)
        except NetworkError as err:
            self._outage.failed(endpoint, err)
            raise
        except TelegramError:
            self._outage.answered()      # an answer, even a refusal, means Telegram is there
            raise
        self._outage.answered()
        if endpoint == "getUpdates" and result:
            result = self._keep_parseable(result)
        return result

    def _keep_parseable(self, batch: list[Any]) -> list[dict[str, Any]]:
        """Store the batch raw; return the updates that parse. Runs before anything is confirmed."""
        good: list[dict[str, Any]] = []
        failed: dict[int, str] = {}
        stored: list[dict[str, Any]] = []
        for raw in batch:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                # cannot be stored or confirmed by id; the offset still passes it
                logger.warning("update without an update_id dropped: %.200r", raw)
                self._poisoned += 1
                continue
            stored.append(raw)
            try:
                Update.de_json(raw, self)
            except Exception as exc:    # whatever PTB raises on data it does not expect
                failed[update_id] = f"{type(exc).__name__}: {exc}"
            else:
                good.append(raw)
        try:
            new_failures = self._inbox.store(stored, failed=failed)
        except Exception as err:
            if not is_busy(err):
                raise
            # not on disk, so not handed on and not confirmed: Telegram keeps the batch and the
            # updater asks again (each try waits up to DATABASE_BUSY_SECONDS for the lock)
            self._locked.waiting()
            return []
        self._locked.free()
        if stored:
            self._next_offset = max(self._next_offset, max(r["update_id"] for r in stored) + 1)
        for update_id in failed:
            self._poisoned += 1
            logger.warning("update %s cannot be parsed (%s); kept in the inbox and skipped "
                           "(complaint-bot inbox --failed)", update_id, failed[update_id][:300])
        if new_failures:
            asyncio.get_running_loop().create_task(self._report(new_failures, failed))
        return good

    async def _report(self, update_ids: list[int], errors: dict[int, str]) -> None:
        """Tell every admin once about updates that could not be read."""
        lines = "\n".join(f"· update {u}: {html.escape(errors.get(u, '')[:200])}" for u in update_ids[:10])
        text = (f"⚠️ 收到 {len(update_ids)} 条无法解析的 Telegram 更新，已原样保存，其他消息照常处理：\n{lines}\n"
                "查看：<code>complaint-bot inbox --failed</code>；升级后重放：<code>complaint-bot inbox --replay</code>")
        for admin in sorted(self._admin_ids):
            try:
                await self.send_message(admin, text)
            except TelegramError as err:
                logger.info("could not tell admin %s about unreadable updates: %s", admin, type(err).__name__)


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
        """Queue the updates a crash left unhandled (and those handed back by ``inbox --replay``);
        one that still does not parse is kept aside again. Returns how many were queued."""
        queued = 0
        for payload in self.inbox.unhandled():
            try:
                update = Update.de_json(payload, application.bot)
            except Exception as exc:
                self.inbox.store([payload], failed={payload["update_id"]: f"{type(exc).__name__}: {exc}"})
                logger.warning("update %s still cannot be parsed; kept in the inbox", payload["update_id"])
                continue
            await application.update_queue.put(update)
            queued += 1
        return queued
