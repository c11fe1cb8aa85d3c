"""The forbidden-phrase guard: no sentence from 十句不该说的话 reaches a customer.

No Telegram here. A :class:`Guard` compiles ``forbidden.yaml`` once; checking a
draft is a handful of regex searches plus a fuzzy pass on the few variants that
share enough of the draft's characters::

    guard = Guard(load_phrases(Path("phrases")).forbidden)
    result = guard.check("這是公司的規定。")
    result.ok                        # False
    result.violations[0].id          # 8
    result.violations[0].span        # (0, 7): indexes the original text

Four ways a rule can match, each mapped back to the original text:

* ``variants``: exact, on the draft with spaces, symbols and punctuation removed
  and Traditional folded to Simplified, so ``规 定 如 此`` and ``這是公司的規定`` match;
* ``patterns``: regexes on the same text with clause breaks kept as ``|``;
* fuzzy: a variant of ``min_length`` or more characters with up to ``max_typos``
  typos, where a replaced character must sound like the one it replaces
  (规订/规定, 在/再, 那种活/那种话) so that a different word (今天/改天) is no typo;
* ``allow``: a hit inside one of the rule's good-sentence regexes does not count.

Above the words, two layers read the draft as discourse (all data in ``forbidden.yaml``):

* ``intents``: per sentence, rules at the level of what the agent does (sends the customer
  elsewhere, blames the price, refuses without an alternative, promises contact with no
  time …), each with a ``name``, a ``why`` and a ``tier``: ``block`` or ``confirm``;
* ``discourse``: clause structure that changes what a hit means. A hit inside quotes
  (「」“”) is a mention, not a use; a colleague's words reported and then disowned with an
  apology do not count; and a rule's ``redeem`` list lets a later clause redeem it: an
  ``alternative`` (没办法在线改，不过我可以…), a concrete ``action`` with a time or a named
  person (虽然不归我负责，但我已经转给王经理，他下午三点前回电), a clarifying ``question``,
  or a specific ``time`` in the same sentence.

Three decisions: ``block`` (a block-tier hit: ``violations``), ``confirm`` (only
confirm-tier hits: ``warnings``, sent after the agent's tap) and ``pass``. A learned
character n-gram model (:mod:`bot.engine.learned`), when ``decision.model`` names one,
only moves a draft between tiers: pass→confirm at ``model_confirm``, confirm→block at
``model_block``. Every hit says which ``rule`` fired and ``why``::

    result = guard.check("理解您着急，但真的没办法，系统不支持。")
    result.decision                  # 'block'
    result.violations[0].rule        # 'pattern'
    guard.rewrite("您去找厂家吧，其他的我帮您登记。")   # the clause replaced by a better sentence
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from bisect import bisect_right
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

# pypinyin's phrase dictionary (~45 MB, 0.1 s) only improves readings of whole words; the guard
# asks about single characters, whose readings are the same without it (pypinyin's documented
# switches; tests/test_lean.py compares every character). pypinyin itself (~13 MB) is imported
# by the first fuzzy comparison (:func:`_sound`), which most drafts never reach.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.engine.learned import LinearModel
from bot.engine.phrases import ForbiddenFile, Intent, Rule, expand_macros
from bot.engine.text import CLAUSE_BREAKS, Normalized, compact, normalize


NEGATIONS = frozenset("不没无未别非否莫勿")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One forbidden (or warn-tier) phrase found in a draft."""

    id: int | str
    phrase: str
    match: str
    start: int
    end: int
    score: float
    suggestion: str
    reason: str
    better: list[str]
    how: str
    rule: str = ""          # what fired: variant, pattern, fuzzy, intent:<name>, model
    why: str = ""           # why it fired, in words an agent reads
    tier: str = "block"     # block (a violation) or confirm (a warning)

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """The ``check`` contract: ``ok`` is False when any hit blocks the draft.

    ``decision`` is ``block`` (violations), ``confirm`` (warnings only: the agent taps
    仍然发送 to send) or ``pass``; ``model`` is the learned model's P(forbidden), if any.
    """

    text: str
    violations: list[Hit] = field(default_factory=list)
    warnings: list[Hit] = field(default_factory=list)
    decision: str = ""
    model: float | None = None

    def __post_init__(self) -> None:
        if not self.decision:
            object.__setattr__(self, "decision",
                               "block" if self.violations else "confirm" if self.warnings else "pass")

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "ok": self.ok,
            "decision": self.decision,
            "violations": [v.to_dict() for v in self.violations],
            "warnings": [w.to_dict() for w in self.warnings],
            "model": self.model,       # the learned model's P(forbidden), or None when it was not asked
        }


