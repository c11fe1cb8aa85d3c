"""The phrase files in ``phrases/``: schemas, loading, and ``file:line`` problems.

Admins edit YAML, not code. Every file is validated against a pydantic model;
every problem, whether broken YAML, a wrong type, a regex that does not compile,
a duplicate id or a template slot the bot cannot fill, is reported as
``file:line: message`` and nothing half-loaded is ever returned::

    phrases = load_phrases(Path("phrases"))      # raises PhraseFileError
    try:
        load_phrases(Path("broken"))
    except PhraseFileError as err:
        print("\\n".join(err.lines()))           # forbidden.yaml:12: ...

The engine (:mod:`bot.engine.store`) turns a loaded :class:`PhraseSet` into an
analyser and a guard and keeps the last good set when a reload fails.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

# The four emotions of the product contract: the one place they are spelled.
EmotionName = Literal["anger", "anxiety", "disappointment", "dissatisfaction"]
EMOTIONS: tuple[str, ...] = get_args(EmotionName)
LEVELS = ("mild", "strong")
FILES = ("forbidden.yaml", "emotions.yaml", "empathy.yaml", "categories.yaml", "texts.yaml", "suggestions.yaml")
SUGGESTION_SLOTS = frozenset({"fact", "feeling", "explain", "focus", "option", "deadline"})


# ---------------------------------------------------------------- field types

def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f"正则表达式写错了（regex does not compile: {err}）") from None
    return pattern


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("不能是空字符串（empty text）")
    return text


Regex = Annotated[str, AfterValidator(_compiles)]
Text = Annotated[str, AfterValidator(_not_blank)]


class Strict(BaseModel):
    """Every phrase-file model: unknown keys are errors (a typo in a key name is reported)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseFile(Strict):
    """What every phrase file starts with, so an admin can read it without a manual."""

    name: str = ""
    description: str = ""
    source: str = ""            # where its words come from (a seed deck, a data set …)


# ---------------------------------------------------------------- forbidden.yaml

class Intent(Strict):
    """An intent-level rule: what the draft does to the customer, whatever the words.

    It fires when one of ``patterns`` matches inside a clause, every ``requires`` regex
    matches somewhere in the same sentence and no ``unless`` regex does. ``tier`` says
    whether a hit blocks the draft or sends it to the agent's confirmation.
    """

    name: Text
    description: Text
    why: Text
    tier: Literal["block", "confirm"] = "block"
    patterns: list[Regex] = Field(min_length=1)
    requires: list[Regex] = Field(default_factory=list)
    unless: list[Regex] = Field(default_factory=list)


Redeem = Literal["alternative", "action", "question", "time"]


class Rule(Strict):
    """One sentence never to say (or, in the warn tier, to say only after a second look)."""

    id: int | str
    phrase: Text
    harm: Text
    name: str = ""
    description: str = ""
    variants: list[Text] = Field(default_factory=list)
    patterns: list[Regex] = Field(default_factory=list)
    allow: list[Regex] = Field(default_factory=list)
    intents: list[Intent] = Field(default_factory=list)
    redeem: list[Redeem] = Field(default_factory=list)
    better: list[Text] = Field(min_length=1, max_length=3)
    fuzzy: bool = True


class FuzzySettings(Strict):
    """Typo tolerance: variants at least ``min_length`` long also match with ``max_typos`` typos."""

    min_length: int = Field(default=6, ge=3)
    max_typos: int = Field(default=1, ge=0, le=3)


def _quote_pair(pair: str) -> str:
    if len(pair) != 2:
        raise ValueError("引号要成对写，两个字符，如 「」（a quote pair is two characters）")
    return pair


