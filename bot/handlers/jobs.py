"""Deadlines and follow-ups on PTB's JobQueue, re-armed from the ticket log at start-up.

Each open ticket without an answer gets two one-off jobs: a reminder in the agent
chat ``REMINDER_MINUTES`` before ``due_at`` and an escalation to supervisors at
``due_at``. Each resolved ticket gets a 回访 ``FOLLOWUP_HOURS`` after it was
resolved. The log is the truth: a job checks the ticket when it fires (answered
already? reminded already?), and :func:`arm_all` re-creates every job after a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram.ext import Application, ContextTypes

from bot.handlers.common import services, services_of
from bot.tickets.log import Ticket, parse_iso, utcnow

logger = logging.getLogger(__name__)


def _schedule(application: Application, name: str, when: datetime, callback, ticket_id: int) -> None:
    jobs = application.job_queue
    for job in jobs.get_jobs_by_name(name):
        job.schedule_removal()
    jobs.run_once(callback, when=max(when, utcnow() + timedelta(milliseconds=100)), data=ticket_id, name=name)


def arm(application: Application, ticket: Ticket) -> None:
    """The reminder and the escalation of one ticket's deadline (replacing earlier ones)."""
    if not ticket.is_open or ticket.first_response_at or not ticket.due_at:
        return
    settings = services_of(application).settings
    due = parse_iso(ticket.due_at)
    _schedule(application, f"remind-{ticket.id}", due - timedelta(minutes=settings.reminder_minutes),
              remind_job, ticket.id)
    _schedule(application, f"due-{ticket.id}", due, due_job, ticket.id)


def arm_followup(application: Application, ticket: Ticket) -> None:
    if ticket.status != "resolved" or not ticket.resolved_at:
        return
    hours = services_of(application).settings.followup_hours
    _schedule(application, f"followup-{ticket.id}", parse_iso(ticket.resolved_at) + timedelta(hours=hours),
              followup_job, ticket.id)


def arm_all(application: Application) -> int:
    """Re-create every deadline and follow-up job from the log; returns how many tickets."""
    log = services_of(application).desk.log
    waiting = log.awaiting_first_response()
    for ticket in waiting:
        arm(application, ticket)
    resolved = log.awaiting_followup()
    for ticket in resolved:
        arm_followup(application, ticket)
    return len(waiting) + len(resolved)


async def remind_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before the deadline: remind the agent chat."""
    await _run(context, services(context).agent_desk.remind(context.job.data))


async def due_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """At the deadline: escalate to supervisors."""
    await _run(context, services(context).agent_desk.overdue(context.job.data))


async def followup_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """回访: ask the customer whether all is still well."""
    await _run(context, services(context).agent_desk.followup(context.job.data))


async def _run(context: ContextTypes.DEFAULT_TYPE, action) -> None:
    from bot.handlers.agent import perform   # agent arms deadlines; importing it at the top would be circular

    if action.ok:
        await perform(context.application, action, None)