@lru_cache(maxsize=4096)
def _sound(ch: str) -> tuple[str, str]:
    """(initial, final) of a character's pinyin, tones dropped; non-Chinese maps to itself."""
    from pypinyin import Style, lazy_pinyin       # cached per character: imported once, when first needed

    initial = lazy_pinyin(ch, style=Style.INITIALS, strict=False)[0]
    final = lazy_pinyin(ch, style=Style.FINALS, strict=False)[0]
    return initial, final


def sounds_alike(a: str, b: str) -> bool:
    """A plausible input-method typo: same pinyin initial or same final (订/定, 话/活)."""
    if a == b:
        return True
    (ia, fa), (ib, fb) = _sound(a), _sound(b)
    if fa == a or fb == b:          # not Chinese: no sound to compare
        return False
    return (ia and ia == ib) or fa == fb


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


@dataclass(frozen=True)
class _Intent:
    intent: Intent
    patterns: re.Pattern
    requires: tuple[re.Pattern, ...]
    unless: re.Pattern | None


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    tier: str
    exact: re.Pattern | None
    patterns: re.Pattern | None
    allow: re.Pattern | None
    fuzzy: tuple[tuple[str, frozenset[str]], ...]
    intents: tuple[_Intent, ...] = ()


class _AnyOf:
    """Several regexes searched one by one: each keeps the regex engine's own first-character
    shortcut, which one big ``(?:a)|(?:b)`` alternation loses (about half the time on long drafts)."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: list[str]):
        self.patterns = tuple(re.compile(p) for p in dict.fromkeys(patterns))

    def finditer(self, text: str):
        for pattern in self.patterns:
            yield from pattern.finditer(text)

    def search(self, text: str):
        for pattern in self.patterns:
            m = pattern.search(text)
            if m is not None:
                return m
        return None


def _alternation(items: list[str], escape: bool) -> re.Pattern | _AnyOf | None:
    items = [i for i in items if i]
    if not items:
        return None
    if escape:
        items = sorted({re.escape(i) for i in items}, key=len, reverse=True)
        return re.compile("|".join(items))
    return _AnyOf(items)


# Characters that end a sentence (clause breaks that are not: ，、：); as typed and after NFKC.
SENTENCE_ENDS = frozenset("。！？!?；;\n．")
QUESTION_MARKS = frozenset("？?")
REWRITE_MAX_CHARS = 4096
PUNCTUATION = " \t\n,.!?;:、。，！？；：…~～"
REDEEM_WHY = {
    "alternative": "后面给了替代办法",
    "action": "后面有具体的行动（时间或负责人）",
    "question": "后面是澄清式提问",
    "time": "同一句里有具体时间",
}


class _Context:
    """A draft's clause structure, computed once and only when some rule has a candidate hit."""

    def __init__(self, guard: "Guard", clauses: Normalized):
        self.guard = guard
        self.clauses = clauses
        text = clauses.text
        original = clauses.original
        # sentences in clause coordinates: split at breaks that stand for 。！？； or a newline
        starts = [0]
        for i, ch in enumerate(text):
            if ch == "|" and original[clauses.index[i]] in SENTENCE_ENDS:
                starts.append(i + 1)
        self.starts = starts
        self.ends = starts[1:] + [len(text)]
        self._cues: dict[str, list[tuple[int, int]]] = {}
        self._quotes: list[tuple[int, int]] | None = None
        self._positions: dict[int, int] | None = None

    def sentence(self, pos: int) -> int:
        return max(0, bisect_right(self.starts, pos) - 1)

    def sentence_text(self, k: int) -> str:
        return self.clauses.text[self.starts[k]:self.ends[k]]

    def position(self, original_index: int) -> int:
        """Clause-text position of an original index (every kept character is in both)."""
        if self._positions is None:
            self._positions = {o: i for i, o in enumerate(self.clauses.index)}
        return self._positions.get(original_index, 0)

    def cues(self, name: str) -> list[tuple[int, int]]:
        if name not in self._cues:
            pattern = self.guard._discourse.get(name)
            self._cues[name] = [m.span() for m in pattern.finditer(self.clauses.text)] if pattern else []
        return self._cues[name]

    def quotes(self) -> list[tuple[int, int]]:
        """Spans of quoted text in the original (inside 「」, “”, ‘’, "" …)."""
        if self._quotes is None:
            spans = []
            original = self.clauses.original
            for pair in self.guard._quote_pairs:
                opener, closer = pair[0], pair[1]
                i = original.find(opener)
                while i >= 0:
                    j = original.find(closer, i + 1)
                    if j < 0:
                        break
                    spans.append((i, j))
                    i = original.find(opener, j + 1)
            self._quotes = spans
        return self._quotes

    def excuse(self, rule: Rule, start: int, end: int) -> str | None:
        """Why a candidate at clause positions [start, end) does not count, or None."""
        o_start, o_end = self.clauses.span(start, end)
        if any(a < o_start and o_end <= b + 1 for a, b in self.quotes()):
            return "quote"
        k = self.sentence(start)
        s_start = self.starts[k]
        if any(s_start <= a and b <= start + 1 for a, b in self.cues("report")) and any(
            a >= end for a, _ in self.cues("disown")
        ):
            return "colleague"
        if not rule.redeem:
            return None
        # the window a redemption may sit in: the rest of this sentence and the next one,
        # up to a change of topic (另外, 至于 …)
        w_end = self.ends[min(k + 1, len(self.ends) - 1)]
        for a, _ in self.cues("topic_shift"):
            if end <= a < w_end:
                w_end = a
                break

        def after(name: str) -> bool:
            return any(end <= a < w_end for a, _ in self.cues(name))

        for kind in rule.redeem:
            if kind == "alternative" and after("alternative"):
                return kind
            if kind == "action" and after("action") and (after("time") or after("person")):
                return kind
            if kind == "question" and (after("question") or self._question_mark(end, w_end)):
                return kind
            if kind == "time" and any(s_start <= a < self.ends[k] for a, _ in self.cues("time")):
                return kind
        return None

    def _question_mark(self, start: int, end: int) -> bool:
        if start >= len(self.clauses.index):
            return False
        o_start = self.clauses.index[start]
        o_end = self.clauses.index[end - 1] + 2 if end > 0 else o_start
        return any(ch in QUESTION_MARKS for ch in self.clauses.original[o_start:o_end])


