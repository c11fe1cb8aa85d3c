"""Text normalisation shared by the analyser and the guard.

Customers and agents write Simplified and Traditional Chinese, full-width and
half-width letters, spaced-out words (``规 定 如 此``) and zero-width tricks.
Both engines match against one normal form, and every normalised character
remembers where it came from, so a match can be shown on the original text::

    norm = normalize("這是公司的規定！")
    norm.text                  # '这是公司的规定!'
    dense = compact(norm)      # letters, digits and CJK only: '这是公司的规定'
    dense.span(0, 7)           # (0, 7) in the original string

The OpenCC converter is built once per process (:func:`converter`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

# tw2s maps Taiwan-standard characters too (著急 -> 着急) and, unlike tw2sp,
# never rewrites whole words, so the text keeps its length in almost every case.
OPENCC_CONFIG = "tw2s"


@lru_cache(maxsize=1)
def converter() -> opencc.OpenCC:
    """The process-wide Traditional-to-Simplified converter (loaded once)."""
    return opencc.OpenCC(OPENCC_CONFIG)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, for each of its characters, the index in the original."""

    text: str
    index: tuple[int, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map ``text[start:end]`` back to ``(start, end)`` in the original string."""
        if end <= start:
            return self.index[start] if start < len(self.index) else len(self.original), 0
        return self.index[start], self.index[end - 1] + 1


def _fold(text: str, fold) -> tuple[str, list[int]]:
    """Apply ``fold`` to the whole text; fall back to per-character when lengths differ."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded, list(range(len(text)))
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        piece = fold(ch)
        out.append(piece)
        index.extend([i] * len(piece))
    return "".join(out), index


def _nfkc_lower(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    # a NUL is no text, and OpenCC's C interface would stop reading at it
    return folded.replace("\x00", "") if "\x00" in folded else folded


# Characters tw2s changes only inside a longer match: a phrase (深沈 -> 深沉, 反覆 -> 反复) or a
# Taiwan variant converted on (才 -> 纔 -> 才). Converting them one at a time does not find them;
# read off OpenCC's own dictionaries (opencc_dict -t text), which tests/test_text.py does again
# for the installed OpenCC, so a new release that adds one fails the tests instead of a message.
PHRASE_ONLY = frozenset("吃哩唇坏峰床才核梁沈灶甦痴皂瞭秘粽群藉衹覆")
# The blocks OpenCC's dictionaries cover, CJK radicals to Extension H (a test probes all of Unicode).
PROBED = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0x20000, 0x323AF))
PROBE_CHUNK = 4096


@lru_cache(maxsize=1)
def convertible() -> frozenset[str]:
    """Every character that may make the converter change a text: each one it converts on its
    own (found by converting all of :data:`PROBED` in one call, once per process: ~50 ms) and
    :data:`PHRASE_ONLY`; and lone surrogates, which :func:`_simplified` replaces. A text with
    none of them (four messages in five) converts to itself, so it is not sent through OpenCC."""
    found = set(PHRASE_ONLY)
    found.update(map(chr, range(0xD800, 0xE000)))
    for low, high in PROBED:
        for start in range(low, high + 1, PROBE_CHUNK):     # a few thousand at a time: small peak
            chars = [chr(i) for i in range(start, min(start + PROBE_CHUNK, high + 1))]
            out = converter().convert("\n".join(chars)).split("\n")
            if len(out) != len(chars):          # one converted to a line break: ask one by one
                out = [converter().convert(ch) for ch in chars]
            found.update(ch for ch, to in zip(chars, out) if ch != to)
    return frozenset(found)


def _simplified(text: str) -> str:
    if convertible().isdisjoint(text):
        return text
    try:
        return converter().convert(text)
    except UnicodeEncodeError:
        # lone surrogates (a broken client's emoji): one "?" each, so the length stays
        return converter().convert(text.encode("utf-8", "replace").decode("utf-8"))


def normalize_text(text: str) -> str:
    """:func:`normalize` without the index map, for readers that never point back (the analyser)."""
    return _simplified(_nfkc_lower(text))


def normalize(text: str) -> Normalized:
    """Full-width to half-width, lower case, Traditional to Simplified; spans kept."""
    step1, index1 = _fold(text, _nfkc_lower)
    step2, index2 = _fold(step1, _simplified)
    return Normalized(step2, tuple(index1[i] for i in index2), text)


# Sentence punctuation (after NFKC folding) that ends a clause; "|" stands for it in
# ``compact(..., breaks=True)`` so guard patterns can tell "不行。" from "不行的话".
CLAUSE_BREAKS = frozenset(",.!?;:、。，！？；：…\n|~")
BREAK = "|"


def compact(norm: Normalized, breaks: bool = False) -> Normalized:
    """Keep letters, digits and CJK characters only.

    Spaces, symbols, emoji and zero-width characters are dropped, so ``规 定 如 此``
    reads ``规定如此``. With ``breaks=True`` each run of sentence punctuation becomes
    one ``|`` instead (never at the start or end).
    """
    chars: list[str] = []
    index: list[int] = []
    for ch, origin in zip(norm.text, norm.index):
        if ch.isalnum():
            chars.append(ch)
            index.append(origin)
        elif breaks and ch in CLAUSE_BREAKS and chars and chars[-1] != BREAK:
            chars.append(BREAK)
            index.append(origin)
    if chars and chars[-1] == BREAK:
        chars.pop()
        index.pop()
    return Normalized("".join(chars), tuple(index), norm.original)


def clean_for_display(text: str, limit: int = 0) -> str:
    """Drop control characters (keeping newlines and tabs) and optionally shorten with an ellipsis."""
    kept = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    if limit and len(kept) > limit:
        return kept[: limit - 1] + "…"
    return kept
