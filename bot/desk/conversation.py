"""The customer's conversation, after seed 003's 听-同-问-办-议-谢 (no Telegram here).

One customer message flows: log it and what was read in it (one transaction,
before anything else), keep the ticket current, compose the reply, and decide what
follows: a severe threat escalates at once, a new deadline sets its timers. The
Telegram handlers and the terminal console both drive a :class:`Desk` and carry out
its :class:`Outcome` the same way::

    desk = Desk(store, log, agents, sla_minutes=60)
    outcome = desk.receive(Incoming(update_id=1, chat_id=42, user_id=42,
                                    user_name="王女士", text="你们发货太慢了！"))
    outcome.replies[0].text     # empathy + ticket number + deadline + one open question
    outcome.actions, outcome.timers     # escalation to supervisors; reminder and deadline
    desk.replied(outcome.message_id, outcome.ticket.id, outcome.ticket.chat_id, outcome.replies)

Rules:
* 听: every message joins the customer's open ticket; one open ticket at a time.
* 同: the first reply to an upset customer answers the feeling first, in the
  customer's own words, never the same empathy sentence twice on a ticket.
* 问: then the ticket number, the deadline, and one open question.
* A neutral question gets a polite answer without a false apology.
* Later messages get short acknowledgements (a fresh empathy sentence when the
  customer grows more upset). Photos and documents are evidence; stickers, voice
  and the like get a polite request for words.
* 办: a threat to go to regulators, media or court (seed 002: 严重投诉) escalates the
  ticket to supervisors at once, quoting the customer's words.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

from bot.desk.actions import Action, Timer
from bot.desk.agents import AgentDesk
from bot.engine.analysis import Analysis
from bot.engine.phrases import EMOTIONS
from bot.engine.store import EngineStore
from bot.tickets.log import Reading, TicketLog
from bot.tickets.schema import Message, Ticket, parse_iso

logger = logging.getLogger(__name__)

TEXT_KINDS = frozenset({"text", "edited"})
EVIDENCE_KINDS = frozenset({"photo", "document", "video"})
LONG_MESSAGE = 1500


@dataclass(frozen=True)
class Incoming:
    """A customer's message as the desk sees it, whatever brought it."""

    update_id: int | None
    chat_id: int
    user_id: int
    user_name: str | None
    text: str = ""
    kind: str = "text"
    file_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the customer (HTML) and the template behind it."""

    text: str
    template: str | None = None


@dataclass(frozen=True)
class Outcome:
    ticket: Ticket
    message_id: int
    new_ticket: bool
    duplicate: bool
    replies: list[Reply] = field(default_factory=list)
    analysis: Analysis | None = None
    actions: list[Action] = field(default_factory=list)     # carried out after the replies
    timers: list[Timer] = field(default_factory=list)


class Desk:
    """The customer's side of the complaint desk."""

    def __init__(self, store: EngineStore, log: TicketLog, agents: AgentDesk, sla_minutes: float = 60):
        self.store = store
        self.log = log
        self.agents = agents
        self.sla_minutes = sla_minutes

    @property
    def texts(self):
        return self.store.engine.phrases.texts

    # ------------------------------------------------------------------ messages

    def receive(self, incoming: Incoming) -> Outcome:
        """Log, read and answer one customer message (the caller sends the replies).

        The message and what the analyser read in it are committed in one transaction,
        before any reply is composed; a reading that fails leaves the message logged, unread.
        """
        with self.log.transaction():
            logged = self.log.record_customer_message(
                update_id=incoming.update_id, chat_id=incoming.chat_id, user_id=incoming.user_id,
                user_name=incoming.user_name, text=incoming.text, kind=incoming.kind, file_id=incoming.file_id)
            if logged.duplicate:
                return Outcome(logged.ticket, logged.message.id, new_ticket=False, duplicate=True)
            analysis, changes = self._read(logged.message, logged.ticket)
        ticket = self.log.ticket(logged.ticket.id)
        replies = self._replies(logged.message, ticket, analysis, first=logged.new_ticket)
        return Outcome(ticket, logged.message.id, logged.new_ticket, False, replies, analysis,
                       *self._consequences(ticket, changes, logged.new_ticket))

    def _read(self, message: Message, ticket: Ticket) -> tuple[Analysis | None, dict]:
        """Analyse a logged message and store the reading; never loses the message to a bug."""
        try:
            analysis = self._analyze(message.kind, message.text)
            reading = self._reading(analysis, ticket)
            with self.log.transaction():            # a savepoint: a failure here keeps the message
                changes = self.log.apply_reading(message.id, ticket, reading) if reading is not None else {}
        except Exception:
            logger.exception("reading message %s failed; logged unread", message.id)
            return None, {}
        return analysis, changes

    def _read_only(self, message: Message) -> tuple[Analysis | None, dict]:
        try:
            return self._analyze(message.kind, message.text), {}
        except Exception:
            logger.exception("reading message %s failed", message.id)
            return None, {}

    def _consequences(self, ticket: Ticket, changes: dict, new_ticket: bool) -> tuple[list[Action], list[Timer]]:
        """What a message sets off besides its reply: deadline timers, an escalation when severe."""
        timers = self.agents.deadline_timers(ticket) if new_ticket or "due_at" in changes else []
        actions = []
        if changes.get("severe"):
            quote = self.log.severe_message(ticket.id)
            actions.append(self.agents.escalate(ticket.id, None, "客户提到监管部门、媒体或法律途径（严重投诉）",
                                                automatic=True, quote=quote.text if quote else None))
        return actions, timers

    def answer_again(self, message: Message) -> Outcome:
        """Compose the answer to a message that was logged but never answered (after a restart)."""
        ticket = self.log.ticket(message.ticket_id)
        analysis, changes = None, {}
        if message.emotion is None and ticket.due_at is None:
            analysis, changes = self._read(message, ticket)
            ticket = self.log.ticket(ticket.id)
        else:
            analysis, _ = self._read_only(message)
        earlier = [m for m in self.log.messages(ticket.id, role="customer") if m.id < message.id]
        replies = self._replies(message, ticket, analysis, first=not earlier)
        return Outcome(ticket, message.id, not earlier, False, replies, analysis,
                       *self._consequences(ticket, changes, new_ticket=False))

    def replied(self, message_id: int | None, ticket_id: int, chat_id: int, replies: list[Reply]) -> None:
        """Record what was sent; the customer's message counts as answered from now on."""
        for i, reply in enumerate(replies):
            self.log.record_bot_reply(message_id if i == 0 else None, ticket_id, chat_id, reply.text, reply.template)
        if not replies and message_id is not None:
            self.log.mark_answered(message_id)

    # ------------------------------------------------------------------ commands

    def greeting(self, name: str | None) -> str:
        who = f" {html.escape(name)}" if name else ""
        return self.texts.greeting.format(name=who, minutes=minutes_text(self.sla_minutes))

    def help(self) -> str:
        return self.texts.help.format(minutes=minutes_text(self.sla_minutes))

    def status(self, user_id: int) -> str:
        """The customer's own tickets; never anyone else's."""
        tickets = self.log.tickets_for(user_id)
        if not tickets:
            return self.texts.status_none
        lines = [self.texts.status_header]
        for t in tickets:
            lines.append(
                self.texts.status_line.format(
                    ticket=t.id,
                    status=self.texts.status_names.get(t.status, t.status),
                    created=parse_iso(t.created_at).strftime("%m-%d %H:%M"),
                    category=html.escape(t.category or "未分类"),
                )
            )
        return "\n".join(lines)

    def new(self, user_id: int) -> str:
        """``/new``: a new ticket starts once the open one is resolved."""
        open_ticket = self.log.open_ticket_for(user_id)
        if open_ticket is not None:
            return self.texts.new_ticket_busy.format(ticket=open_ticket.id)
        return self.texts.new_ticket

    # ------------------------------------------------------------------ rules

    def _analyze(self, kind: str, text: str) -> Analysis | None:
        """Read text messages and the captions of photos and documents."""
        if (kind in TEXT_KINDS or kind in EVIDENCE_KINDS) and text.strip():
            return self.store.engine.analyzer.analyze(text)
        return None

    def _reading(self, analysis: Analysis | None, ticket: Ticket) -> Reading | None:
        """What the log keeps of an analysis (the deadline is set even when nothing was read)."""
        if analysis is None:
            if ticket.due_at is not None:
                return None
            return Reading(None, 0, False, None, None, {}, self.sla_minutes)
        return Reading(
            emotion=analysis.emotion,
            intensity=analysis.intensity,
            severe=analysis.severe,
            category=analysis.category,
            demand=analysis.demand,
            triggers=analysis.triggers,
            sla_minutes=self.sla_for(analysis.category or ticket.category),
        )

    def sla_for(self, category: str | None) -> float:
        """Minutes to answer: the category's own deadline (改单: 10) or the default."""
        for cat in self.store.engine.phrases.categories.categories:
            if cat.name == category and cat.sla_minutes:
                return min(cat.sla_minutes, self.sla_minutes)
        return self.sla_minutes

    def _replies(self, message: Message, ticket: Ticket, analysis: Analysis | None, first: bool) -> list[Reply]:
        texts = self.texts
        minutes = minutes_text(ticket.sla_minutes or self.sla_minutes)
        if message.kind not in TEXT_KINDS and message.kind not in EVIDENCE_KINDS:
            return [Reply(texts.needs_words, "needs_words")]
        if message.kind in EVIDENCE_KINDS and analysis is None:
            lines = [texts.evidence_received.format(ticket=ticket.id)]
            if first:
                lines.append(texts.ticket_opened.format(ticket=ticket.id, minutes=minutes))
            return [Reply("\n".join(lines), "evidence")]
        if analysis is None and not message.text.strip():
            return [Reply(texts.empty_message, "empty")]
        if analysis is None:                        # the reader failed: never call a real message empty
            template, text = self._acknowledgement(ticket.id, self.log.templates_used(ticket.id))
            return [Reply(text, template)]

        used = self.log.templates_used(ticket.id)
        lines: list[str] = []
        template = None
        if first:
            if analysis.negative:
                empathy = self.store.engine.analyzer.empathy(analysis, avoid=used)
                lines.append(html.escape(empathy.text))
                template = empathy.key
                lines.append(texts.ticket_opened.format(ticket=ticket.id, minutes=minutes))
                lines.append(texts.open_questions[ticket.id % len(texts.open_questions)])
            else:
                lines.append(texts.neutral_reply.format(ticket=ticket.id, minutes=minutes))
                template = "neutral"
        elif analysis.negative and self._grew_more_upset(analysis, ticket, used):
            empathy = self.store.engine.analyzer.empathy(analysis, avoid=used)
            lines.append(html.escape(empathy.text))
            template = empathy.key
        else:
            template, text = self._acknowledgement(ticket.id, used)
            lines.append(text)
        if len(message.text) > LONG_MESSAGE:
            lines.append(texts.too_long.format(limit=LONG_MESSAGE))
        if message.kind in EVIDENCE_KINDS:
            lines.append(texts.evidence_received.format(ticket=ticket.id))
        return [Reply("\n".join(lines), template)]

    @staticmethod
    def _grew_more_upset(analysis: Analysis, ticket: Ticket, used: list[str]) -> bool:
        """A later message earns a fresh empathy sentence when it is strong or severe,
        and the bot has not just answered with empathy."""
        last = used[-1] if used else ""
        just_empathised = last.split(".")[0] in EMOTIONS
        return (analysis.intensity >= 2 or analysis.severe) and not just_empathised

    def _acknowledgement(self, ticket_id: int, used: list[str]) -> tuple[str, str]:
        """A short acknowledgement (key, text), never the one used last on this ticket."""
        options = self.texts.acknowledgements
        last = used[-1] if used else None
        count = sum(1 for u in used if u.startswith("ack."))
        for step in range(len(options)):
            index = (ticket_id + count + step) % len(options)
            if f"ack.{index}" != last:
                break
        return f"ack.{index}", options[index].format(ticket=ticket_id)


def minutes_text(minutes: float) -> str:
    """60.0 -> "60", 0.5 -> "0.5": how a deadline reads in a sentence."""
    return str(int(minutes)) if float(minutes).is_integer() else f"{minutes:g}"