class Discourse(Strict):
    """Clause structure that changes what a hit means (see forbidden.yaml's ``discourse``)."""

    quotes: list[Annotated[str, AfterValidator(_quote_pair)]] = Field(default_factory=list)
    report: list[Regex] = Field(default_factory=list)
    disown: list[Regex] = Field(default_factory=list)
    alternative: list[Regex] = Field(default_factory=list)
    action: list[Regex] = Field(default_factory=list)
    time: list[Regex] = Field(default_factory=list)
    person: list[Regex] = Field(default_factory=list)
    question: list[Regex] = Field(default_factory=list)
    topic_shift: list[Regex] = Field(default_factory=list)


class Decision(Strict):
    """Thresholds of the three decisions and the learned second opinion."""

    model: str | None = None
    model_confirm: float = Field(default=1.01, ge=0)
    model_block: float = Field(default=1.01, ge=0)
    model_release: float = Field(default=0.0, ge=0, le=1)
    model_min_chars: int = Field(default=6, ge=0)
    model_max_chars: int = Field(default=400, ge=1)


class ForbiddenFile(PhraseFile):
    fuzzy: FuzzySettings = FuzzySettings()
    macros: dict[str, Regex] = Field(default_factory=dict)
    discourse: Discourse = Discourse()
    decision: Decision = Decision()
    forbidden: list[Rule] = Field(min_length=1)
    warn: list[Rule] = Field(default_factory=list)
    # the learned model named by decision.model, read from the same folder (never from YAML)
    _learned: Any = PrivateAttr(default=None)

    @property
    def learned(self) -> Any:
        return self._learned


# ---------------------------------------------------------------- emotions.yaml

Weights = dict[Text, float]


class Emotion(Strict):
    label: Text
    feeling: Text
    mirror: list[Text] = Field(default_factory=list)
    words: Weights = Field(min_length=1)
    emoji: list[Text] = Field(default_factory=list)


class SevereWithAction(Strict):
    words: list[Text] = Field(default_factory=list)
    actions: list[Text] = Field(default_factory=list)
    after: list[Text] = Field(default_factory=list)
    window: int = Field(default=3, ge=1)


class Cue(Strict):
    """A construction that marks a complaint in any domain (关不严, 被取消, 少送了)."""

    pattern: Regex
    emotion: EmotionName
    weight: float = Field(gt=0)
    description: str = ""
    # only colours a message something else already made a complaint (明天 alone is no complaint)
    needs_complaint: bool = False
    # a match makes the feeling strong (intensity 2): 最后一次, ultimatums
    strong: bool = False


class Severe(Strict):
    always: list[Text] = Field(min_length=1)
    with_action: SevereWithAction = SevereWithAction()
    cancel: list[Text] = Field(default_factory=list)
    # regexes over the message; {severe} stands for every word of always and with_action.words.
    # held_back: the customer says they will not go (still a complaint); not_threat: no threat at all
    held_back: list[Regex] = Field(default_factory=list)
    not_threat: list[Regex] = Field(default_factory=list)
    # threats that are phrases rather than words (see you in court), as regexes
    patterns: list[Regex] = Field(default_factory=list)


class Neutral(Strict):
    """Messages that are no complaint: bare ids, emoji-only praise, relief after a fix, thanks."""

    # whole-message regexes (fullmatch after normalising); {label} stands for id_labels
    ids: list[Regex] = Field(default_factory=list)
    id_labels: list[Text] = Field(default_factory=list)
    # a message of emoji only, none of them a negative emotion's emoji, is no complaint
    emoji_only: bool = True
    # the problem is over (修好了, 不用退了, 谢谢): facts of the old problem no longer count
    relief: list[Regex] = Field(default_factory=list)
    # ... unless one of these follows the relief (修好了，但是又坏了)
    relief_unless: list[Regex] = Field(default_factory=list)
    # a how-to or what-if question (怎么申请赔偿, 如果坏了能保修吗) of at most ``howto_clauses``
    # clauses with no stated feeling: the complaint words are what it asks about, not a fault
    howto: list[Regex] = Field(default_factory=list)
    howto_clauses: int = Field(default=1, ge=1)
    howto_max: float = Field(default=3.0, ge=0)


