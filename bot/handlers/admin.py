"""The admins' side over Telegram: live phrase reloads, the hotspot map, export.

Only ``ADMIN_IDS`` may use ``/reload``, ``/stats [days]`` and ``/export [days]``;
anyone else gets a short refusal. A JobQueue tick also notices edited phrase
files by their modification times, reloads them, and tells every admin the
outcome. A broken edit never replaces the running phrase set.
"""

from __future__ import annotations

import html
import io
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.engine.store import ReloadOutcome
from bot.admin.export import export_csv
from bot.handlers.common import send, services, services_of
from bot.admin.stats import compute, render_png, render_text
from bot.tickets.log import iso

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


async def _admin_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    svc = services(context)
    user = update.effective_user
    if user is not None and user.id in svc.settings.admin_ids:
        return True
    await send(context.bot, update.effective_chat.id, svc.desk.texts.not_admin)
    return False


def _days(args: list[str], default: int = 7) -> int:
    try:
        return max(1, min(int(args[0]), 3650)) if args else default
    except ValueError:
        return default


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: re-read PHRASES_DIR; on any error the running set stays."""
    if not await _admin_only(update, context):
        return
    outcome = services(context).desk.store.reload()
    await send(context.bot, update.effective_chat.id, describe(outcome))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [days]: the complaint hotspot map, as text and a chart."""
    if not await _admin_only(update, context):
        return
    svc = services(context)
    figures = compute(svc.desk.log, svc.desk.store.engine.analyzer, days=_days(context.args))
    await send(context.bot, update.effective_chat.id, render_text(figures))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.png"
        render_png(figures, path)
        await context.bot.send_photo(update.effective_chat.id, photo=path.read_bytes(),
                                     caption=f"近 {figures.days} 天投诉热点")


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export [days]: tickets.csv and messages.csv."""
    if not await _admin_only(update, context):
        return
    svc = services(context)
    days = _days(context.args, default=30)
    since = iso(svc.desk.log.now() - timedelta(days=days))
    with tempfile.TemporaryDirectory() as tmp:
        for path in export_csv(svc.desk.log, Path(tmp), since):
            await context.bot.send_document(update.effective_chat.id, document=io.BytesIO(path.read_bytes()),
                                            filename=path.name, caption=f"近 {days} 天：{path.name}")


async def watch_phrases(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue: reload edited phrase files by themselves and tell every admin."""
    await check_phrase_files(context.application)


async def check_phrase_files(application: Application) -> None:
    svc = services_of(application)
    store = svc.desk.store
    if not store.changed_on_disk():
        return
    outcome = store.reload()
    text = "📝 检测到短语文件有改动。\n" + describe(outcome)
    for admin in sorted(svc.settings.admin_ids):
        try:
            await send(application.bot, admin, text)
        except TelegramError as err:
            logger.warning("could not tell admin %s about the reload: %s", admin, type(err).__name__)
