"""Where each ticket's card stands in the agent chat, and which cards need drawing.

Only the Telegram edge's card job (:mod:`bot.handlers.cards`) uses it::

    board = CardBoard(log)
    board.without_card()                    # open tickets to post
    board.posted(ticket_id, chat_id, message_id, shown=ticket.updated_at)
    board.stale()                           # changed since last drawn
"""

from __future__ import annotations

from bot.tickets.log import TicketLog
from bot.tickets.schema import OPEN_STATUSES, Ticket


class CardBoard:
    def __init__(self, log: TicketLog):
        self.log = log

    def posted(self, ticket_id: int, chat_id: int, message_id: int, shown: str | None) -> None:
        """Where the ticket's card is; it shows the ticket as it was when ``updated_at`` was ``shown``.

        The version drawn, not the row as it is when the post returns: a change made while the
        card was on its way makes it stale, so it is redrawn.
        """
        with self.log.transaction():
            self.log.db.execute("update tickets set card_chat_id = ?, card_message_id = ?, card_updated_at = ? "
                                "where id = ?", [chat_id, message_id, shown, ticket_id])

    def drawn(self, ticket_id: int, shown: str | None) -> None:
        """The card shows the ticket as it was when ``updated_at`` was ``shown`` (a later change makes
        it stale again)."""
        with self.log.transaction():
            self.log.db.execute("update tickets set card_updated_at = ? where id = ?", [shown, ticket_id])

    def stale(self) -> list[Ticket]:
        """Tickets whose card was posted but changed since it was last drawn."""
        return self._tickets("select * from tickets where card_message_id is not null "
                             "and (card_updated_at is null or updated_at > card_updated_at) order by id")

    def without_card(self) -> list[Ticket]:
        return self._tickets("select * from tickets where card_message_id is null and status in (?, ?, ?) "
                             "order by id", list(OPEN_STATUSES))

    def ticket_at(self, chat_id: int, message_id: int) -> Ticket | None:
        found = self._tickets("select * from tickets where card_chat_id = ? and card_message_id = ?",
                              [chat_id, message_id])
        return found[0] if found else None

    def _tickets(self, sql: str, params: list | None = None) -> list[Ticket]:
        return [Ticket.from_row(r) for r in self.log.db.query(sql, params or [])]