class ReviewModelSettings(Strict):
    """snownlp's shopping-review sentiment model, asked only about plain statements."""

    enabled: bool = True
    min_log_odds: float = 0.0
    emotion: EmotionName = "dissatisfaction"
    questions: list[Regex] = Field(default_factory=list)


class Thresholds(Strict):
    negative: float = Field(default=1.0, gt=0)
    strong: float = Field(default=3.0, gt=0)
    # the score at which each emotion reads as strong (intensity 2); unset ones use ``strong``
    strong_by_emotion: dict[EmotionName, float] = Field(
        default_factory=dict)
    # emotions that are never strong (a plain complaint is "without strong feeling")
    mild_only: list[EmotionName] = Field(default_factory=list)


class Punctuation(Strict):
    exclaim: float = 1.0
    question: float = 0.5


class LearnedReading(Strict):
    """The analyser's learned reading (reader.json), combined with the rules; unset = rules only."""

    model: str | None = None
    # a complaint the rules read from their own words is kept in messages this short (characters)
    keep_short: int = Field(default=12, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        return {} if value is None else value      # "learned:" left with its model line deleted


class EmotionsFile(PhraseFile):
    emotions: dict[EmotionName, Emotion]
    positive: Weights = Field(default_factory=dict)
    negators: list[Text] = Field(min_length=1)
    degree: Weights = Field(default_factory=dict)
    rhetorical: list[Regex] = Field(default_factory=list)
    keep_whole: list[Text] = Field(default_factory=list)
    cues: list[Cue] = Field(default_factory=list)
    review_model: ReviewModelSettings = ReviewModelSettings()
    thresholds: Thresholds = Thresholds()
    punctuation: Punctuation = Punctuation()
    severe: Severe
    neutral: Neutral = Neutral()
    learned: LearnedReading = LearnedReading()
    # the model named by learned.model, read from the same folder (never from YAML)
    _learned: Any = PrivateAttr(default=None)

    @property
    def reader(self) -> Any:
        return self._learned

    def fingerprint(self) -> str:
        """A hash of everything in this file the reader's rule evidence depends on (not ``learned``)."""
        import hashlib
        import json

        dumped = json.dumps(self.model_dump(mode="json", exclude={"learned"}), ensure_ascii=False, sort_keys=True)
        return hashlib.sha1(dumped.encode("utf-8")).hexdigest()[:12]

    def stale_reader(self) -> bool:
        """The learned reader was trained for other rules (its weights trust rules that changed)."""
        trained_for = getattr(self._learned, "trained_for", "")
        return bool(trained_for) and trained_for != self.fingerprint()


# ---------------------------------------------------------------- empathy.yaml

class EmpathyLevels(Strict):
    mild: list[Text] = Field(min_length=1)
    strong: list[Text] = Field(min_length=1)


class EmpathyFile(PhraseFile):
    templates: dict[EmotionName, EmpathyLevels]


# ---------------------------------------------------------------- categories.yaml

class Category(Strict):
    name: Text
    description: str = ""
    sla_minutes: int | None = Field(default=None, ge=1)
    keywords: list[Text] = Field(min_length=1)


class Demand(Strict):
    name: Literal["补偿型", "修复型", "预防型", "情感型"]
    description: str = ""
    keywords: list[Text] = Field(min_length=1)


class CategoriesFile(PhraseFile):
    categories: list[Category] = Field(min_length=1)
    demands: list[Demand] = Field(min_length=1)


# ---------------------------------------------------------------- suggestions.yaml

class SuggestionsFile(PhraseFile):
    feel: list[Text] = Field(min_length=1)
    three_f: list[Text] = Field(min_length=1)
    options: dict[str, list[Text]] = Field(min_length=1)
    explain: dict[str, str] = Field(min_length=1)
    focus: dict[str, Text] = Field(min_length=1)


# ---------------------------------------------------------------- texts.yaml

# Which {slots} each customer-facing text may use. A slot outside its set is an error,
# because the bot could not fill it and the customer would see a raw "{...}".
TEXT_SLOTS: dict[str, frozenset[str]] = {
    "greeting": frozenset({"name", "minutes"}),
    "help": frozenset({"minutes"}),
    "ticket_opened": frozenset({"ticket", "minutes"}),
    "open_questions": frozenset(),
    "acknowledgements": frozenset({"ticket"}),
    "neutral_reply": frozenset({"ticket", "minutes"}),
    "status_header": frozenset(),
    "status_line": frozenset({"ticket", "status", "created", "category"}),
    "status_none": frozenset(),
    "status_names": frozenset(),
    "new_ticket": frozenset(),
    "new_ticket_busy": frozenset({"ticket"}),
    "evidence_received": frozenset({"ticket"}),
    "needs_words": frozenset(),
    "empty_message": frozenset(),
    "too_long": frozenset({"limit"}),
    "agent_reply": frozenset({"agent", "text", "ticket"}),
    "closing": frozenset({"ticket"}),
    "rating_request": frozenset(),
    "rating_thanks": frozenset({"rating"}),
    "followup": frozenset({"ticket"}),
    "sorry_error": frozenset(),
    "not_staff": frozenset(),
    "not_admin": frozenset(),
    "rating_not_yours": frozenset(),
    "rating_not_now": frozenset(),
}


class TextsFile(PhraseFile):
    greeting: Text
    help: Text
    ticket_opened: Text
    open_questions: list[Text] = Field(min_length=1)
    acknowledgements: list[Text] = Field(min_length=2)
    neutral_reply: Text
    status_header: Text
    status_line: Text
    status_none: Text
    status_names: dict[Literal["open", "in_progress", "escalated", "resolved", "closed"], Text]
    new_ticket: Text
    new_ticket_busy: Text
    evidence_received: Text
    needs_words: Text
    empty_message: Text
    too_long: Text
    agent_reply: Text
    closing: list[Text] = Field(min_length=3, max_length=3)
    rating_request: Text
    rating_thanks: Text
    followup: Text
    sorry_error: Text
    not_staff: Text
    not_admin: Text
    rating_not_yours: Text
    rating_not_now: Text


# ---------------------------------------------------------------- problems

@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a phrase file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PhraseFileError(Exception):
    """The phrase files could not be loaded; :attr:`problems` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


# ---------------------------------------------------------------- loading

MODELS: dict[str, type[BaseModel]] = {
    "forbidden.yaml": ForbiddenFile,
    "emotions.yaml": EmotionsFile,
    "empathy.yaml": EmpathyFile,
    "categories.yaml": CategoriesFile,
    "texts.yaml": TextsFile,
    "suggestions.yaml": SuggestionsFile,
}


@dataclass(frozen=True)
class PhraseSet:
    """All five phrase files, validated."""

    forbidden: ForbiddenFile
    emotions: EmotionsFile
    empathy: EmpathyFile
    categories: CategoriesFile
    texts: TextsFile
    suggestions: SuggestionsFile
    directory: Path
    mtimes: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Entries per file, for the admin's "what changed" summary."""
        return {
            "forbidden.yaml": len(self.forbidden.forbidden) + len(self.forbidden.warn),
            "forbidden.yaml variants": sum(
                len(r.variants) + len(r.patterns) for r in self.forbidden.forbidden + self.forbidden.warn
            ),
            "emotions.yaml": sum(len(e.words) for e in self.emotions.emotions.values()),
            "empathy.yaml": sum(
                len(t.mild) + len(t.strong) for t in self.empathy.templates.values()
            ),
            "categories.yaml": len(self.categories.categories) + len(self.categories.demands),
            "texts.yaml": len(TEXT_SLOTS),
            "suggestions.yaml": len(self.suggestions.feel) + len(self.suggestions.three_f),
        }


def _line_of(tree: Any, loc: tuple) -> int:
    """1-based line of the deepest node of ``loc`` that exists in the ruamel tree."""
    line = 0
    node = tree
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0]
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line = node.lc.item(key)[0]
            node = node[key]
        else:
            break
    return line + 1


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers to plain dicts and lists."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _slots(template: str) -> set[str]:
    """Names inside ``{...}``; raises ValueError for unbalanced braces."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def expand_macros(pattern: str, macros: dict[str, str]) -> str:
    """Replace ``{name}`` with the macro's regex (plain replace: regex ``{m,n}`` stays intact)."""
    for name, value in macros.items():
        pattern = pattern.replace("{" + name + "}", f"(?:{value})")
    return pattern


