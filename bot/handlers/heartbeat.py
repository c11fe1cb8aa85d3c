"""The heartbeat: a JobQueue job touches a file beside the ticket log every 30 seconds.

A job that runs proves the event loop is alive and not stuck; ``complaint-bot health`` (the
container's healthcheck) reports the bot unhealthy when the file is older than ``--max-age``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from telegram.ext import Application, ContextTypes

from bot.settings import Settings

HEARTBEAT_SECONDS = 30
logger = logging.getLogger(__name__)


async def beat(context: ContextTypes.DEFAULT_TYPE) -> None:
    path: Path = context.job.data
    try:
        path.touch()
    except OSError as err:                 # a full or read-only disk shows up as unhealthy, never a crash
        logger.warning("heartbeat %s not written: %s", path, err)


def arm(application: Application, settings: Settings) -> None:
    application.job_queue.run_repeating(beat, interval=HEARTBEAT_SECONDS, first=0, name="heartbeat",
                                        data=settings.heartbeat_path)