SHIPPED = object()      # Guard(model=...) default: the model named in forbidden.yaml, if any


class Guard:
    """Checks agents' drafts against ``forbidden.yaml``; compiled once per phrase set."""

    def __init__(self, forbidden: ForbiddenFile, model: LinearModel | None | object = SHIPPED):
        """``model``: the phrase set's own learned model by default, another one, or None for rules only."""
        self.settings = forbidden.fuzzy
        self.decision = forbidden.decision
        self.model = forbidden.learned if model is SHIPPED else model
        macros = forbidden.macros
        self._quote_pairs = tuple(forbidden.discourse.quotes)
        self._discourse = {
            name: _alternation([expand_macros(x, macros) for x in patterns], escape=False)
            for name, patterns in forbidden.discourse
            if name != "quotes"
        }
        self._rules: list[_Compiled] = []
        self._by_id: dict[str, Rule] = {}
        for tier, rules in (("forbidden", forbidden.forbidden), ("warn", forbidden.warn)):
            for rule in rules:
                self._by_id[str(rule.id)] = rule
                variants = [compact(normalize(v)).text for v in rule.variants]
                fuzzy = tuple(
                    (v, _bigrams(v))
                    for v in dict.fromkeys(variants)
                    if rule.fuzzy and len(v) >= self.settings.min_length
                )
                intents = tuple(
                    _Intent(
                        intent=intent,
                        patterns=_alternation([expand_macros(x, macros) for x in intent.patterns], escape=False),
                        requires=tuple(re.compile(expand_macros(x, macros)) for x in intent.requires),
                        unless=_alternation([expand_macros(x, macros) for x in intent.unless], escape=False),
                    )
                    for intent in rule.intents
                )
                self._rules.append(
                    _Compiled(
                        rule=rule,
                        tier=tier,
                        exact=_alternation(variants, escape=True),
                        patterns=_alternation([expand_macros(x, macros) for x in rule.patterns], escape=False),
                        allow=_alternation([expand_macros(x, macros) for x in rule.allow], escape=False),
                        fuzzy=fuzzy,
                        intents=intents,
                    )
                )

    def check(self, text: str) -> CheckResult:
        """Every forbidden and warn-tier phrase in ``text``, and the decision. Never raises on any string.

        Should anything inside fail all the same, the draft is not waved through: the result
        is ``confirm`` with no hits (the agent decides) and the error is logged.
        """
        try:
            return self._check(text)
        except Exception:       # noqa: BLE001 - a guard that raises would stop the agent's reply
            logger.exception("guard failed on a draft; asking the agent to confirm")
            return CheckResult(text=text, decision="confirm")

    def _check(self, text: str) -> CheckResult:
        norm = normalize(text)
        dense = compact(norm)
        clauses = compact(norm, breaks=True)
        dense_bigrams = _bigrams(dense.text)
        context: list[_Context] = []          # built on the first candidate hit
        violations: list[Hit] = []
        warnings: list[Hit] = []
        for compiled in self._rules:
            for hit in self._rule_hits(compiled, text, dense, clauses, dense_bigrams, context):
                (violations if hit.tier == "block" else warnings).append(hit)
        violations.sort(key=lambda h: (h.start, str(h.id)))
        warnings = [
            w for w in sorted(warnings, key=lambda h: (h.start, str(h.id)))
            if not any(w.start < v.end and v.start < w.end for v in violations)
        ]
        if self.model is None or not (
            self.decision.model_min_chars <= len(clauses.text) <= self.decision.model_max_chars
        ):   # the model speaks only on drafts of the lengths it learned from
            return CheckResult(text=text, violations=violations, warnings=warnings)
        return self._second_opinion(text, clauses, violations, warnings)

    # ------------------------------------------------------------ the learned second opinion

    def _second_opinion(self, text: str, clauses: Normalized, violations: list[Hit], warnings: list[Hit]) -> CheckResult:
        """Let the model move the draft one tier: pass→confirm, confirm→block, and intent-only block→confirm."""
        score = self.model.score(self._unquoted(clauses))
        p = score.forbidden
        if violations and p < self.decision.model_release and all(v.rule.startswith("intent:") for v in violations):
            released = [replace(v, tier="confirm", why=f"{v.why}；但模型认为整稿不太像不该说的话（{p:.0%}），请您确认")
                        for v in violations]
            warnings = sorted(released + warnings, key=lambda h: (h.start, str(h.id)))
            violations = []
        elif not violations and warnings and p >= self.decision.model_block:
            promoted = [replace(w, tier="block", why=f"{w.why}；模型也认为这稿很像不该说的话（{p:.0%}）")
                        for w in warnings if not str(w.id).startswith("w")]
            violations = promoted or [self._model_hit(text, clauses, score, "block")]
            warnings = [w for w in warnings if str(w.id).startswith("w")]
        elif not violations and not warnings and p >= self.decision.model_confirm:
            warnings = [self._model_hit(text, clauses, score, "confirm")]
        return CheckResult(text=text, violations=violations, warnings=warnings, model=round(p, 3))

    def _unquoted(self, clauses: Normalized) -> str:
        """The clause text without quoted passages: a phrase quoted to reject it is no evidence."""
        original = clauses.original
        if not any(pair[0] in original for pair in self._quote_pairs):
            return clauses.text
        spans = _Context(self, clauses).quotes()
        return "".join(ch for ch, o in zip(clauses.text, clauses.index) if not any(a < o < b for a, b in spans))

    def _model_hit(self, text: str, clauses: Normalized, score, tier: str) -> Hit:
        """A hit for the model's reading, on the sentence that sounds most like the sentence it names."""
        rule = self._by_id.get(score.label) or self._by_id[str(self._rules[0].rule.id)]
        pieces = [(a, b) for a, b in _spans(clauses.text) if b > a]
        start, end = max(pieces, key=lambda ab: self.model.score(clauses.text[ab[0]:ab[1]]).forbidden,
                         default=(0, len(clauses.text)))
        o_start, o_end = clauses.span(start, end) if end > start else (0, len(text))
        grams = "、".join(f"「{g}」" for g in score.grams) or "整句的说法"
        return Hit(
            id=rule.id, phrase=rule.phrase, match=text[o_start:o_end], start=o_start, end=o_end,
            score=round(100 * score.forbidden, 1), suggestion=rule.better[0], reason=rule.harm,
            better=list(rule.better), how="model", rule="model",
            why=f"没有规则直接命中，但学到的模型认为这句话很像第 {rule.id} 句（{score.forbidden:.0%}），"
                f"依据 {grams}：{rule.harm}",
            tier=tier,
        )

    # ------------------------------------------------------------ one rule

    def _rule_hits(
        self,
        compiled: _Compiled,
        text: str,
        dense: Normalized,
        clauses: Normalized,
        dense_bigrams: frozenset[str],
        context: list[_Context],
    ) -> list[Hit]:
        # candidates in clause coordinates: start, end, score, how, intent (None for words)
        found: list[tuple[int, int, float, str, Intent | None]] = []
        positions = None
        if compiled.exact is not None:
            for m in compiled.exact.finditer(dense.text):
                found.append((*self._dense_to_clauses(dense, clauses, context, *m.span()), 100.0, "variant", None))
        if compiled.patterns is not None:
            for m in compiled.patterns.finditer(clauses.text):
                start, end = _trim(clauses.text, *m.span())
                if end > start:
                    found.append((start, end, 100.0, "pattern", None))
        if not found:
            for start, end, score in self._fuzzy_hits(compiled, dense, dense_bigrams):
                found.append((*self._dense_to_clauses(dense, clauses, context, start, end), score, "fuzzy", None))
        for item in compiled.intents:
            for m in item.patterns.finditer(clauses.text):
                start, end = _trim(clauses.text, *m.span())
                if end <= start:
                    continue
                ctx = self._context(clauses, context)
                sentence = ctx.sentence_text(ctx.sentence(start))
                if all(r.search(sentence) for r in item.requires) and not (
                    item.unless is not None and item.unless.search(sentence)
                ):
                    found.append((start, end, 100.0, "intent", item.intent))
        if not found:
            return []
        if compiled.allow is not None:
            allowed = [m.span() for m in compiled.allow.finditer(clauses.text) if m.end() > m.start()]
            found = [f for f in found if not any(f[0] < b and a < f[1] for a, b in allowed)]
        ctx = self._context(clauses, context) if found else None
        hits = []
        for start, end, score, how, intent in _merge(found):
            if ctx.excuse(compiled.rule, start, end) is not None:
                continue
            o_start, o_end = clauses.span(start, end)
            hits.append(self._hit(compiled, text, o_start, o_end, score, how, intent))
        return hits

    def _context(self, clauses: Normalized, context: list[_Context]) -> _Context:
        if not context:
            context.append(_Context(self, clauses))
        return context[0]

    def _dense_to_clauses(self, dense: Normalized, clauses: Normalized, context: list[_Context],
                          start: int, end: int) -> tuple[int, int]:
        ctx = self._context(clauses, context)
        return ctx.position(dense.index[start]), ctx.position(dense.index[end - 1]) + 1

    def _fuzzy_hits(
        self, compiled: _Compiled, dense: Normalized, dense_bigrams: frozenset[str]
    ) -> list[tuple[int, int, float]]:
        """Fuzzy hits in dense coordinates."""
        typos = self.settings.max_typos
        hits = []
        for variant, grams in compiled.fuzzy:
            # one typo breaks at most two bigrams: skip variants that cannot reach the cutoff
            if len(grams & dense_bigrams) < len(grams) - 2 * typos or len(dense.text) < len(variant) - typos:
                continue
            cutoff = 100.0 * (1 - typos / len(variant)) - 1e-6
            align = fuzz.partial_ratio_alignment(variant, dense.text, score_cutoff=cutoff)
            if align is None:
                continue
            best = _closest_window(variant, dense.text, align.dest_start, typos)
            if best is None:
                continue
            hits.append((best[0], best[1], round(align.score, 1)))
        return hits

    @staticmethod
    def _hit(compiled: _Compiled, text: str, start: int, end: int, score: float, how: str,
             intent: Intent | None) -> Hit:
        rule = compiled.rule
        if intent is not None:
            tier = "confirm" if compiled.tier == "warn" else intent.tier
            rule_name, why = f"intent:{intent.name}", f"{intent.description}：{intent.why}"
        else:
            tier = "block" if compiled.tier == "forbidden" else "confirm"
            rule_name = how
            what = {"variant": "说法", "pattern": "句式", "fuzzy": "带错别字的说法"}[how]
            why = f"命中第 {rule.id} 句「{rule.name or rule.phrase}」的{what}：{rule.harm}"
        return Hit(
            id=rule.id,
            phrase=rule.phrase,
            match=text[start:end],
            start=start,
            end=end,
            score=score,
            suggestion=rule.better[0],
            reason=rule.harm,
            better=list(rule.better),
            how="pattern" if how == "intent" else how,
            rule=rule_name,
            why=why,
            tier=tier,
        )

    # ------------------------------------------------------------ one-tap rewrite

    def rewrite(self, text: str) -> str | None:
        """The draft with each offending clause replaced by its rule's better sentence.

        Everything else is kept. Returned only when the guard passes the result; None when
        the draft already passes or no rewrite that passes was found. Never raises.
        """
        if len(text) > REWRITE_MAX_CHARS:     # longer than one Telegram message: nothing to send anyway
            return None
        result = self.check(text)
        if result.decision == "pass":
            return None
        hits = result.violations + result.warnings
        for scope in ("clause", "sentence"):
            for choice in range(3):
                pieces: list[tuple[int, int, str, str]] = []     # start, end, better sentence, id
                for hit in sorted(hits, key=lambda h: h.start):
                    better = [b for b in hit.better if "……" not in b]
                    if not better or (pieces and hit.end <= pieces[-1][1]):
                        continue        # nothing to offer, or inside the clause already replaced
                    start, end = _expand(text, hit.start, hit.end, scope)
                    if pieces and (start < pieces[-1][1] or (
                        str(hit.id) == pieces[-1][3] and not text[pieces[-1][1]:start].strip(PUNCTUATION)
                    )):   # overlapping, or the next clause of the same sentence: one better sentence for both
                        prev = pieces[-1]
                        pieces[-1] = (prev[0], max(prev[1], end), prev[2], prev[3])
                        continue
                    pieces.append((start, end, better[min(choice, len(better) - 1)], str(hit.id)))
                if not pieces:
                    return None
                candidate = _splice(text, [(a, b, better) for a, b, better, _ in pieces])
                if candidate.strip() and self.check(candidate).decision == "pass":
                    return candidate
        return None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] == "|":
        start += 1
    while end > start and text[end - 1] == "|":
        end -= 1
    return start, end


