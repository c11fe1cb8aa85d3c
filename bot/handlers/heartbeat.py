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
    """Beat as soon as the job queue runs, then every 30 s.

    APScheduler cannot start a repeating job "now" (PTB's docs say so), so the first beat is a
    one-off job due at build time, allowed to run late (start-up replays and answers first).
    """
    jobs, path = application.job_queue, settings.heartbeat_path
    jobs.run_once(beat, when=0, name="heartbeat-first", data=path, job_kwargs={"misfire_grace_time": None})
    jobs.run_repeating(beat, interval=HEARTBEAT_SECONDS, first=HEARTBEAT_SECONDS, name="heartbeat", data=path)
