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
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

# pypinyin's phrase dictionary (~45 MB, 0.1 s) only improves readings of whole words; the guard
# asks about single characters, whose readings are the same without it (pypinyin's documented
# switches; tests/test_lean.py compares every character)
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
from pypinyin import Style, lazy_pinyin  # noqa: E402
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.engine.phrases import ForbiddenFile, Rule, expand_macros
from bot.engine.text import Normalized, compact, normalize


NEGATIONS = frozenset("不没无未别非否莫勿")


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

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """The ``check`` contract: ``ok`` is False when any forbidden phrase was found."""

    text: str
    violations: list[Hit] = field(default_factory=list)
    warnings: list[Hit] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@lru_cache(maxsize=4096)
def _sound(ch: str) -> tuple[str, str]:
    """(initial, final) of a character's pinyin, tones dropped; non-Chinese maps to itself."""
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
class _Compiled:
    rule: Rule
    tier: str
    exact: re.Pattern | None
    patterns: re.Pattern | None
    allow: re.Pattern | None
    fuzzy: tuple[tuple[str, frozenset[str]], ...]


def _alternation(items: list[str], escape: bool) -> re.Pattern | None:
    items = [i for i in items if i]
    if not items:
        return None
    if escape:
        items = sorted({re.escape(i) for i in items}, key=len, reverse=True)
        return re.compile("|".join(items))
    return re.compile("|".join(f"(?:{p})" for p in items))


class Guard:
    """Checks agents' drafts against ``forbidden.yaml``; compiled once per phrase set."""

    def __init__(self, forbidden: ForbiddenFile):
        self.settings = forbidden.fuzzy
        self._rules: list[_Compiled] = []
        for tier, rules in (("forbidden", forbidden.forbidden), ("warn", forbidden.warn)):
            for rule in rules:
                variants = [compact(normalize(v)).text for v in rule.variants]
                fuzzy = tuple(
                    (v, _bigrams(v))
                    for v in dict.fromkeys(variants)
                    if rule.fuzzy and len(v) >= self.settings.min_length
                )
                self._rules.append(
                    _Compiled(
                        rule=rule,
                        tier=tier,
                        exact=_alternation(variants, escape=True),
                        patterns=_alternation([expand_macros(x, forbidden.macros) for x in rule.patterns], escape=False),
                        allow=_alternation([expand_macros(x, forbidden.macros) for x in rule.allow], escape=False),
                        fuzzy=fuzzy,
                    )
                )

    def check(self, text: str) -> CheckResult:
        """Every forbidden and warn-tier phrase in ``text``. Never raises on any string."""
        norm = normalize(text)
        dense = compact(norm)
        clauses = compact(norm, breaks=True)
        dense_bigrams = _bigrams(dense.text)
        violations: list[Hit] = []
        warnings: list[Hit] = []
        for compiled in self._rules:
            hits = self._rule_hits(compiled, text, dense, clauses, dense_bigrams)
            (violations if compiled.tier == "forbidden" else warnings).extend(hits)
        violations.sort(key=lambda h: (h.start, str(h.id)))
        warnings = [
            w for w in sorted(warnings, key=lambda h: (h.start, str(h.id)))
            if not any(w.start < v.end and v.start < w.end for v in violations)
        ]
        return CheckResult(text=text, violations=violations, warnings=warnings)

    def _rule_hits(
        self,
        compiled: _Compiled,
        text: str,
        dense: Normalized,
        clauses: Normalized,
        dense_bigrams: frozenset[str],
    ) -> list[Hit]:
        found: list[tuple[int, int, float, str]] = []   # original start, end, score, how
        if compiled.exact is not None:
            for m in compiled.exact.finditer(dense.text):
                found.append((*dense.span(*m.span()), 100.0, "variant"))
        if compiled.patterns is not None:
            for m in compiled.patterns.finditer(clauses.text):
                start, end = m.span()
                while start < end and clauses.text[start] == "|":
                    start += 1
                while end > start and clauses.text[end - 1] == "|":
                    end -= 1
                if end > start:
                    found.append((*clauses.span(start, end), 100.0, "pattern"))
        if not found:
            found.extend(self._fuzzy_hits(compiled, dense, dense_bigrams))
        if not found:
            return []
        if compiled.allow is not None:
            allowed = [clauses.span(*m.span()) for m in compiled.allow.finditer(clauses.text) if m.end() > m.start()]
            found = [f for f in found if not any(f[0] < b and a < f[1] for a, b in allowed)]
        return [self._hit(compiled.rule, text, *f) for f in _merge(found)]

    def _fuzzy_hits(
        self, compiled: _Compiled, dense: Normalized, dense_bigrams: frozenset[str]
    ) -> list[tuple[int, int, float, str]]:
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
            start, end = best
            hits.append((*dense.span(start, end), round(align.score, 1), "fuzzy"))
        return hits

    @staticmethod
    def _hit(rule: Rule, text: str, start: int, end: int, score: float, how: str) -> Hit:
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
            how=how,
        )


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


def _merge(found: list[tuple[int, int, float, str]]) -> list[tuple[int, int, float, str]]:
    """Overlapping hits of one rule become one hit over their union, keeping the best score."""
    merged: list[tuple[int, int, float, str]] = []
    for start, end, score, how in sorted(found):
        if merged and start < merged[-1][1]:
            s, e, sc, h = merged[-1]
            merged[-1] = (s, max(e, end), max(sc, score), h if sc >= score else how)
        else:
            merged.append((start, end, score, how))
    return merged
