"""The guard's learned second opinion, scored in pure Python.

A character n-gram logistic model (trained with scikit-learn by ``complaint-bot phrases
train``, see :mod:`bot.admin.train`) is shipped as a small JSON file of weights next to
``forbidden.yaml``. Scoring it needs no scikit-learn, numpy or pickle: a draft's n-grams
are looked up in a dict and summed::

    model, problems = load_model(Path("phrases/model.json"))
    model.score("这个真的没办法")          # Score(forbidden=0.93, label="10", grams=[...])

The model never blocks on its own say-so alone in a way the agent cannot see: the guard
uses it only to move a draft between tiers, and reports which n-grams weighed most.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from itertools import compress
from operator import add
from pathlib import Path
from typing import Any, KeysView, Sequence

FORMAT = "complaint-bot/char-ngram-logistic/1"
BOUNDARY = "|"
DIGIT_FOLD = str.maketrans("123456789", "000000000")


def features(dense: str, low: int = 1, high: int = 3) -> list[str]:
    """Character n-grams of a compacted draft (clause breaks as ``|``, digits 1-9 folded to 0).

    The same function is the analyzer scikit-learn trains with, so training and scoring
    can never disagree on what a feature is.
    """
    text = BOUNDARY + dense.translate(DIGIT_FOLD) + BOUNDARY
    grams = []
    for n in range(low, high + 1):
        grams.extend(text[i:i + n] for i in range(len(text) - n + 1) if text[i:i + n] != BOUNDARY)
    return grams


@dataclass(frozen=True)
class Score:
    """The model's reading of a text: P(forbidden), the likeliest sentence, the heaviest n-grams."""

    forbidden: float
    label: str
    grams: tuple[str, ...]


