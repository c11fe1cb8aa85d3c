"""The one place where the desk is built: engine, ticket log, customer desk, agents' desk.

The Telegram bot, the console and the command line all start here, so they obey the
same rules with the same settings::

    services = Services.build(Settings())          # PhraseFileError if the phrases are broken
    services.desk.receive(Incoming(...))            # the customer's side
    services.agents.act("claim", 1, 5001, "小李")   # the agents' side
    services.close()
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.desk.agents import AgentDesk
from bot.desk.conversation import Desk
from bot.engine.store import EngineStore
from bot.settings import Settings
from bot.tickets.log import TicketLog


@dataclass
class Services:
    settings: Settings
    store: EngineStore
    log: TicketLog
    agents: AgentDesk
    desk: Desk

    @classmethod
    def build(cls, settings: Settings, *, staff_ids: frozenset[int] | None = None,
              log: TicketLog | None = None, store: EngineStore | None = None) -> "Services":
        """Everything from the settings; ``staff_ids`` overrides who may act (the console's agent)."""
        # the log first: a data folder the bot cannot use stops it before the engine is compiled
        log = log or TicketLog(settings.database_path, busy_seconds=settings.database_busy_seconds)
        store = store or EngineStore(settings.phrases_dir)
        agents = AgentDesk(
            store, log, staff_ids=settings.staff_ids if staff_ids is None else staff_ids,
            supervisor_ids=settings.supervisor_ids, manager_ids=settings.manager_ids or settings.admin_ids,
            admin_ids=settings.admin_ids, agent_chat_id=settings.agent_chat_id, zone=settings.zone,
            reminder_minutes=settings.reminder_minutes, followup_hours=settings.followup_hours,
        )
        desk = Desk(store, log, agents, sla_minutes=settings.sla_minutes)
        return cls(settings=settings, store=store, log=log, agents=agents, desk=desk)

    def close(self) -> None:
        self.log.close()
