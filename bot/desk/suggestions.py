"""Ready-to-send replies for agents, after FEEL and 3F (seed 003), offering 一修二换三退.

No Telegram here. Suggestions are built from the ticket (its topic, feeling,
category, demand and deadline) and the words of ``phrases/suggestions.yaml``;
each is checked by the guard, and one the guard would block is never offered::

    for s in suggest(engine, ticket, topic="发货", deadline="今天 15:30 前"):
        print(s.style, s.text)        # FEEL 您反映的发货的问题，我已经核实并记录下来了。…
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import zip_longest

from bot.engine.store import Engine
from bot.tickets.log import Ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    style: str          # "FEEL" or "3F"
    text: str


def render_all(engine: Engine, topic: str | None, emotion: str | None, category: str | None,
               demand: str | None, deadline: str) -> list[Suggestion]:
    """One suggestion per option (the category's, else the demand's, else default: 一修二换三退),
    alternating FEEL and 3F templates."""
    words = engine.phrases.suggestions
    options = words.options.get(category or "") or words.options.get(demand or "") or words.options["default"]
    explain = words.explain.get(category or "", words.explain["default"])
    focus = words.focus.get(demand or "", words.focus["default"])
    feeling = engine.phrases.emotions.emotions[emotion].feeling if emotion else "不方便"
    fact = f"{topic}的问题" if topic else "这个问题"
    # FEEL, 3F, FEEL, 3F …
    styles = [(style, t) for pair in zip_longest(words.feel, words.three_f)
              for style, t in zip(("FEEL", "3F"), pair) if t]
    rendered = []
    for i, option in enumerate(options):
        style, template = styles[i % len(styles)]
        rendered.append(Suggestion(style, template.format(
            fact=fact, feeling=feeling, explain=explain, focus=focus, option=option, deadline=deadline)))
    return rendered


def suggest(engine: Engine, ticket: Ticket, topic: str | None, deadline: str, limit: int = 3) -> list[Suggestion]:
    """Two or three suggestions for a ticket that pass the guard."""
    passed = []
    for suggestion in render_all(engine, topic, ticket.emotion, ticket.category, ticket.demand, deadline):
        if engine.guard.check(suggestion.text).ok:
            passed.append(suggestion)
        else:
            logger.warning("a suggestion template fails the guard and was not offered: %s", suggestion.text)
    return passed[:limit]
