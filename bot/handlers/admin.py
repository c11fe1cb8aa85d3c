"""The admins' side over Telegram: live phrase reloads, the hotspot map, export.

Only ``ADMIN_IDS`` may use ``/reload``, ``/stats [days]`` and ``/export [days]``;
anyone else gets a short refusal. A JobQueue tick also notices edited phrase
files by their modification times, reloads them, and tells every admin the
outcome. A broken edit never replaces the running phrase set.
"""

from __future__ import annotations

import html
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.admin.export import export_csv, zip_files
from bot.engine.store import EngineStore, ReloadOutcome
from bot.handlers.outbox import send
from bot.tickets.log import TicketLog
from bot.tickets.reports import Reports
from bot.tickets.schema import iso

logger = logging.getLogger(__name__)


def describe(outcome: ReloadOutcome) -> str:
    """A reload's outcome for admins: what changed, or every file:line problem."""
    if not outcome.ok:
        problems = "\n".join(html.escape(p) for p in outcome.problems[:40])
        more = f"\n……共 {len(outcome.problems)} 处" if len(outcome.problems) > 40 else ""
        return f"⛔ <b>短语文件有错误，没有重新加载</b>，机器人继续使用原来的词表：\n{problems}{more}"
    if not outcome.changes:
        return "✅ 短语文件已重新加载，条目数量没有变化。"
    changes = "\n".join(f"· {html.escape(name)}：{a} → {b}" for name, (a, b) in outcome.changes.items())
    return f"✅ 短语文件已重新加载：\n{changes}"


def _days(args: list[str], default: int = 7) -> int:
    try:
        return max(1, min(int(args[0]), 3650)) if args else default
    except ValueError:
        return default


class AdminHandlers:
    def __init__(self, store: EngineStore, log: TicketLog, admin_ids: frozenset[int], document_limit_mb: float = 50):
        self.store = store
        self.log = log
        self.admin_ids = admin_ids
        self.document_limit_mb = document_limit_mb      # Telegram takes files up to 50 MB from bots

    async def _admin_only(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        user = update.effective_user
        if user is not None and user.id in self.admin_ids:
            return True
        await send(context.bot, update.effective_chat.id, self.store.engine.phrases.texts.not_admin)
        return False

    async def reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reload: re-read PHRASES_DIR; on any error the running set stays."""
        if await self._admin_only(update, context):
            await send(context.bot, update.effective_chat.id, describe(self.store.reload()))

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats [days]: the complaint hotspot map, as text and a chart."""
        if not await self._admin_only(update, context):
            return
        from bot.admin.stats import compute, render_png, render_text     # matplotlib only when drawn

        figures = compute(Reports(self.log), self.store.engine, days=_days(context.args), now=self.log.now())
        await send(context.bot, update.effective_chat.id, render_text(figures))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "stats.png"
            render_png(figures, path)
            await context.bot.send_photo(update.effective_chat.id, photo=path.read_bytes(),
                                         caption=f"近 {figures.days} 天投诉热点")

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/export [days]: tickets.csv and messages.csv; zipped when one is over Telegram's document
        limit, and when even the zip is, the command to run on the server instead."""
        if not await self._admin_only(update, context):
            return
        days = _days(context.args, default=30)
        since = iso(self.log.now() - timedelta(days=days))
        chat_id = update.effective_chat.id
        limit = self.document_limit_mb * 1024 * 1024
        with tempfile.TemporaryDirectory() as tmp:
            files = export_csv(self.log, Path(tmp), since)
            if any(path.stat().st_size > limit for path in files):
                files = [zip_files(files, Path(tmp) / f"complaints-{since[:10]}.zip")]
            if files[0].stat().st_size > limit:
                size_mb = files[0].stat().st_size / (1024 * 1024)
                await send(context.bot, chat_id,
                           f"⚠️ 近 {days} 天的记录压缩后仍有 {size_mb:.1f} MB，超过 Telegram 的文件上限 "
                           f"{self.document_limit_mb:g} MB，没有发送。请缩短天数（例如 /export 7），"
                           f"或在服务器上运行：\n<code>complaint-bot export --since {since[:10]} --out exports/</code>")
                return
            for path in files:
                with path.open("rb") as document:
                    await context.bot.send_document(chat_id, document=document, filename=path.name,
                                                    caption=f"近 {days} 天：{path.name}")

    async def watch_phrases(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """JobQueue: reload edited phrase files by themselves and tell every admin."""
        if not self.store.changed_on_disk():
            return
        text = "📝 检测到短语文件有改动。\n" + describe(self.store.reload())
        for admin in sorted(self.admin_ids):
            try:
                await send(context.bot, admin, text)
            except TelegramError as err:
                logger.warning("could not tell admin %s about the reload: %s", admin, type(err).__name__)
