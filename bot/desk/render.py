"""Everything agents and supervisors read, as Telegram HTML; no Telegram here.

Every word a customer wrote is HTML-escaped, and a card always fits one message.
Emotion names come from ``emotions.yaml`` (``label``), so an admin's edit shows on
the next card::

    render = Render(store, zone=ZoneInfo("Asia/Shanghai"))
    render.card(ticket, log.messages(ticket.id, role="customer", limit=3), now, triggers)
    render.hits(guard.check("这是公司的规定"))      # ⛔ 「这是公司的规定」— 第 8 句 … 为什么 … 可以这样说 …
    html_to_text(render.card(...))                   # what the console prints
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.engine.guard import CheckResult, Hit
from bot.engine.store import EngineStore
from bot.engine.text import clean_for_display
from bot.tickets.schema import Message, Ticket, parse_iso

INTENSITY_LABELS = {0: "平静", 1: "一般", 2: "强烈"}
STATUS_LABELS = {"open": "待处理", "in_progress": "处理中", "escalated": "已升级", "resolved": "已解决", "closed": "已关闭"}
LEVEL_NAMES = {0: "客服", 1: "主管", 2: "经理"}
MESSAGE_LIMIT = 4096          # Telegram's longest message, in characters of text
QUOTE_LIMIT = 600
REASON_LIMIT = 300          # an agent's escalation reason, as supervisors read it
TEXT_KINDS = frozenset({"text", "edited"})
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def html_to_text(text: str) -> str:
    """Telegram HTML to plain text (tags dropped, entities decoded), for the console and fallbacks."""
    return html.unescape(_TAG.sub("", text))


def escape(text: str | None, limit: int = 0) -> str:
    return html.escape(clean_for_display(text or "", limit))


def fits_one_message(text: str) -> bool:
    return len(html_to_text(text)) <= MESSAGE_LIMIT


class Render:
    """Agent-facing texts, drawn with the phrase set in use."""

    def __init__(self, store: EngineStore, zone: ZoneInfo = ZoneInfo("Asia/Shanghai")):
        self.store = store
        self.zone = zone

    def emotion(self, name: str | None, none: str = "未识别") -> str:
        emotions = self.store.engine.phrases.emotions.emotions
        return emotions[name].label if name in emotions else none

    def status(self, ticket: Ticket) -> str:
        return STATUS_LABELS.get(ticket.status, ticket.status)

    # ------------------------------------------------------------------ time

    def deadline(self, ticket: Ticket, now: datetime) -> str:
        """⏰15:30（剩 48 分钟）, or how late it is."""
        if not ticket.due_at:
            return ""
        due = parse_iso(ticket.due_at)
        left = int((due - now).total_seconds() // 60)
        clock = due.astimezone(self.zone).strftime("%H:%M")
        return f"⏰{clock}（剩 {left} 分钟）" if left >= 0 else f"⏰{clock}（已超时 {-left} 分钟）"

    def promise(self, ticket: Ticket, now: datetime) -> str:
        """The deadline as a customer reads it in a suggestion: 今天 15:30 前."""
        if not ticket.due_at:
            return "今天之内"
        due = parse_iso(ticket.due_at).astimezone(self.zone)
        today = now.astimezone(self.zone).date()
        day = ("今天" if due.date() == today else "明天" if due.date() == today + timedelta(days=1)
               else due.strftime("%m 月 %d 日"))
        return f"{day} {due.strftime('%H:%M')} 前"

    # ------------------------------------------------------------------ cards and lists

    def card(self, ticket: Ticket, messages: list[Message], now: datetime, triggers: list[str] = ()) -> str:
        """The card for one ticket: who, how upset and why, what about, by when, what they said."""
        severe = "⚠️ <b>严重投诉</b>（已提及监管/媒体/法律）" if ticket.severe else "一般"
        lines = [
            f"🎫 <b>{ticket.id} 号工单</b> · {self.status(ticket)}",
            f"客户：{escape(ticket.user_name or '客户', 64)}（id {ticket.user_id}）",
            f"情绪：{self.emotion(ticket.emotion)}（{INTENSITY_LABELS.get(ticket.intensity or 0, '')}）"
            + (f" ← {escape('、'.join(triggers), 200)}" if triggers else ""),
            f"分类：{escape(ticket.category or '未分类')} · 诉求：{escape(ticket.demand or '未识别')}",
            f"级别：{severe}",
        ]
        if ticket.due_at:
            lines.append("时限：" + self.deadline(ticket, now).lstrip("⏰"))
        lines += ["", "<b>客户说：</b>"]
        body = [self._said(m) for m in messages]
        text = "\n".join(lines + body)
        while not fits_one_message(text) and body:
            body.pop(0)
            text = "\n".join(lines + ["…"] + body)
        return text[:MESSAGE_LIMIT]

    @staticmethod
    def _said(message: Message) -> str:
        if message.kind in TEXT_KINDS:
            return f"· {escape(message.text, QUOTE_LIMIT)}"
        return f"· [{message.kind}] {escape(message.text or '', QUOTE_LIMIT)}".rstrip()

    def ticket_list(self, tickets: list[Ticket], now: datetime, limit: int = 30) -> str:
        """/tickets: open tickets, the most urgent deadline first."""
        if not tickets:
            return "目前没有待处理的工单。"
        lines = [f"<b>待处理工单（{len(tickets)}）</b>，按时限排列："]
        for t in tickets[:limit]:
            who = f"，认领：{t.agent_id}" if t.agent_id else ""
            lines.append(f"· <b>{t.id}</b> {self.deadline(t, now)} {self.emotion(t.emotion, '平静')}"
                         f"{' ⚠️严重' if t.severe else ''} {escape(t.category or '未分类', 32)} {escape(t.user_name, 32)}"
                         f"（{self.status(t)}{who}）")
        while not fits_one_message("\n".join(lines) + "\n……还有 9999 张") and len(lines) > 1:
            lines.pop()
        if len(tickets) > len(lines) - 1:
            lines.append(f"……还有 {len(tickets) - (len(lines) - 1)} 张")
        return "\n".join(lines)

    def alert(self, ticket: Ticket, level: int, reason: str, quote: str | None, now: datetime) -> str:
        """What supervisors (and managers) read when a ticket is escalated; quotes the customer's words."""
        lines = [f"🚨 <b>{ticket.id} 号工单升级到{LEVEL_NAMES[level]}</b>" + (f"：{escape(reason, REASON_LIMIT)}" if reason else ""),
                 f"客户：{escape(ticket.user_name)}；情绪：{self.emotion(ticket.emotion)}"
                 f"（{INTENSITY_LABELS.get(ticket.intensity or 0, '')}）" + ("；⚠️ 严重投诉" if ticket.severe else "")]
        if quote:
            lines.append(f"客户原话：「{escape(quote, 300)}」")
        lines.append(self.deadline(ticket, now))
        return "\n".join(line for line in lines if line)

    # ------------------------------------------------------------------ the guard

    def hits(self, result: CheckResult) -> str:
        """What the guard caught, the seed's reason, and better words (for the agent)."""
        return "\n\n".join([_hit(h, "⛔") for h in result.violations] + [_hit(h, "⚠️") for h in result.warnings])

    def verdict(self, result: CheckResult) -> str:
        """/check: the guard's decision on a sentence, explained."""
        if result.decision == "pass":
            return "✅ 可以发送：没有发现不该说的话。"
        head = "⛔ 不能发送：" if result.decision == "block" else "⚠️ 可以发送，但需要确认（点「仍然发送」）："
        return head + "\n\n" + self.hits(result)


def _hit(hit: Hit, mark: str) -> str:
    which = f"第 {hit.id} 句" if isinstance(hit.id, int) else "负面语言"
    why = hit.why.replace(hit.reason, "").rstrip("：:，, ") if hit.reason else hit.why    # the harm follows anyway
    return (f"{mark} 「{html.escape(hit.match)}」— {which}「{html.escape(hit.phrase)}」\n"
            + (f"判断依据：{html.escape(why)}\n" if why else "")
            + f"为什么：{html.escape(hit.reason)}\n可以这样说：{html.escape(hit.suggestion)}")
