"""``complaint-bot phrases train``: retrain the analyser's learned reader (``reader.json``).

Stage one: two logistic regressions (scikit-learn) over binary character 1–2-grams of the
normalised message and its jieba words and word pairs (:meth:`ReaderModel.grams`, the function
the bot scores with, on the tokens the analyser cuts), one for the emotion (``none`` and the four feelings), one for a severe threat. Stage two, the
*combiner*: two more small logistic regressions (the emotion, and severe) over the rules'
reading (:meth:`Analyzer.evidence`) and stage one's log-odds (each feeling against none, and
severe). The combiner is fitted on each message's *cross-validated* stage-one output (every
message scored by models that never saw it), because that is what stage one will give on the
next unseen message; fitted on in-sample outputs it would trust them blindly. Stage one's
log-odds are linear in the n-grams, so both stages fold into one linear model (:func:`fold`).
Last, a bias toward "no complaint" is chosen on the cross-validated outputs
(:func:`choose_none_bias`).

Trained on the development set of the first plan and every round's tuning split. Held-out
files are never read (nor the first plan's ``holdout_*`` files, kept to measure it)::

    complaint-bot phrases train --data tests/data                    # both models: guard and reader
    complaint-bot phrases train --only reader --max-neutral 0.03     # the bias's target, for instance

scikit-learn is an optional extra: ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from bot.engine.learned import (READER_CLASSES, READER_FORMAT, READER_OUTPUTS, RULE_EVIDENCE, ReaderModel,
                                Verdict, reader_features)
from bot.engine.text import normalize_text

# Features, chosen by cross-validation on the training rows (neutral read as negative at the bias
# the rule below picks, negative F1 0.960 each time): character 1-2-grams 2.5 %; with jieba words
# and word pairs 2.1 %. Without single characters also 2.1 %, but 36,600 features instead of
# 26,600 and no faster in place; stage-one pruning at 0.1 instead of 0.05: 2.5 %.
LOW, HIGH = 1, 2
WORDS = True
FOLDED_FLOOR = 0.001    # folded weights smaller than this (in every output) are dropped: they round to 0


@dataclass(frozen=True)
class Example:
    emotion: str        # one of READER_CLASSES
    severe: bool
    text: str
    tokens: tuple[str, ...] | None = None   # the analyser's jieba tokens (:func:`with_tokens`)


def training_rows(data: Path) -> list[Example]:
    """The development messages and every round's tuning split (never a held-out file)."""
    from bot.admin.quality import read_blind_customers, read_rows

    rows = [Example(r.label, r.severe, r.text) for r in read_rows(data / "customer_messages.tsv", drafts=False)]
    for path in sorted((data / "blind").glob("tune_customers*.tsv")):
        rows += [Example(r.emotion, r.severe, r.text) for r in read_blind_customers(path)]
    return rows


def with_tokens(rows: list[Example], tokens) -> list[Example]:
    """The rows with the analyser's tokens (``tokens``: ``Analyzer.tokens``), for the word features."""
    return [replace(r, tokens=tuple(tokens(r.text))) for r in rows]


def _features(row: Example) -> list[str]:
    return sorted(reader_features(normalize_text(row.text), row.tokens, LOW, HIGH, WORDS))


def commonest_first(weights: dict[str, list[float]], rows: list[Example]) -> dict[str, list[float]]:
    """The weights ordered by how many of ``rows`` carry each feature, commonest first (ties by
    text). The bot loads them in this order, so the rows most messages touch are allocated side
    by side: about 3 µs a message less than in alphabetical order (measured in one process,
    alternating the two, with the rest of the analyser running between look-ups)."""
    carried = Counter(g for row in rows for g in _features(row))
    return dict(sorted(weights.items(), key=lambda item: (-carried[item[0]], item[0])))


def fit_grams(rows: list[Example], c: float):
    """(vectorizer, emotion model, severe model) on the rows' features."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=_features, binary=True)
    matrix = vectorizer.fit_transform(rows)
    emotion = LogisticRegression(C=c, max_iter=5000).fit(matrix, [r.emotion for r in rows])
    severe = LogisticRegression(C=c, max_iter=5000).fit(matrix, [int(r.severe) for r in rows])
    return vectorizer, emotion, severe


def gram_table(vectorizer, emotion, severe, prune: float) -> tuple[list[float], dict[str, list[float]]]:
    """Bias and per-n-gram weights, six columns (READER_CLASSES, then severe), small ones dropped."""
    classes = [str(c) for c in emotion.classes_]
    order = [classes.index(c) for c in READER_CLASSES]
    coef = emotion.coef_[order]
    bias = [round(float(emotion.intercept_[i]), 4) for i in order] + [round(float(severe.intercept_[0]), 4)]
    weights = {}
    for gram, j in vectorizer.vocabulary_.items():
        column = [*coef[:, j], severe.coef_[0, j]]
        if max(abs(w) for w in column) >= prune:
            weights[gram] = [round(float(w), 3) for w in column]
    return bias, dict(sorted(weights.items()))


def _shipped(bias: list[float], weights: dict[str, list[float]]) -> ReaderModel:
    """Stage one alone, pruned and rounded as the shipped model's stage one is (before folding)."""
    no_rules = tuple((0.0,) * len(RULE_EVIDENCE) for _ in READER_OUTPUTS)
    return ReaderModel(tuple(bias), {g: tuple(w) for g, w in weights.items()}, no_rules, LOW, HIGH, words=WORDS)


