"""The agents' desk: claim, guarded replies, suggestions, escalation, closing, rating.

No Telegram here: every action returns an :class:`Action` saying what to tell the
agent who acted, which messages to deliver to whom (buttons as plain data), and
which timers to set. Only staff (``AGENT_IDS`` and ``SUPERVISOR_IDS``) may act;
anyone else gets a refusal and nothing changes::

    desk = AgentDesk(store, log, staff_ids=frozenset({5001}), supervisor_ids=frozenset({6001}))
    action = desk.reply(ticket_id=1, agent_id=5001, agent_name="小李", text="这是公司的规定")
    action.ok, action.notice          # False, "⛔ 没有发送 …「这是公司的规定」… 为什么 … 可以这样说 …"
    action.deliveries                 # [] : a blocked draft never reaches the customer
    desk.act("claim", 1, 5001, "小李")  # the one verb table behind commands, buttons and the console

Rules from the seeds: answer within the deadline (seed 004: 1 hour, 改单 10 minutes);
escalate severe complaints at once (seed 002: 严重投诉/公关危机, 必要时请上级领导参与)
through three levels (seed 003: 三级道歉 — 0 agent, 1 supervisor, 2 manager); close
with seed 000's three sentences, a 1–5 rating and a follow-up (回访, seed 002).
"""

from __future__ import annotations

import html
import json
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.desk.actions import Action, Buttons, Delivery, Timer, callback
from bot.desk.render import STATUS_LABELS, LEVEL_NAMES, Render, fits_one_message
from bot.desk.suggestions import suggest
from bot.engine.guard import CheckResult
from bot.engine.store import EngineStore
from bot.tickets.log import TicketLog
from bot.tickets.schema import OPEN_STATUSES, Message, Ticket, iso, parse_iso

logger = logging.getLogger(__name__)


def card_buttons(ticket: Ticket) -> Buttons:
    """The inline buttons under a ticket's card."""
    if ticket.status not in OPEN_STATUSES:
        return []
    return [[("认领", callback("claim", ticket.id)), ("回复建议", callback("suggest", ticket.id))],
            [("升级", callback("escalate", ticket.id)), ("解决", callback("resolve", ticket.id))]]


def rating_buttons(ticket_id: int) -> Buttons:
    return [[(f"{n} 分", callback("rate", ticket_id, n)) for n in range(1, 6)]]