Found = list[tuple[tuple, str]]         # (where in the file, what is wrong)


def _cross_checks(name: str, model: BaseModel) -> Found:
    """Checks that span entries: unique ids, the ten ids, fillable template slots."""
    for kind, check in _CROSS_CHECKS:
        if isinstance(model, kind):
            return check(model)
    return []


def _regex_problems(loc: tuple, patterns: list[str], macros: dict[str, str]) -> Found:
    """Patterns that no longer compile once their ``{macros}`` are expanded."""
    found: Found = []
    for j, pattern in enumerate(patterns):
        try:
            re.compile(expand_macros(pattern, macros))
        except re.error as err:
            found.append(((*loc, j), f"展开 {{...}} 以后正则表达式写错了（{err}）"))
    return found


def _slot_problems(loc: tuple, text: str, allowed: set[str] | frozenset[str], hint: str) -> Found:
    """A template's unbalanced braces or slots the bot cannot fill."""
    try:
        unknown = _slots(text) - allowed
    except ValueError as err:
        return [(loc, f"花括号不成对（{err}）")]
    return [(loc, f"未知的占位符 {sorted(unknown)}；{hint}")] if unknown else []


def _forbidden_checks(model: ForbiddenFile) -> Found:
    found: Found = []
    seen: set[str] = set()
    for tier in ("forbidden", "warn"):
        for i, rule in enumerate(getattr(model, tier)):
            if str(rule.id) in seen:
                found.append(((tier, i, "id"), f"id {rule.id} 重复了（duplicate id）"))
            seen.add(str(rule.id))
            found += _rule_checks(model, tier, i, rule)
    for name, patterns in model.discourse:
        if name != "quotes":
            found += _regex_problems(("discourse", name), patterns, model.macros)
    missing = [n for n in range(1, 11) if n not in {r.id for r in model.forbidden}]
    if missing:
        found.append((("forbidden",), f"十句不该说的话缺少 id {missing}（ids 1-10 must all be present）"))
    for i, rule in enumerate(model.warn):
        if isinstance(rule.id, int):
            found.append((("warn", i, "id"), "warn 的 id 要以 w 开头，如 w1（warn ids are strings like w1）"))
    return found


