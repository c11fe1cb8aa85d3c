"""``complaint-bot phrases train``: retrain the analyser's learned reading (``reader.json``).

Two logistic regressions (scikit-learn) over binary character 1–2-grams of the normalised
message (:func:`bot.engine.learned.features`, the function the bot scores with): one for the
emotion (``none`` and the four feelings), one for a severe threat. A third, small one, the
*combiner*, decides from the rules' reading (:meth:`Analyzer.evidence`) and the two models'
log-probabilities together. It is fitted on each message's *cross-validated* model output
(every message scored by models that never saw it), because that is what the models will
give on the next unseen message; fitted on in-sample outputs it would trust them blindly.

Trained on the development set and the blind corpus's tuning split. The held-out split is
never read here::

    complaint-bot phrases train --data tests/data          # both models: guard and reader
    python -m bot.admin.train_reader --data tests/data --phrases bot/phrases

scikit-learn is an optional extra: ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from bot.engine.learned import (READER_CLASSES, READER_FORMAT, READER_OUTPUTS, RULE_EVIDENCE, ReaderModel,
                                Verdict, features)
from bot.engine.text import normalize_text

LOW, HIGH = 1, 2
GATED = "gated"     # the neutral gate decided: the combiner is never asked about these


@dataclass(frozen=True)
class Example:
    emotion: str        # one of READER_CLASSES
    severe: bool
    text: str


def training_rows(data: Path) -> list[Example]:
    """The development messages and the blind tuning split (never the held-out split)."""
    from bot.admin.quality import read_blind_customers, read_rows

    rows = []
    for name in ("customer_messages.tsv", "holdout_customer_messages.tsv"):
        if (data / name).exists():
            rows += [Example(r.label, r.severe, r.text) for r in read_rows(data / name, drafts=False)]
    for path in sorted((data / "blind").glob("tune_customers*.tsv")):
        rows += [Example(r.emotion, r.severe, r.text) for r in read_blind_customers(path)]
    return rows


def _grams(norm: str) -> list[str]:
    return features(norm, LOW, HIGH)


def fit_grams(rows: list[Example], c: float):
    """(vectorizer, emotion model, severe model) on the rows' normalised texts."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=_grams, binary=True)
    matrix = vectorizer.fit_transform([normalize_text(r.text) for r in rows])
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
    """The n-gram models alone, with the shipped (pruned, rounded) weights, to score as the bot will."""
    no_rules = tuple((0.0,) * len(RULE_EVIDENCE) for _ in READER_OUTPUTS)
    return ReaderModel(tuple(bias), {g: tuple(w) for g, w in weights.items()}, no_rules, LOW, HIGH)


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
            out[i] = list(model.read(normalize_text(rows[i].text), [0.0] * len(RULE_EVIDENCE)).scores)
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


def estimate(x: list[list[float]], rows: list[Example], c: float, folds: int = 5, seed: int = 1) -> Estimate:
    from sklearn.model_selection import StratifiedKFold

    from bot.admin.quality import f1

    got: list[tuple[str, bool]] = [("none", False)] * len(rows)
    labels = [r.emotion for r in rows]
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels):
        bias, matrix = combiner_matrix(*fit_combiner([x[i] for i in train_idx], [rows[i] for i in train_idx], c))
        for i in test_idx:
            verdict = Verdict(tuple(b + sum(w * v for w, v in zip(row, x[i])) for b, row in zip(bias, matrix)))
            got[i] = (verdict.emotion or "none", verdict.severe)
    neg, sev = [0, 0, 0], [0, 0, 0]
    right = negatives = neutral = neutral_wrong = 0
    for row, (emotion, severe) in zip(rows, got):
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


def train(data: Path, phrases: Path, out: Path | None = None, c: float = 3.0, combine_c: float = 0.3,
          prune: float = 0.05) -> str:
    """Train on the development set and the tuning split, write reader.json, return a report."""
    from bot.engine.analysis import Analyzer
    from bot.engine.phrases import load_phrases

    phrase_set = load_phrases(phrases, learned=False)
    out = out or phrases / (phrase_set.emotions.learned.model or "reader.json")
    rules = Analyzer(phrase_set, reader=None)
    rows = training_rows(data)
    # the reader is only asked about messages past the neutral gate (bare ids, emoji-only praise):
    # trained on the gated ones too, it would learn that order numbers mean "no complaint"
    rule_evidence = [rules.evidence(r.text) for r in rows]
    asked = [i for i, e in enumerate(rule_evidence) if e is not None]
    asked_rows = [rows[i] for i in asked]
    logits = model_logits(asked_rows, c, prune)
    x = [rule_evidence[i] + odds(scores) for i, scores in zip(asked, logits)]
    cv = estimate(x, asked_rows, combine_c)
    combiner = combiner_matrix(*fit_combiner(x, asked_rows, combine_c))
    gram_bias, gram_weights = gram_table(*fit_grams(asked_rows, c), 0.0)
    folded = fold(combiner, gram_bias, gram_weights, prune)
    payload = {
        "format": READER_FORMAT,
        "about": "complaint-bot analyser: learned reading, one linear model over character n-grams and the rules' "
                 "reading (n-gram models and their combiner, folded); retrain with complaint-bot phrases train",
        "ngram": [LOW, HIGH],
        "outputs": list(READER_OUTPUTS),
        "rule_evidence": list(RULE_EVIDENCE),
        "bias": folded["bias"],
        "rules": folded["rules"],
        "weights": dict(sorted(folded["weights"].items())),
        "meta": {"trained_on": len(rows), "combiner_rows": len(asked), "C": c, "combine_C": combine_c,
                 "prune": prune, "cross_validated": {k: round(v, 3) for k, v in cv.__dict__.items()}},
    }
    out.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return (f"wrote {out} ({out.stat().st_size // 1024} KB, {len(payload['weights'])} n-grams) from {len(rows)} "
            f"messages ({len(asked)} past the neutral gate)\n"
            f"cross-validated on them (optimistic: the rules were written on these rows): negative F1 "
            f"{cv.negative_f1:.3f}, severe F1 {cv.severe_f1:.3f}, emotion accuracy {cv.emotion_accuracy:.3f}, "
            f"neutral read as negative {cv.neutral_read_negative:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("tests/data"))
    parser.add_argument("--phrases", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--c", type=float, default=3.0)
    parser.add_argument("--combine-c", type=float, default=0.3)
    args = parser.parse_args(argv)
    print(train(args.data, args.phrases, args.out, args.c, args.combine_c))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