class AgentDesk:
    """Everything agents and supervisors do to tickets."""

    def __init__(self, store: EngineStore, log: TicketLog, *, staff_ids: frozenset[int],
                 supervisor_ids: frozenset[int], manager_ids: frozenset[int] = frozenset(),
                 admin_ids: frozenset[int] = frozenset(), agent_chat_id: int | None = None,
                 zone: ZoneInfo = ZoneInfo("Asia/Shanghai"), reminder_minutes: float = 10,
                 followup_hours: float = 24):
        self.store = store
        self.log = log
        self.staff_ids = staff_ids
        self.supervisor_ids = supervisor_ids
        self.manager_ids = manager_ids
        self.admin_ids = admin_ids
        self.agent_chat_id = agent_chat_id
        self.render = Render(store, zone)
        self.reminder_minutes = reminder_minutes
        self.followup_hours = followup_hours

    @property
    def texts(self):
        return self.store.engine.phrases.texts

    def is_staff(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.staff_ids

    def refuse(self) -> Action:
        return Action(False, self.texts.not_staff)

    # ------------------------------------------------------------------ reading

    def tickets(self) -> str:
        """/tickets: open tickets, the most urgent deadline first."""
        return self.render.ticket_list(self.log.open_tickets(), self.log.now())

    def check(self, text: str) -> str:
        """/check: what the guard says about a sentence, without sending anything."""
        return self.render.verdict(self.store.engine.guard.check(text))

    def may_check(self, user_id: int | None) -> bool:
        """Staff and admins may use /check."""
        return self.is_staff(user_id) or (user_id is not None and user_id in self.admin_ids)

    # ------------------------------------------------------------------ acting

    def _ticket(self, ticket_id: int) -> Ticket | None:
        return self.log.find_ticket(ticket_id)

    def act(self, verb: str, number: int, agent_id: int | None, agent_name: str | None, rest: str = "") -> Action:
        """One verb of :data:`bot.desk.actions.VERBS` on ticket (or draft) ``number``."""
        verbs = {
            "claim": lambda: self.claim(number, agent_id, agent_name),
            "reply": lambda: self.reply(number, agent_id, agent_name, rest),
            "suggest": lambda: self.suggest(number, agent_id),
            "resolve": lambda: self.resolve(number, agent_id, rest),
            "escalate": lambda: self.escalate(number, agent_id, rest),
            "send": lambda: self.send_draft(number, agent_id, agent_name),
            "cancel": lambda: self.cancel_draft(number, agent_id),
        }
        if verb not in verbs:
            return Action(False, "这个按钮已经失效了。")
        return verbs[verb]()

    def claim(self, ticket_id: int, agent_id: int, agent_name: str | None) -> Action:
        """/claim N: the ticket is yours; its status becomes in_progress."""
        if not self.is_staff(agent_id):
            return self.refuse()
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open:
            return Action(False, f"找不到待处理的 {ticket_id} 号工单。")
        status = "in_progress" if ticket.status == "open" else ticket.status
        with self.log.transaction():
            ticket = self.log.update_ticket(ticket.id, agent_id=agent_id, status=status)
            self.log.add_event(ticket.id, "claimed", agent_id, {"by": agent_name})
        return Action(True, f"✋ {html.escape(agent_name or str(agent_id))} 认领了 {ticket.id} 号工单。", ticket=ticket)

    def reply(self, ticket_id: int, agent_id: int, agent_name: str | None, text: str) -> Action:
        """/reply N text (or a reply to the card): the guard decides what reaches the customer."""
        if not self.is_staff(agent_id):
            return self.refuse()
        ticket = self._ticket(ticket_id)
        if ticket is None:
            return Action(False, f"找不到 {ticket_id} 号工单。")
        if not ticket.is_open:
            return Action(False, f"{ticket.id} 号工单已经{STATUS_LABELS.get(ticket.status)}，不能再回复。")
        if not text.strip():
            return Action(False, "回复内容是空的。用法：/reply 工单号 回复内容")
        result = self.store.engine.guard.check(text)
        if result.decision == "block":
            return self._blocked(ticket, agent_id, text, result)
        if result.decision == "confirm":
            return self._to_confirm(ticket, agent_id, text, result)
        draft = self.log.record_agent_message(ticket.id, agent_id, text, "pending")
        return self._send_draft(draft, agent_id, agent_name)

    def _blocked(self, ticket: Ticket, agent_id: int, text: str, result: CheckResult) -> Action:
        """A block-tier draft is logged and explained; a rewrite the guard passes is one tap away."""
        with self.log.transaction():
            self.log.record_agent_message(ticket.id, agent_id, text, "blocked", [v.to_dict() for v in result.violations])
            self.log.add_event(ticket.id, "blocked", agent_id, {"ids": [v.id for v in result.violations]})
            offer = self._rewrite_offer(ticket, agent_id, text)
        notice = self._fitted("⛔ <b>没有发送</b>：草稿里有不该说的话。\n\n", result, offer[0])
        return Action(False, notice, notice_buttons=offer[1], ticket=ticket)

    def _to_confirm(self, ticket: Ticket, agent_id: int, text: str, result: CheckResult) -> Action:
        """A confirm-tier draft waits for the agent's 仍然发送 (logged as an override)."""
        with self.log.transaction():
            draft = self.log.record_agent_message(ticket.id, agent_id, text, "pending",
                                                  [w.to_dict() for w in result.warnings])
            self.log.add_event(ticket.id, "warned", agent_id, {"ids": [w.id for w in result.warnings]})
            offer = self._rewrite_offer(ticket, agent_id, text)
        buttons = [[("仍然发送", callback("send", draft)), ("取消", callback("cancel", draft))]] + (offer[1] or [])
        notice = self._fitted("⚠️ <b>还没有发送</b>：这句话可能让客户不舒服，请确认后再发。\n\n", result, offer[0])
        return Action(False, notice, notice_buttons=buttons, ticket=ticket)

    def _fitted(self, head: str, result: CheckResult, offer: str) -> str:
        """The guard's explanation and the rewrite, shortened to fit one Telegram message."""
        for text in (head + self.render.hits(result) + offer, head + self.render.hits(result),
                     head + "草稿太长，说明放不下；请用 /check 分段检查。"):
            if fits_one_message(text):
                return text
        return head

    def _rewrite_offer(self, ticket: Ticket, agent_id: int, text: str) -> tuple[str, Buttons | None]:
        """The guard's rewrite of a draft, kept as a suggestion with a send button (only if it passes)."""
        rewritten = self.store.engine.guard.rewrite(text)
        if not rewritten or self.store.engine.guard.check(rewritten).decision != "pass":
            return "", None
        draft = self.log.record_agent_message(ticket.id, agent_id, rewritten, "suggestion")
        return f"\n\n✏️ 可以改成：{html.escape(rewritten)}", [[("发送改写", callback("send", draft))]]

    def suggest(self, ticket_id: int, agent_id: int) -> Action:
        """/suggest N: two or three ready replies (FEEL, 3F), each one tap from the customer."""
        if not self.is_staff(agent_id):
            return self.refuse()
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open:
            return Action(False, f"找不到待处理的 {ticket_id} 号工单。")
        first = next((m for m in self.log.messages(ticket.id, role="customer") if m.text.strip()), None)
        topic = self.store.engine.analyzer.analyze(first.text).topic if first else None
        suggestions = suggest(self.store.engine, ticket, topic, self.render.promise(ticket, self.log.now()))
        lines = [f"💡 <b>{ticket.id} 号工单的回复建议</b>（点按钮直接发给客户）："]
        buttons: Buttons = []
        with self.log.transaction():
            for i, s in enumerate(suggestions, 1):
                draft = self.log.record_agent_message(ticket.id, agent_id, s.text, "suggestion")
                lines.append(f"{i}. [{s.style}] {html.escape(s.text)}")
                buttons.append([(f"发送第 {i} 条（{s.style}）", callback("send", draft))])
            self.log.add_event(ticket.id, "suggested", agent_id, {"count": len(suggestions)})
        return Action(True, "\n\n".join(lines), notice_buttons=buttons, ticket=ticket)

    def send_draft(self, draft_id: int, agent_id: int, agent_name: str | None) -> Action:
        """A tap on 仍然发送 or on a suggestion: send that exact text."""
        if not self.is_staff(agent_id):
            return self.refuse()
        return self._send_draft(draft_id, agent_id, agent_name)

    def cancel_draft(self, draft_id: int, agent_id: int) -> Action:
        if not self.is_staff(agent_id):
            return self.refuse()
        draft = self._unsent_draft(draft_id)
        if isinstance(draft, Action):
            return draft
        self.log.set_state(draft_id, "cancelled")
        return Action(True, "已取消，草稿没有发送。")

    def _unsent_draft(self, draft_id: int) -> Message | Action:
        """A draft still waiting to be sent, or the refusal to show instead."""
        try:
            draft = self.log.message(draft_id)
        except KeyError:
            return Action(False, "找不到这条草稿。")
        if draft.role != "agent" or draft.state not in ("pending", "suggestion"):
            return Action(False, "这条草稿已经处理过了。")
        return draft

    def _send_draft(self, draft_id: int, agent_id: int, agent_name: str | None) -> Action:
        draft = self._unsent_draft(draft_id)
        if isinstance(draft, Action):
            return draft
        ticket = self.log.ticket(draft.ticket_id)
        if not ticket.is_open:
            return Action(False, f"{ticket.id} 号工单已经{STATUS_LABELS.get(ticket.status)}，不能再回复。")
        # the guard runs again: the phrase files may have changed since the draft was made
        result = self.store.engine.guard.check(draft.text)
        if result.decision == "block":
            return Action(False, "⛔ 没有发送：按现在的规则，这条草稿里有不该说的话。")
        if result.decision == "confirm" and draft.state == "suggestion":      # one tap must not skip a confirm
            self.log.set_state(draft.id, "cancelled")
            return self._to_confirm(ticket, agent_id, draft.text, result)
        name = html.escape(agent_name or "客服")
        text = self.texts.agent_reply.format(agent=name, ticket=ticket.id, text=html.escape(draft.text))
        if not fits_one_message(text):
            self.log.set_state(draft.id, "cancelled")
            return Action(False, f"没有发送：回复太长（{len(draft.text)} 字），Telegram 一条消息最多 4096 字，"
                                 "请分成几条发送。")
        first_response = ticket.first_response_at is None
        with self.log.transaction():
            self.log.set_state(draft.id, "sent")
            ticket = self.log.update_ticket(ticket.id, **self._answered(ticket, agent_id))
            if draft.state == "pending" and draft.violations:      # the agent confirmed a confirm-tier draft
                warned = [w["id"] for w in json.loads(draft.violations)]
                self.log.add_event(ticket.id, "override", agent_id, {"message_id": draft.id, "ids": warned})
            self.log.add_event(ticket.id, "replied", agent_id, {"message_id": draft.id})
        return Action(True, f"✅ 已发给 {ticket.id} 号工单的客户。", deliveries=[Delivery(ticket.chat_id, text)],
                      ticket=ticket, first_response=first_response, draft_id=draft.id)

    def _answered(self, ticket: Ticket, agent_id: int) -> dict:
        """What a delivered reply changes: the first answer's time, 处理中, the agent if none yet."""
        changes: dict = {}
        if ticket.first_response_at is None:
            changes["first_response_at"] = iso(self.log.now())
        if ticket.status == "open":
            changes["status"] = "in_progress"
        if ticket.agent_id is None:
            changes["agent_id"] = agent_id
        return changes

    def undelivered(self, sent: Action) -> Action:
        """The reply in ``sent`` never reached the customer (blocked bot, network): undo it.

        The draft is pending again (one tap sends it), and a first answer that did not
        arrive does not count: the deadline still stands.
        """
        draft = self.log.message(sent.draft_id)
        with self.log.transaction():
            self.log.set_state(draft.id, "pending")
            if sent.first_response:
                self.log.update_ticket(draft.ticket_id, first_response_at=None)
            self.log.add_event(draft.ticket_id, "undelivered", draft.user_id, {"message_id": draft.id})
        return Action(False, f"⚠️ <b>没有送达客户</b>（{draft.ticket_id} 号工单）：网络出了问题，或者客户屏蔽了机器人。"
                             "草稿已保留，可以重新发送。",
                      notice_buttons=[[("重新发送", callback("send", draft.id))]], ticket=self.log.ticket(draft.ticket_id))

    def resolve(self, ticket_id: int, agent_id: int, summary: str = "") -> Action:
        """/resolve N [summary]: the three closing sentences, then a 1–5 rating."""
        if not self.is_staff(agent_id):
            return self.refuse()
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open:
            return Action(False, f"找不到待处理的 {ticket_id} 号工单。")
        with self.log.transaction():
            ticket = self.log.update_ticket(ticket.id, status="resolved", resolved_at=iso(self.log.now()),
                                            summary=summary or None)
            self.log.add_event(ticket.id, "resolved", agent_id, {"summary": summary} if summary else None)
        closing = "\n".join(line.format(ticket=ticket.id) for line in self.texts.closing)
        return Action(
            True, f"✅ {ticket.id} 号工单已解决，已向客户致歉致谢并请客户评分。",
            deliveries=[Delivery(ticket.chat_id, closing),
                        Delivery(ticket.chat_id, self.texts.rating_request, rating_buttons(ticket.id))],
            ticket=ticket, timers=self.followup_timers(ticket),
        )

    def escalate(self, ticket_id: int, actor_id: int | None, reason: str = "", automatic: bool = False,
                 quote: str | None = None) -> Action:
        """/escalate N [reason], a severe complaint, or a missed deadline: one level up.

        Level 1 tells every supervisor privately; level 2 (manager) also tells the managers.
        ``quote`` is the customer's own words that made the ticket severe.
        """
        if not automatic and not self.is_staff(actor_id):
            return self.refuse()
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open:
            return Action(False, f"找不到待处理的 {ticket_id} 号工单。")
        level = min((ticket.escalation_level or 0) + 1, 2)
        with self.log.transaction():
            ticket = self.log.update_ticket(ticket.id, status="escalated", escalation_level=level)
            self.log.add_event(ticket.id, "escalated", actor_id, {"level": level, "reason": reason or None})
        text = self.render.alert(ticket, level, reason, quote, self.log.now())
        recipients = sorted(self.supervisor_ids | (self.manager_ids if level >= 2 else frozenset()))
        deliveries = [Delivery(uid, text) for uid in recipients]
        if self.agent_chat_id is not None:
            deliveries.append(Delivery(self.agent_chat_id, text))
        return Action(True, f"🚨 {ticket.id} 号工单已升级到{LEVEL_NAMES[level]}。", deliveries=deliveries, ticket=ticket)

    # ------------------------------------------------------------------ customers and time

    def rate(self, ticket_id: int, user_id: int, rating: int) -> Action:
        """A customer's tap on 1–5: only the ticket's own customer, once per tap, 1–5 only."""
        ticket = self._ticket(ticket_id)
        if ticket is None or ticket.user_id != user_id:
            return Action(False, self.texts.rating_not_yours)
        if not 1 <= rating <= 5 or ticket.is_open:           # a rating belongs to a resolved ticket
            return Action(False, self.texts.rating_not_now)
        with self.log.transaction():
            ticket = self.log.update_ticket(ticket.id, rating=rating)
            self.log.add_event(ticket.id, "rated", user_id, {"rating": rating})
        return Action(True, self.texts.rating_thanks.format(rating=rating), ticket=ticket)

    def remind(self, ticket_id: int) -> Action:
        """Before the deadline: remind the agent chat (once, and only if nobody answered yet)."""
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open or ticket.first_response_at or self.log.has_event(ticket.id, "reminded"):
            return Action(False)
        self.log.add_event(ticket.id, "reminded", None)
        text = f"⏰ <b>{ticket.id} 号工单</b>还没有答复客户，{self.render.deadline(ticket, self.log.now())}。"
        deliveries = [Delivery(self.agent_chat_id, text)] if self.agent_chat_id is not None else []
        return Action(True, deliveries=deliveries, ticket=ticket)

    def overdue(self, ticket_id: int) -> Action:
        """After the deadline: escalate (once, and only if nobody answered)."""
        ticket = self._ticket(ticket_id)
        if ticket is None or not ticket.is_open or ticket.first_response_at or self.log.has_event(ticket.id, "overdue"):
            return Action(False)
        with self.log.transaction():            # the escalation and its reason stand or fall together
            self.log.add_event(ticket.id, "overdue", None)
            return self.escalate(ticket.id, None, "超过答复时限，客户还没有得到答复", automatic=True)

    def followup(self, ticket_id: int) -> Action:
        """回访: ask the customer whether all is still well; the ticket is then closed."""
        ticket = self._ticket(ticket_id)
        if ticket is None or ticket.status != "resolved" or self.log.has_event(ticket.id, "followup"):
            return Action(False)
        with self.log.transaction():
            self.log.add_event(ticket.id, "followup", None)
            ticket = self.log.update_ticket(ticket.id, status="closed")
        return Action(True, deliveries=[Delivery(ticket.chat_id, self.texts.followup.format(ticket=ticket.id))],
                      ticket=ticket)

    def fire(self, timer: Timer) -> Action:
        """A timer's time has come: remind, escalate, or follow up (each checks the log first)."""
        return {"remind": self.remind, "due": self.overdue, "followup": self.followup}[timer.kind](timer.ticket_id)

    # ------------------------------------------------------------------ timers

    def deadline_timers(self, ticket: Ticket) -> list[Timer]:
        """The reminder before an unanswered ticket's deadline, and the escalation at it."""
        if not ticket.is_open or ticket.first_response_at or not ticket.due_at:
            return []
        due = parse_iso(ticket.due_at)
        return [Timer("remind", ticket.id, due - timedelta(minutes=self.reminder_minutes)),
                Timer("due", ticket.id, due)]

    def followup_timers(self, ticket: Ticket) -> list[Timer]:
        """The 回访 some hours after a ticket was resolved."""
        if ticket.status != "resolved" or not ticket.resolved_at:
            return []
        return [Timer("followup", ticket.id, parse_iso(ticket.resolved_at) + timedelta(hours=self.followup_hours))]

    def pending_timers(self) -> list[Timer]:
        """Every timer the log calls for (set again at start-up)."""
        timers = [t for ticket in self.log.awaiting_first_response() for t in self.deadline_timers(ticket)]
        return timers + [t for ticket in self.log.awaiting_followup() for t in self.followup_timers(ticket)]