@dataclass(frozen=True)
class LinearModel:
    """Multinomial logistic regression over binary n-gram features (class 0 is ``ok``)."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    low: int = 1
    high: int = 3

    def score(self, dense: str) -> Score:
        weights = self.weights
        used = [(weights[g], g) for g in set(features(dense, self.low, self.high)) if g in weights]
        # column sums in C (zip/sum) rather than a Python loop over classes: the guard's hot path
        sums = [b + sum(col) for b, col in zip(self.bias, zip(*(row for row, _ in used)))] if used else list(self.bias)
        top = max(sums)
        exps = [math.exp(s - top) for s in sums]
        total = sum(exps)
        probs = [e / total for e in exps]
        best = max(range(1, len(probs)), key=probs.__getitem__)
        # the n-grams that pushed hardest toward the likeliest sentence, against "ok"
        heavy = sorted(used, key=lambda rg: rg[0][best] - rg[0][0], reverse=True)
        return Score(forbidden=1.0 - probs[0], label=self.classes[best],
                     grams=tuple(g for r, g in heavy[:3] if r[best] - r[0] > 0))


def read_json(path: Path, named_by: str, shared_numbers: bool = False) -> tuple[Any, list[tuple[int, str]]]:
    """A model file's JSON, or ``(None, [(line, problem)])`` saying what to do (``named_by``: its setting).

    With ``shared_numbers`` every distinct number is one float object, shared by every place it
    occurs: a model's hundreds of thousands of rounded weights are a few thousand values.
    """
    shared: dict[str, float] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
        if shared_numbers:
            return json.loads(text, parse_float=lambda s: shared.get(s) or shared.setdefault(s, float(s))), []
        return json.loads(text), []
    except FileNotFoundError:
        return None, [(0, f"模型文件不存在（model file missing）：运行 complaint-bot phrases train，或删掉 {named_by}")]
    except (OSError, UnicodeDecodeError) as err:
        return None, [(0, f"模型文件读不了（{err}）")]
    except json.JSONDecodeError as err:
        return None, [(err.lineno, f"模型文件不是合法的 JSON（{err.msg}）")]


def load_model(path: Path) -> tuple[LinearModel | None, list[tuple[int, str]]]:
    """The model in ``path``, or ``(None, [(line, problem), ...])``; never raises."""
    data, problems = read_json(path, "decision.model")
    if problems:
        return None, problems
    try:
        if data.get("format") != FORMAT:
            raise ValueError(f"format 应该是 {FORMAT}")
        classes = tuple(str(c) for c in data["classes"])
        bias = tuple(float(b) for b in data["bias"])
        low, high = (int(n) for n in data["ngram"])
        weights = {str(g): tuple(float(w) for w in row) for g, row in data["weights"].items()}
        if classes[0] != "ok" or len(classes) < 2 or len(bias) != len(classes):
            raise ValueError("classes 要以 ok 开头，bias 与 classes 等长")
        if any(len(row) != len(classes) for row in weights.values()):
            raise ValueError("每个 n-gram 的权重个数要等于 classes 的个数")
        if not 1 <= low <= high <= 6:
            raise ValueError("ngram 要是 [最短, 最长]，1 到 6")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return None, [(1, f"模型文件格式不对（{err}）")]
    return LinearModel(classes, bias, weights, low, high), []


# ---------------------------------------------------------------- the analyser's learned reading

# Format 3 adds "words": whether jieba words and word pairs are features (a bot that knows only
# format 2 refuses such a file rather than score it without them); a format-2 file still loads,
# as a reader of character n-grams.
READER_FORMAT = "complaint-bot/reader/3"
READER_FORMATS = ("complaint-bot/reader/2", READER_FORMAT)
# Word features' prefixes: a word feature is longer than any character 1-2-gram (the bigrams
# "w:" and "p:" themselves are character n-grams, typed as in "new:")
WORD, PAIR = "w:", "p:"
READER_CLASSES = ("none", "anger", "anxiety", "disappointment", "dissatisfaction")
READER_OUTPUTS = (*READER_CLASSES, "severe")
# The rules' reading as the reader sees it, in order (bot.engine.analysis computes it). A model
# file trained for another list is refused.
RULE_EVIDENCE = (
    "rule:anger", "rule:anxiety", "rule:disappointment", "rule:dissatisfaction", "rule:negative", "rule:severe",
    "rule:review_model", "rule:relief", "rule:howto", "rule:not_threat", "rule:negated", "rule:feeling_words",
    "rule:construction", "score:anger", "score:anxiety", "score:disappointment", "score:dissatisfaction",
)


def word_features(tokens: Sequence[str]) -> list[str]:
    """The reader's word features of a message's jieba tokens: each word of two or more characters
    (``w:投诉``) and each pair of neighbouring tokens, spaces left out (``p:不|给``). Digits are
    not folded here, unlike in the character n-grams: 12315 is a word worth its own weight."""
    solid = [t for t in tokens if not t.isspace()]
    return [WORD + t for t in solid if len(t) > 1] + [f"{PAIR}{a}|{b}" for a, b in zip(solid, solid[1:])]


def char_features(norm: str, low: int = 1, high: int = 2) -> set[str]:
    """A normalised message's character ``low``-``high``-grams, as :func:`features` makes them
    (1-2 made in C: ``translate``, ``map``)."""
    if low in (1, 2) and high == 2:
        text = BOUNDARY + norm.translate(DIGIT_FOLD) + BOUNDARY
        grams = set(map(str.__add__, text, text[1:]))
        if low == 1:
            grams.update(text)
            grams.discard(BOUNDARY)
        return grams
    return set(features(norm, low, high))


def reader_features(norm: str, tokens: Sequence[str] | None, low: int = 1, high: int = 2,
                    words: bool = False) -> set[str]:
    """A normalised message's features as the reader reads them and its trainer learns them:
    character ``low``-``high``-grams and, with ``words``, those of its jieba ``tokens``
    (required then: without them half the features would be lost)."""
    grams = char_features(norm, low, high)
    if words:
        if tokens is None:
            raise ValueError("this reader reads words too: pass the message's tokens")
        grams.update(word_features(tokens))
    return grams


class Verdict:
    """What the reader decided about one message, from its six output scores (decided once)."""

    __slots__ = ("scores", "best", "severe")

    def __init__(self, scores: tuple[float, ...]):
        self.scores = scores        # five emotion scores (none first), then the severe score
        emotions = scores[:len(READER_CLASSES)]
        self.severe = scores[len(READER_CLASSES)] > 0
        best = emotions.index(max(emotions))    # the first of the highest
        if best == 0 and self.severe:       # a threat is always a complaint: its likeliest feeling
            feelings = emotions[1:]
            best = 1 + feelings.index(max(feelings))
        self.best = best

    @property
    def emotion(self) -> str | None:
        """The decided emotion, or None: no complaint."""
        return READER_CLASSES[self.best] if self.best else None

    @property
    def severe_share(self) -> float:
        """P(severe) by the logistic score: how sure of the threat (or, below 0.5, of none)."""
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, self.scores[len(READER_CLASSES)]))))

    @property
    def share(self) -> float:
        """The softmax share of the decided emotion among the five (how sure, for people)."""
        emotions = self.scores[:len(READER_CLASSES)]
        top = max(emotions)
        return math.exp(emotions[self.best] - top) / sum(math.exp(v - top) for v in emotions)


@dataclass(frozen=True)
class ReaderModel:
    """The analyser's learned reading: one linear model over a message's features and the rules' reading.

    Six outputs, the scores of ``none``, the four feelings and of a severe threat, each
    ``bias + Σ weights of the message's features + Σ rule weights × rule evidence``; the
    features are its character n-grams.
    With ``words`` the features also hold the message's jieba words and word pairs
    (:func:`word_features`; the analyser passes the tokens it cut). The linear form is the
    result of training in two stages (:mod:`bot.admin.train_reader`): n-gram models first, then
    a combiner over their *cross-validated* log-odds and the rules' reading, folded together.
    So a message costs one look-up per feature::

        model, problems = load_reader(Path("phrases/reader.json"))
        text = "推来推去，到底有没有人管"
        tokens = ["推来推去", "，", "到底", "有没有", "人", "管"]
        verdict = model.read(text, rule_evidence, tokens)
        verdict.emotion, verdict.share          # 'anger', 0.93
        model.heaviest(text, 1, 0, words=tokens)  # features for anger rather than none: why
    """

    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    rules: tuple[tuple[float, ...], ...]        # one row per output, one column per RULE_EVIDENCE
    low: int = 1
    high: int = 2
    trained_for: str = ""       # the fingerprint of the emotions.yaml it was trained with
    words: bool = False         # jieba words and word pairs are features too
    trained_cut: str = ""       # how words were cut when it was trained (analysis.cut_fingerprint)

    @cached_property
    def _rule_columns(self) -> tuple[tuple[float, ...], ...]:
        """The rule weights by evidence (one tuple of six per RULE_EVIDENCE entry)."""
        return tuple(zip(*self.rules))

    @cached_property
    def _tables(self) -> tuple[dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]:
        """A word reader's word and pair weights as :meth:`read` looks them up: words by the
        token itself (``投诉``, not ``w:投诉``), pairs by ``a|b``; character n-grams are looked
        up in :attr:`weights` as they are. Reading then builds no prefixed strings, and a
        token's hash is the one the rules' look-ups already cached. The same row objects, in
        the file's order (the trainer writes the commonest first, so the rows most messages
        touch sit together in memory)."""
        words: dict[str, tuple[float, ...]] = {}
        pairs: dict[str, tuple[float, ...]] = {}
        if self.words:
            for feature, row in self.weights.items():
                if len(feature) <= self.high:           # a character n-gram ("w:" and "p:" too)
                    continue
                if feature.startswith(WORD) and len(feature) > len(WORD) + 1:  # none of one character
                    words[feature[len(WORD):]] = row
                elif feature.startswith(PAIR):
                    pairs[feature[len(PAIR):]] = row
        return words, pairs

    def _takes(self, chars: set[str] | None) -> bool:
        """Whether the caller's character 1-2-grams are this reader's character features."""
        return chars is not None and (self.low, self.high) == (1, 2)

    def grams(self, norm: str, tokens: Sequence[str] | None = None, chars: set[str] | None = None) -> set[str]:
        """This model's features of a normalised message (:func:`reader_features`); ``chars``
        as in :meth:`read` (copied, not changed)."""
        if not self._takes(chars):
            return reader_features(norm, tokens, self.low, self.high, self.words)
        grams = set(chars)
        if self.words:
            if tokens is None:
                raise ValueError("this reader reads words too: pass the message's tokens")
            grams.update(word_features(tokens))
        return grams

    def read(self, norm: str, rule_evidence: list[float], tokens: Sequence[str] | None = None,
             chars: set[str] | None = None) -> Verdict:
        """The six scores of a message and the decision they make; the hot path of every message.

        The features are :meth:`grams`' (a test holds the two to the same scores), looked up
        in :attr:`weights` and :attr:`_tables`; each distinct feature counts once. ``chars``:
        the message's ``char_features(norm)`` (1-2-grams), when the caller has already made
        them; a reader of other n-gram lengths makes its own."""
        words, pairs = self._tables
        if not self._takes(chars):
            chars = char_features(norm, self.low, self.high)
        rows = list(filter(None, map(self.weights.get, chars)))
        if self.words:
            if tokens is None:
                raise ValueError("this reader reads words too: pass the message's tokens")
            solid = [t for t in tokens if not t.isspace()]
            rows += filter(None, map(words.get, set(solid)))
            rows += filter(None, map(pairs.get, set(map("|".join, zip(solid, solid[1:])))))
        # the rules' evidence is mostly 0: only what is there is added (filtered in C)
        for value, column in zip(filter(None, rule_evidence), compress(self._rule_columns, rule_evidence)):
            rows.append(column if value == 1.0 else tuple(map(float(value).__mul__, column)))
        return Verdict(tuple(map(add, self.bias, map(sum, zip(*rows)))) if rows else self.bias)

    def _shown(self, feature: str) -> str:
        """A feature as the text it stands for: a word reader's words and pairs by :func:`_shown`,
        n-grams as they are."""
        return _shown(feature) if self.words and len(feature) > self.high else feature

    @cached_property
    def _readable(self) -> KeysView[str]:
        """The features a person can read as they stand for text: letters, digits and CJK
        characters only, two letters or CJK characters at least (no boundary marks, folded
        digits or punctuation). Worked out once, not on every explanation."""
        return dict.fromkeys(feature for feature in self.weights      # a dict: half a set's size
                             if (shown := self._shown(feature)).isalnum() and sum(map(str.isalpha, shown)) >= 2).keys()

    def warm(self) -> ReaderModel:
        """Build the look-up tables now (at start-up), not on the first message; returns self."""
        for table in ("_tables", "_readable"):
            getattr(self, table)
        return self

    def heaviest(self, norm: str, toward: int, against: int | None = None, limit: int = 3,
                 words: list[str] | None = None, chars: set[str] | None = None) -> list[str]:
        """The features of a message that pushed hardest toward output ``toward`` (rather than
        ``against``), as the customer's own text: n-grams, words, two words run together.

        With ``words`` (the message's jieba tokens) text inside one word comes first: "们这"
        may weigh as much as "你们", but only the word reads as a reason to a person.
        ``chars`` as in :meth:`read`.
        """
        weights, readable = self.weights, self._readable
        # readable features as the customer typed them (no word pair that had a space between)
        pushes = []
        for feature in readable & self.grams(norm, words, chars):
            shown = self._shown(feature)
            if shown in norm:
                row = weights[feature]
                push = row[toward] - (row[against] if against is not None else 0.0)
                if push > 0:
                    pushes.append((push, feature, shown))
        pushes.sort(reverse=True)
        # each shown once at its heaviest; inside a word first, across words only when nothing
        # else weighed (a readable text has no line break, so it is inside a word exactly when
        # it is inside the words joined by line breaks)
        joined = "\n".join(words) if words is not None else None
        inside: list[str] = []
        across: list[str] = []
        for _, _, shown in pushes:
            if shown in inside or shown in across:
                continue
            (inside if joined is None or shown in joined else across).append(shown)
            if len(inside) == limit:
                break
        return (inside + across)[:limit]


def _shown(feature: str) -> str:
    """A feature as the text it stands for (``w:投诉`` → 投诉, ``p:不|给`` → 不给)."""
    if feature.startswith(WORD):
        return feature[len(WORD):]
    if feature.startswith(PAIR):
        return feature[len(PAIR):].replace("|", "", 1)
    return feature


def load_reader(path: Path) -> tuple[ReaderModel | None, list[tuple[int, str]]]:
    """The analyser's model in ``path``, or ``(None, [(line, problem), ...])``; never raises."""
    data, problems = read_json(path, "learned.model", shared_numbers=True)
    if problems:
        return None, problems
    try:
        if data.get("format") not in READER_FORMATS:
            raise ValueError(f"format 应该是 {READER_FORMAT}")
        words = data.get("words", False) if data["format"] == READER_FORMAT else False
        if not isinstance(words, bool):
            raise ValueError("words 要是 true 或 false")
        if tuple(data["outputs"]) != READER_OUTPUTS:
            raise ValueError(f"outputs 应该是 {list(READER_OUTPUTS)}")
        if tuple(data["rule_evidence"]) != RULE_EVIDENCE:
            raise ValueError("rule_evidence 与这个版本的分析器不一致：请重新运行 complaint-bot phrases train")
        width = len(READER_OUTPUTS)
        bias = tuple(float(b) for b in data["bias"])
        low, high = (int(n) for n in data["ngram"])
        # the JSON's floats are already one object per distinct weight (shared_numbers)
        weights = {str(g): tuple(map(float, row)) for g, row in data["weights"].items()}
        rules = tuple(tuple(float(w) for w in row) for row in data["rules"])
        if not all(map(math.isfinite, (*bias, *(w for row in weights.values() for w in row),
                                       *(w for row in rules for w in row)))):
            raise ValueError("权重里有 NaN 或无穷大")
        if len(bias) != width or any(len(row) != width for row in weights.values()):
            raise ValueError(f"bias 和每个 n-gram 的权重都要有 {width} 个数（5 种情绪 + 严重）")
        if len(rules) != width or any(len(row) != len(RULE_EVIDENCE) for row in rules):
            raise ValueError(f"rules 要有 {width} 行，每行 {len(RULE_EVIDENCE)} 个数")
        if not 1 <= low <= high <= 6:
            raise ValueError("ngram 要是 [最短, 最长]，1 到 6")
        if words and high > 2:      # a longer n-gram could read like a word feature (w:投诉 typed)
            raise ValueError("words 只能与最长 2 的 ngram 一起用")
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return None, [(1, f"模型文件格式不对（{err}）")]
    meta = data.get("meta") or {}
    return ReaderModel(bias, weights, rules, low, high, str(meta.get("rules", "")), words,
                       str(meta.get("cut", ""))).warm(), []