def _rule_checks(model: ForbiddenFile, tier: str, i: int, rule: Rule) -> Found:
    """One rule's patterns (after macros), its intents' patterns, and what its redeem needs."""
    found: Found = []
    for field_name in ("patterns", "allow"):
        found += _regex_problems((tier, i, field_name), getattr(rule, field_name), model.macros)
    for k, intent in enumerate(rule.intents):
        for field_name in ("patterns", "requires", "unless"):
            found += _regex_problems((tier, i, "intents", k, field_name), getattr(intent, field_name), model.macros)
    for j, kind in enumerate(rule.redeem):
        needs = ("action", "time") if kind == "action" else (kind,)
        if not all(getattr(model.discourse, n) for n in needs):
            found.append(((tier, i, "redeem", j), f"redeem: {kind} 需要 discourse 里的 {'/'.join(needs)} 不为空"))
    return found


def _empathy_checks(model: EmpathyFile) -> Found:
    found: Found = []
    for emotion in EMOTIONS:
        if emotion not in model.templates:
            found.append((("templates",), f"缺少情绪 {emotion} 的模板（missing emotion）"))
            continue
        for level in LEVELS:
            texts = getattr(model.templates[emotion], level)
            for i, text in enumerate(texts):
                found += _slot_problems(("templates", emotion, level, i), text, {"topic", "feeling"},
                                        "只能用 {topic} 和 {feeling}")
            if not any("{topic}" not in t for t in texts):
                found.append((("templates", emotion, level), "至少要有一句不含 {topic} 的模板，以便找不到话题时使用"))
    return found