def odds(logits: list[float] | tuple[float, ...]) -> list[float]:
    """The n-gram models' evidence for the combiner: each feeling's log-odds against none, and severe's."""
    return [logits[k] - logits[0] for k in range(1, len(READER_CLASSES))] + [logits[len(READER_CLASSES)]]


def model_logits(rows: list[Example], c: float, prune: float, folds: int = 5, seed: int = 0) -> list[list[float]]:
    """Each row's six n-gram logits from models trained without it (cross-validated)."""
    from sklearn.model_selection import StratifiedKFold

    out: list[list[float]] = [[] for _ in rows]
    labels = [r.emotion for r in rows]
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels):
        model = _shipped(*gram_table(*fit_grams([rows[i] for i in train_idx], c), prune))
        for i in test_idx:
            out[i] = list(model.read(normalize_text(rows[i].text), [0.0] * len(RULE_EVIDENCE), rows[i].tokens).scores)
    return out


def fit_combiner(x: list[list[float]], rows: list[Example], c: float):
    """(emotion combiner, severe combiner): logistic regressions over rule evidence + n-gram odds."""
    from sklearn.linear_model import LogisticRegression

    emotion = LogisticRegression(C=c, max_iter=5000).fit(x, [r.emotion for r in rows])
    severe = LogisticRegression(C=c, max_iter=5000).fit(x, [int(r.severe) for r in rows])
    return emotion, severe


def combiner_matrix(emotion, severe) -> tuple[list[float], list[list[float]]]:
    """(bias, rows): the six outputs as linear functions of the evidence."""
    classes = [str(c) for c in emotion.classes_]
    order = [classes.index(c) for c in READER_CLASSES]
    bias = [float(emotion.intercept_[i]) for i in order] + [float(severe.intercept_[0])]
    rows = [[float(w) for w in emotion.coef_[i]] for i in order] + [[float(w) for w in severe.coef_[0]]]
    return bias, rows


def fold(combiner: tuple[list[float], list[list[float]]], gram_bias: list[float],
         gram_weights: dict[str, list[float]], prune: float) -> dict:
    """One linear model: the combiner applied to the n-gram models, whose odds are linear in the n-grams."""
    bias, rows = combiner
    n_rules = len(RULE_EVIDENCE)

    def through(vector: list[float]) -> list[float]:      # n-gram odds -> the six outputs
        o = odds(vector)
        return [sum(w * v for w, v in zip(row[n_rules:], o)) for row in rows]

    folded_bias = [b + t for b, t in zip(bias, through(gram_bias))]
    weights = {}
    for gram, column in gram_weights.items():
        folded = through(column)
        if max(abs(w) for w in folded) >= prune:
            weights[gram] = [round(w, 3) for w in folded]
    return {"bias": [round(b, 4) for b in folded_bias], "weights": weights,
            "rules": [[round(w, 4) for w in row[:n_rules]] for row in rows]}


@dataclass
class Estimate:
    """Cross-validated figures on the training rows (the combiner scored on folds it never saw)."""

    negative_f1: float
    severe_f1: float
    emotion_accuracy: float
    neutral_read_negative: float


def cross_validated_scores(x: list[list[float]], rows: list[Example], c: float, folds: int = 5,
                           seed: int = 1) -> list[list[float]]:
    """Each row's six outputs from a combiner fitted without it."""
    from sklearn.model_selection import StratifiedKFold

    out: list[list[float]] = [[] for _ in rows]
    labels = [r.emotion for r in rows]
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels):
        bias, matrix = combiner_matrix(*fit_combiner([x[i] for i in train_idx], [rows[i] for i in train_idx], c))
        for i in test_idx:
            out[i] = [b + sum(w * v for w, v in zip(row, x[i])) for b, row in zip(bias, matrix)]
    return out


def estimate(scores: list[list[float]], rows: list[Example], none_bias: float = 0.0) -> Estimate:
    """The figures the outputs give with ``none_bias`` added to the score of "no complaint"."""
    from bot.admin.quality import f1

    neg, sev = [0, 0, 0], [0, 0, 0]
    right = negatives = neutral = neutral_wrong = 0
    for row, six in zip(rows, scores):
        verdict = Verdict((six[0] + none_bias, *six[1:]))
        emotion, severe = verdict.emotion or "none", verdict.severe
        want, have = row.emotion != "none", emotion != "none"
        for counts, w, h in ((neg, want, have), (sev, row.severe, severe)):
            counts[0] += w and h
            counts[1] += h and not w
            counts[2] += w and not h
        if want:
            negatives += 1
            right += emotion == row.emotion
        else:
            neutral += 1
            neutral_wrong += have
    return Estimate(f1(*neg), f1(*sev), right / max(negatives, 1), neutral_wrong / max(neutral, 1))


