"""What the desk decides, as plain data that Telegram and the console carry out.

No Telegram here. An :class:`Action` says what to tell the person who acted, which
messages to deliver to whom (with buttons as data), and which timers to set; button
data is written and read only here::

    Action(ok=True, notice="✋ 小李认领了 3 号工单。", ticket=ticket)
    Delivery(chat_id=42, text="…", buttons=[[("5 分", callback("rate", 3, 5))]])
    Timer("due", ticket_id=3, at=datetime(...))          # escalate at the deadline
    parse_callback("rate:3:5")                           # ("rate", [3, 5])

:data:`VERBS` is the one table of what agents can do to a ticket by number; the
Telegram commands and buttons and the console's commands all go through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.tickets.schema import Ticket

Buttons = list[list[tuple[str, str]]]          # rows of (label, callback data)
TimerKind = Literal["remind", "due", "followup"]

# verb -> usage shown when the ticket number is missing ("reply" also needs text)
VERBS: dict[str, str] = {
    "claim": "/claim 工单号",
    "reply": "/reply 工单号 回复内容",
    "suggest": "/suggest 工单号",
    "resolve": "/resolve 工单号 [处理结果]",
    "escalate": "/escalate 工单号 [原因]",
    "send": "/send 草稿号",
    "cancel": "/cancel 草稿号",
}
CUSTOMER_VERBS = frozenset({"rate"})


@dataclass(frozen=True)
class Delivery:
    """A message to send: to a customer, a supervisor, or the agent chat."""

    chat_id: int
    text: str
    buttons: Buttons | None = None


@dataclass(frozen=True)
class Timer:
    """Something the desk must do later: remind before a deadline, escalate at it, follow up."""

    kind: TimerKind
    ticket_id: int
    at: datetime


@dataclass(frozen=True)
class Action:
    ok: bool
    notice: str = ""                                  # to the person who acted (HTML)
    notice_buttons: Buttons | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    ticket: Ticket | None = None
    timers: list[Timer] = field(default_factory=list)
    first_response: bool = False                       # this reply was the ticket's first answer
    draft_id: int | None = None                        # the agent message a reply delivers


def callback(verb: str, *numbers: int) -> str:
    """Button data: ``verb:1`` or ``rate:3:5``."""
    return ":".join([verb, *map(str, numbers)])


def parse_callback(data: str | None) -> tuple[str, list[int]] | None:
    """``("claim", [3])`` from ``claim:3``; None for data this bot never wrote."""
    verb, *parts = (data or "").split(":")
    if verb not in VERBS and verb not in CUSTOMER_VERBS:
        return None
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return None
    wanted = 2 if verb == "rate" else 1
    if len(numbers) != wanted or any(n < 0 or n > 2**53 for n in numbers):
        return None
    return verb, numbers


def ticket_number(text: str) -> int | None:
    """``12``, ``#12`` or ``＃12`` as a ticket or draft number; None otherwise."""
    text = text.strip().lstrip("#＃")
    if not text.isdigit() or not text.isascii() or len(text) > 15:
        return None
    return int(text)
