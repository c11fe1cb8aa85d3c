"""The ticket card agents see: plain text rendering, no Telegram here.

A card must fit one Telegram message (4,096 characters) and every word a customer
wrote is HTML-escaped, because the card is sent with HTML parse mode::

    text = render_card(ticket, log.messages(ticket.id, role="customer", limit=3), now=utcnow())
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.tickets.log import Message, Ticket, parse_iso
from bot.engine.text import clean_for_display

EMOTION_LABELS = {"anger": "愤怒", "anxiety": "焦急", "disappointment": "失望", "dissatisfaction": "不满"}
INTENSITY_LABELS = {0: "平静", 1: "一般", 2: "强烈"}
STATUS_LABELS = {"open": "待处理", "in_progress": "处理中", "escalated": "已升级", "resolved": "已解决", "closed": "已关闭"}
CARD_LIMIT = 4096
MESSAGE_LIMIT = 600


def _escape(text: str | None, limit: int = 0) -> str:
    return html.escape(clean_for_display(text or "", limit))


def render_card(ticket: Ticket, messages: list[Message], now: datetime, triggers: list[str] = (),
                zone: ZoneInfo = ZoneInfo("Asia/Shanghai")) -> str:
    """The card for one ticket: who, how upset and why, what about, by when, what they said."""
    emotion = EMOTION_LABELS.get(ticket.emotion or "", "未识别")
    intensity = INTENSITY_LABELS.get(ticket.intensity or 0, "")
    severe = "⚠️ <b>严重投诉</b>（已提及监管/媒体/法律）" if ticket.severe else "一般"
    header = f"🎫 <b>{ticket.id} 号工单</b> · {STATUS_LABELS.get(ticket.status, ticket.status)}"
    customer = _escape(ticket.user_name or "客户", 64)
    lines = [
        header,
        f"客户：{customer}（id {ticket.user_id}）",
        f"情绪：{emotion}（{intensity}）" + (f" ← {_escape('、'.join(triggers), 200)}" if triggers else ""),
        f"分类：{_escape(ticket.category or '未分类')} · 诉求：{_escape(ticket.demand or '未识别')}",
        f"级别：{severe}",
    ]
    if ticket.due_at:
        due = parse_iso(ticket.due_at)
        left = int((due - now).total_seconds() // 60)
        when = due.astimezone(zone).strftime("%H:%M")
        lines.append(f"时限：{when}（{'剩 ' + str(left) + ' 分钟' if left >= 0 else '已超时 ' + str(-left) + ' 分钟'}）")
    lines.append("")
    lines.append("<b>客户说：</b>")
    body: list[str] = []
    for m in messages:
        what = m.text if m.kind in ("text", "edited") or m.text else f"[{m.kind}]"
        prefix = "" if m.kind in ("text", "edited") else f"[{m.kind}] "
        body.append(f"· {prefix}{_escape(what, MESSAGE_LIMIT)}")
    text = "\n".join(lines + body)
    while len(text) > CARD_LIMIT and body:
        body.pop(0)
        text = "\n".join(lines + ["…"] + body)
    return text[:CARD_LIMIT]