def choose_none_bias(scores: list[list[float]], rows: list[Example], max_neutral: float,
                     min_negative_f1: float) -> float:
    """The smallest bias toward "no complaint" whose cross-validated share of neutral messages
    read as complaints is at most ``max_neutral``, as long as negative F1 stays at least
    ``min_negative_f1`` (an apology to a customer who did not complain costs trust; a complaint
    read as small talk costs more, so F1 bounds the trade).

    The default floor, 0.96, is the issue's 0.95 plus the optimism measured on held-out text:
    cross-validation here runs on rows the rules were written on, and read 0.951 where the
    held-out split then gave 0.947 (and 1.9 % neutral where it gave 3.3 %)."""
    chosen = 0.0
    for step in range(0, 61):
        bias = step * 0.05
        figures = estimate(scores, rows, bias)
        if figures.negative_f1 < min_negative_f1:
            break
        chosen = bias
        if figures.neutral_read_negative <= max_neutral:
            break
    return chosen


def train(data: Path, phrases: Path, out: Path | None = None, c: float = 3.0, combine_c: float = 0.3,
          prune: float = 0.05, max_neutral: float = 0.02, min_negative_f1: float = 0.96) -> str:
    """Train on the development set and the tuning split, write reader.json, return a report."""
    from bot.engine.analysis import Analyzer, cut_fingerprint
    from bot.engine.phrases import load_phrases

    phrase_set = load_phrases(phrases, learned=False)
    out = out or phrases / (phrase_set.emotions.learned.model or "reader.json")
    rules = Analyzer(phrase_set, reader=None)
    rows = with_tokens(training_rows(data), rules.tokens)
    # the reader is only asked about messages past the neutral gate (bare ids, emoji-only praise):
    # trained on the gated ones too, it would learn that order numbers mean "no complaint"
    rule_evidence = [rules.evidence(r.text) for r in rows]
    asked = [i for i, e in enumerate(rule_evidence) if e is not None]
    asked_rows = [rows[i] for i in asked]
    logits = model_logits(asked_rows, c, prune)
    x = [rule_evidence[i] + odds(scores) for i, scores in zip(asked, logits)]
    scores = cross_validated_scores(x, asked_rows, combine_c)
    none_bias = choose_none_bias(scores, asked_rows, max_neutral, min_negative_f1)
    plain, cv = estimate(scores, asked_rows), estimate(scores, asked_rows, none_bias)
    bias, matrix = combiner_matrix(*fit_combiner(x, asked_rows, combine_c))
    combiner = ([bias[0] + none_bias, *bias[1:]], matrix)
    # stage one pruned as in cross-validation, so the combiner reads the odds it was fitted on
    gram_bias, gram_weights = gram_table(*fit_grams(asked_rows, c), prune)
    folded = fold(combiner, gram_bias, gram_weights, FOLDED_FLOOR)
    payload = {
        "format": READER_FORMAT,
        "about": "complaint-bot analyser: learned reading, one linear model over character n-grams, jieba words and the rules' "
                 "reading (n-gram models and their combiner, folded); retrain with complaint-bot phrases train",
        "ngram": [LOW, HIGH],
        "words": WORDS,
        "outputs": list(READER_OUTPUTS),
        "rule_evidence": list(RULE_EVIDENCE),
        "bias": folded["bias"],
        "rules": folded["rules"],
        "weights": commonest_first(folded["weights"], asked_rows),
        "meta": {"rules": phrase_set.emotions.fingerprint(), "cut": cut_fingerprint(phrase_set),
                 "trained_on": len(rows), "combiner_rows": len(asked), "C": c, "combine_C": combine_c,
                 "prune": prune, "none_bias": none_bias,
                 "cross_validated": {k: round(v, 3) for k, v in cv.__dict__.items()},
                 "cross_validated_without_none_bias": {k: round(v, 3) for k, v in plain.__dict__.items()}},
    }
    out.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return (f"wrote {out} ({out.stat().st_size // 1024} KB, {len(payload['weights'])} features) from {len(rows)} "
            f"messages ({len(asked)} past the neutral gate)\n"
            f"bias toward no complaint: {none_bias:.2f} (toward at most {max_neutral:.0%} of neutral messages read "
            f"as complaints, as far as negative F1 stays at least {min_negative_f1})\n"
            f"cross-validated on them (optimistic: the rules were written on these rows): negative F1 "
            f"{cv.negative_f1:.3f}, severe F1 {cv.severe_f1:.3f}, emotion accuracy {cv.emotion_accuracy:.3f}, "
            f"neutral read as negative {cv.neutral_read_negative:.3f} (without the bias: {plain.negative_f1:.3f}, "
            f"{plain.severe_f1:.3f}, {plain.emotion_accuracy:.3f}, {plain.neutral_read_negative:.3f})")