def _spans(text: str) -> list[tuple[int, int]]:
    """Clause spans of a clause text (split at ``|``)."""
    spans, start = [], 0
    for i, ch in enumerate(text + "|"):
        if ch == "|":
            spans.append((start, i))
            start = i + 1
    return spans


def _is_break(ch: str, scope: str) -> bool:
    folded = unicodedata.normalize("NFKC", ch)
    return (folded in SENTENCE_ENDS or ch in SENTENCE_ENDS) if scope == "sentence" else folded in CLAUSE_BREAKS


def _expand(text: str, start: int, end: int, scope: str) -> tuple[int, int]:
    """Widen [start, end) to the whole clause (or sentence) around it, punctuation excluded."""
    while start > 0 and not _is_break(text[start - 1], scope):
        start -= 1
    while end < len(text) and not _is_break(text[end], scope):
        end += 1
    return start, end


def _splice(text: str, pieces: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, better in pieces:
        out.append(text[last:start])
        # the draft's own punctuation follows the clause: drop the better sentence's final mark
        out.append(better.rstrip("。！？!?") if end < len(text) else better)
        last = end
    out.append(text[last:])
    return "".join(out)


def _closest_window(variant: str, text: str, near: int, typos: int) -> tuple[int, int] | None:
    """The window around ``near`` that is ``variant`` with at most ``typos`` sound-alike typos."""
    length = len(variant)
    best: tuple[int, int, int] | None = None
    for start in (near, near - 1, near + 1):
        for size in (length, length - 1, length + 1):
            end = start + size
            if start < 0 or end > len(text) or size < 1:
                continue
            window = text[start:end]
            # a typo sits inside the phrase: dropping its first or last character is another phrase
            if not (sounds_alike(variant[0], window[0]) and sounds_alike(variant[-1], window[-1])):
                continue
            ops = Levenshtein.editops(variant, window)
            if len(ops) > typos or any(_touches_negation(op, variant, window) for op in ops):
                continue
            if all(op.tag != "replace" or sounds_alike(variant[op.src_pos], window[op.dest_pos]) for op in ops):
                if best is None or len(ops) < best[0]:
                    best = (len(ops), start, end)
    return None if best is None else (best[1], best[2])


def _touches_negation(op, variant: str, window: str) -> bool:
    """A typo never adds or drops a negation: 我们没答应过 is not 我们答应过."""
    chars = []
    if op.tag in ("replace", "delete"):
        chars.append(variant[op.src_pos])
    if op.tag in ("replace", "insert"):
        chars.append(window[op.dest_pos])
    return any(ch in NEGATIONS for ch in chars)


def _merge(found: list[tuple]) -> list[tuple]:
    """Overlapping hits of one rule become one hit over their union; words outrank intents."""
    merged: list[tuple] = []
    for start, end, score, how, intent in sorted(found, key=lambda f: (f[0], f[1], f[4] is not None)):
        if merged and start < merged[-1][1]:
            s, e, sc, h, i = merged[-1]
            keep_new = (i is not None and intent is None) or (sc < score and (i is None) == (intent is None))
            merged[-1] = (s, max(e, end), max(sc, score), how if keep_new else h, intent if keep_new else i)
        else:
            merged.append((start, end, score, how, intent))
    return merged
