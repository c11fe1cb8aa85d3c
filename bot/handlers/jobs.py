"""The desk's timers on PTB's JobQueue: reminders, deadline escalations, follow-ups.

The desk says *what* must happen *when* (:class:`~bot.desk.actions.Timer`); this module
only schedules it. The log is the truth: when a timer fires, the desk checks the ticket
again (answered already? reminded already?), and at start-up every timer the log calls
for is set again::

    timers = Timers(application.job_queue, fire)   # fire(timer) carries out the desk's answer
    timers.set(action.timers)
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Awaitable, Callable

from telegram.ext import ContextTypes, JobQueue

from bot.desk.actions import Timer
from bot.tickets.schema import utcnow

logger = logging.getLogger(__name__)


class Timers:
    def __init__(self, jobs: JobQueue, fire: Callable[[Timer], Awaitable[None]]):
        self.jobs = jobs
        self.fire = fire

    def set(self, timers: list[Timer]) -> None:
        """Schedule each timer, replacing an earlier one of the same kind for the same ticket."""
        for timer in timers:
            name = f"{timer.kind}-{timer.ticket_id}"
            for job in self.jobs.get_jobs_by_name(name):
                job.schedule_removal()
            when = max(timer.at, utcnow() + timedelta(milliseconds=100))
            self.jobs.run_once(self._run, when=when, data=timer, name=name)

    async def _run(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.fire(context.job.data)