def _emotions_checks(model: EmotionsFile) -> Found:
    found: Found = [(("emotions",), f"缺少情绪 {e}（missing emotion）") for e in EMOTIONS if e not in model.emotions]
    return found + _emotion_macro_checks(model)


def _categories_checks(model: CategoriesFile) -> Found:
    found: Found = []
    names: set[str] = set()
    for i, cat in enumerate(model.categories):
        if cat.name in names:
            found.append((("categories", i, "name"), f"分类 {cat.name} 重复了（duplicate category）"))
        names.add(cat.name)
    return found


def _suggestions_checks(model: SuggestionsFile) -> Found:
    found: Found = []
    for key in ("feel", "three_f"):
        for i, text in enumerate(getattr(model, key)):
            found += _slot_problems((key, i), text, SUGGESTION_SLOTS, f"可用：{sorted(SUGGESTION_SLOTS)}")
    return found + [((key,), f"{key} 需要一个 default 项") for key in ("options", "explain", "focus")
                    if "default" not in getattr(model, key)]


def _texts_checks(model: TextsFile) -> Found:
    found: Found = []
    for key, allowed in TEXT_SLOTS.items():
        value = getattr(model, key)
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        hint = "这里可用：" + ("、".join("{%s}" % s for s in sorted(allowed)) or "无")
        for i, text in enumerate(items):
            found += _slot_problems((key, i) if isinstance(value, list) else (key,), text, allowed, hint)
    return found


_CROSS_CHECKS = (
    (ForbiddenFile, _forbidden_checks), (EmpathyFile, _empathy_checks), (EmotionsFile, _emotions_checks),
    (CategoriesFile, _categories_checks), (SuggestionsFile, _suggestions_checks), (TextsFile, _texts_checks),
)


def severe_macro(severe: Severe) -> str:
    """The regex ``{severe}`` stands for: every threat word, longest first."""
    words = {normalize_word(w) for w in [*severe.always, *severe.with_action.words]}
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True) if w)


def id_label_macro(neutral: Neutral) -> str:
    """The regex ``{label}`` stands for in ``neutral.ids``: every id label, longest first."""
    words = {normalize_word(w) for w in neutral.id_labels}
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True) if w) or "(?!)"


def normalize_word(word: str) -> str:
    from bot.engine.text import normalize   # the engine's own normalisation (Traditional, width, case)

    return normalize(word).text.strip()


def _emotion_macro_checks(model: "EmotionsFile") -> list[tuple[tuple, str]]:
    """Regexes with {severe} / {label} must compile once the macro is expanded."""
    found: list[tuple[tuple, str]] = []
    macros = {"severe": severe_macro(model.severe)}
    for key in ("held_back", "not_threat"):
        for i, pattern in enumerate(getattr(model.severe, key)):
            try:
                re.compile(expand_macros(pattern, macros))
            except re.error as err:
                found.append((("severe", key, i), f"展开 {{severe}} 以后正则表达式写错了（{err}）"))
    labels = {"label": id_label_macro(model.neutral)}
    for i, pattern in enumerate(model.neutral.ids):
        try:
            re.compile(expand_macros(pattern, labels))
        except re.error as err:
            found.append((("neutral", "ids", i), f"展开 {{label}} 以后正则表达式写错了（{err}）"))
    return found


def _fast_tree(text: str) -> Any:
    """The file as plain data through libyaml's C parser (ruamel.yaml.clib; ~6x faster than the
    round-trip parser, but without line numbers), or None when it does not parse."""
    try:
        return YAML(typ="safe").load(text)
    except Exception:  # any YAML problem: the round-trip parser reads it again and says where
        return None


def load_file(directory: Path, name: str, learned: bool = True,
              reader: bool = True) -> tuple[BaseModel | None, list[Problem]]:
    """Parse and validate one file of ``MODELS``; the model, or the problems with their lines.

    A file is read by the fast C parser first; the round-trip parser, which knows every node's
    line, reads it again only when a problem needs a line (start-up: -0.15 s per command).
    """
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(name, 0, "文件不存在（file missing）")]
    except UnicodeDecodeError:
        return None, [Problem(name, 0, "文件不是 UTF-8 编码（not UTF-8）")]
    tree = _fast_tree(text)
    rt_tree: list[Any] = []

    def lines() -> Any:
        """The round-trip tree, parsed once on demand, for the lines of problems."""
        if not rt_tree:
            rt_tree.append(YAML(typ="rt").load(text))
        return rt_tree[0]

    def line_tree() -> Any:
        try:
            return lines()
        except Exception:  # parsed by one parser, not the other: the problem keeps line 0
            return None

    if not isinstance(tree, dict):
        try:
            tree = lines()
        except MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else 0
            return None, [Problem(name, line, f"YAML 格式错误：{err.problem or err.context}")]
    if not isinstance(tree, dict):
        return None, [Problem(name, 1, "文件顶层必须是键值对（top level must be a mapping）")]
    try:
        model = MODELS[name].model_validate(_plain(tree))
    except ValidationError as err:
        problems = []
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"])
            problems.append(Problem(name, _line_of(line_tree(), e["loc"]), f"{where}: {e['msg']}"))
        return None, problems
    problems = [Problem(name, _line_of(line_tree(), loc), msg) for loc, msg in _cross_checks(name, model)]
    if isinstance(model, ForbiddenFile) and model.decision.model and learned and not problems:
        from bot.engine.learned import load_model     # pure Python: no scikit-learn, no numpy

        second_opinion, found = load_model(directory / model.decision.model)
        problems.extend(Problem(model.decision.model, line, msg) for line, msg in found)
        model._learned = second_opinion
    if isinstance(model, EmotionsFile) and model.learned.model and learned and reader and not problems:
        from bot.engine.learned import load_reader

        reader, found = load_reader(directory / model.learned.model)
        problems.extend(Problem(model.learned.model, line, msg) for line, msg in found)
        model._learned = reader
    return model, problems


def load_phrases(directory: Path, learned: bool = True, reader: bool = True) -> PhraseSet:
    """Load and validate every phrase file in ``directory``; raise :class:`PhraseFileError`.

    ``learned=False`` leaves the learned models out (training replaces them, so a missing or
    stale one must not stop it); ``reader=False`` only the analyser's (``check`` needs the guard's
    alone: 10 MB and 60 ms less).
    """
    directory = Path(directory)
    models: dict[str, BaseModel] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        raise PhraseFileError([Problem(str(directory), 0, "找不到短语目录（PHRASES_DIR is not a directory）")])
    for name in FILES:
        model, found = load_file(directory, name, learned, reader)
        problems.extend(found)
        if model is not None:
            models[name] = model
    if problems:
        raise PhraseFileError(problems)
    return PhraseSet(
        forbidden=models["forbidden.yaml"],
        emotions=models["emotions.yaml"],
        empathy=models["empathy.yaml"],
        categories=models["categories.yaml"],
        texts=models["texts.yaml"],
        suggestions=models["suggestions.yaml"],
        directory=directory,
        mtimes=file_mtimes(directory),
    )


def file_mtimes(directory: Path) -> dict[str, float]:
    """Modification times of the phrase files and the guard's model (missing files are left out)."""
    times = {}
    try:    # the learned model (model.json, retrained by complaint-bot phrases train) reloads like a phrase file
        models = sorted(p.name for p in Path(directory).glob("*.json"))
    except OSError:
        models = []
    for name in (*FILES, *models):
        try:
            times[name] = (Path(directory) / name).stat().st_mtime
        except OSError:
            pass
    return times
