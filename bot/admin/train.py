"""``complaint-bot phrases train``: retrain the guard's learned second opinion.

A multinomial logistic regression (scikit-learn) over binary character 1–3-grams of the
draft (:func:`bot.engine.learned.features`, the same function the bot scores with), trained
on the blind tuning split and the development drafts, written as a small JSON file of
weights next to ``forbidden.yaml``. No pickle: the bot scores it in pure Python.

The held-out split is never read here. Thresholds for ``forbidden.yaml``'s ``decision``
are suggested from *cross-validated* scores on the tuning split (each draft scored by a model
that never saw it), combined with the rules' own decisions, so they are not fitted to
in-sample scores::

    complaint-bot phrases train --data tests/data            # writes PHRASES_DIR/model.json
    python -m bot.admin.train --data tests/data --phrases bot/phrases

scikit-learn is an optional extra: ``pip install -e '.[train]'``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

from bot.engine.learned import FORMAT, LinearModel, features
from bot.engine.text import compact, normalize

CLASSES = ("ok", *map(str, range(1, 11)))


def dense(text: str) -> str:
    return compact(normalize(text), breaks=True).text


def training_rows(data: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(tuning split rows, development rows) as (label, text); warn-tier drafts count as ok."""
    from bot.admin.quality import read_blind, read_rows

    tune = [(r.label, r.text) for r in read_blind(data / "blind", "tune", "drafts")]     # every round
    dev = [("ok" if r.label == "warn" else r.label, r.text) for r in read_rows(data / "agent_drafts.tsv", drafts=True)]
    return tune, dev


def _analyzer(low: int, high: int):
    return lambda text: features(text, low, high)


def fit(rows: list[tuple[str, str]], c: float = 1.0, low: int = 1, high: int = 3, min_df: int = 1):
    """A fitted (vectorizer, LogisticRegression) pair on already-compacted texts."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=_analyzer(low, high), binary=True, min_df=min_df)
    matrix = vectorizer.fit_transform([t for _, t in rows])
    model = LogisticRegression(C=c, max_iter=5000).fit(matrix, [label for label, _ in rows])
    return vectorizer, model


def export(vectorizer, model, low: int, high: int, prune: float, meta: dict) -> dict:
    """The model as the JSON the bot reads (weights rounded, near-zero n-grams dropped)."""
    classes = [str(c) for c in model.classes_]
    order = [classes.index(c) for c in ["ok"] + [c for c in classes if c != "ok"]]
    coef = model.coef_[order]
    bias = [float(model.intercept_[i]) for i in order]
    weights = {}
    for gram, j in vectorizer.vocabulary_.items():
        column = coef[:, j]
        if abs(column).max() >= prune:
            weights[gram] = [round(float(w), 3) for w in column]
    return {
        "format": FORMAT,
        "about": "complaint-bot guard: learned second opinion (character n-gram logistic regression); "
                 "retrain with complaint-bot phrases train",
        "ngram": [low, high],
        "classes": [classes[i] for i in order],
        "bias": [round(b, 4) for b in bias],
        "weights": dict(sorted(weights.items())),
        "meta": meta,
    }


@dataclass
class Outcome:
    caught: float
    clean_blocked: float
    clean_confirm: float
    blocked: float = 0.0            # forbidden drafts blocked (not only sent to confirm)


def combine(rule_decision: str, word_block: bool, p: float, confirm: float, block: float, release: float) -> str:
    """The guard's tier moves (mirrors Guard._second_opinion) for threshold search."""
    if rule_decision == "block":
        return "confirm" if not word_block and p < release else "block"
    if rule_decision == "confirm":
        return "block" if p >= block else "confirm"
    return "confirm" if p >= confirm else "pass"


def cross_validated(tune, dev, c: float, low: int, high: int, min_df: int = 2, prune: float = 0.1,
                    folds: int = 5, seed: int = 0) -> list[float]:
    """P(forbidden) of each tuning draft from a model trained without it (dev always in training)."""
    from sklearn.model_selection import StratifiedKFold

    texts = [dense(t) for _, t in tune]
    labels = [label for label, _ in tune]
    dev_rows = [(label, dense(t)) for label, t in dev]
    scores = [0.0] * len(tune)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
        vectorizer, model = fit([(labels[i], texts[i]) for i in train_idx] + dev_rows, c, low, high, min_df)
        # score as the shipped file will: pruned, rounded weights
        payload = export(vectorizer, model, low, high, prune, {})
        shipped = LinearModel(tuple(payload["classes"]), tuple(payload["bias"]),
                              {g: tuple(w) for g, w in payload["weights"].items()}, low, high)
        for i in test_idx:
            scores[i] = shipped.score(texts[i]).forbidden
    return scores


def suggest_thresholds(tune, scores, guard, max_flagged: float = 0.05, max_unblocked: float = 0.05):
    """Thresholds from cross-validated scores on the tuning split.

    The rules were written on this split, so with them nearly every tuning draft is already
    decided and the split cannot show what the model must do on unseen text, where the rules
    miss more. ``model_confirm`` is therefore chosen on the model ALONE: the lowest threshold
    whose cross-validated share of clean drafts flagged stays within ``max_flagged``. ``model_block`` (confirm→block)
    is the lowest value (at least 0.5) at which the model alone blocks no clean tuning draft.
    ``model_release``: the largest value that moves at most ``max_unblocked`` of the forbidden
    drafts from block to confirm (it never lets a draft pass).
    """
    alone = [(label, "pass", False, p) for (label, _), p in zip(tune, scores)]
    grid = [round(x * 0.005, 3) for x in range(1, 201)]
    confirm = min((g for g in grid if evaluate(alone, g, 1.01, 0.0).clean_confirm <= max_flagged), default=1.01)
    block = min((g for g in grid if g >= 0.5 and evaluate(alone, 1.01, 1.01, 0.0, block_alone=g).clean_blocked == 0),
                default=1.01)
    decisions = []
    for (label, text), p in zip(tune, scores):
        result = guard.check(text)
        word_block = any(not v.rule.startswith("intent:") for v in result.violations)
        decisions.append((label, result.decision, word_block, p))
    base = evaluate(decisions, confirm, block, 0.0)
    release = 0.0
    for candidate in [round(x * 0.005, 3) for x in range(1, 61)]:
        if base.blocked - evaluate(decisions, confirm, block, candidate).blocked <= max_unblocked:
            release = candidate
    return (confirm, block, release), evaluate(alone, confirm, 1.01, 0.0), evaluate(decisions, confirm, block, release)


def evaluate(decisions, confirm: float, block: float, release: float, block_alone: float = 1.01) -> Outcome:
    forbidden = caught = clean = blocked = confirmed = forbidden_blocked = 0
    for label, rule_decision, word_block, p in decisions:
        got = "block" if p >= block_alone else combine(rule_decision, word_block, p, confirm, block, release)
        if label == "ok":
            clean += 1
            blocked += got == "block"
            confirmed += got == "confirm"
        else:
            forbidden += 1
            caught += got != "pass"
            forbidden_blocked += got == "block"
    return Outcome(caught / forbidden, blocked / clean, confirmed / clean, forbidden_blocked / forbidden)


def train(data: Path, phrases: Path, out: Path | None = None, c: float = 1.0, low: int = 1, high: int = 3,
          min_df: int = 2, prune: float = 0.1, write: bool = False) -> str:
    """Train on all of the tuning split + dev drafts, write the JSON, return a report."""
    from bot.engine.guard import Guard
    from bot.engine.phrases import load_file

    tune, dev = training_rows(data)
    forbidden, problems = load_file(phrases, "forbidden.yaml")
    problems = [p for p in problems if p.file == "forbidden.yaml"]   # a missing or old model is what we replace
    if problems or forbidden is None:
        raise SystemExit("\n".join(map(str, problems)))
    out = out or phrases / (forbidden.decision.model or "model.json")
    scores = cross_validated(tune, dev, c, low, high, min_df, prune)
    (confirm, block, release), alone, outcome = suggest_thresholds(tune, scores, Guard(forbidden, model=None))
    rows = [(label, dense(t)) for label, t in tune + dev]
    vectorizer, model = fit(rows, c, low, high, min_df)
    lengths = sorted(len(t) for _, t in rows)
    meta = {
        "lengths": {"shortest": lengths[0], "longest": lengths[-1]},
        "trained_on": {"tune_drafts": len(tune), "dev_drafts": len(dev)},
        "C": c, "min_df": min_df, "prune": prune,
        "cross_validated_tuning": {"model_confirm": confirm, "model_block": block, "model_release": release,
                                   "model_alone": {"caught": round(alone.caught, 3),
                                                   "clean_flagged": round(alone.clean_confirm, 3)},
                                   "with_rules": {"caught": round(outcome.caught, 3),
                                                  "clean_blocked": round(outcome.clean_blocked, 3),
                                                  "clean_confirm": round(outcome.clean_confirm, 3)}},
    }
    payload = export(vectorizer, model, low, high, prune, meta)
    out.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    report = (f"wrote {out} ({out.stat().st_size // 1024} KB, {len(payload['weights'])} n-grams) "
              f"from {len(tune)} tuning + {len(dev)} dev drafts\n"
              f"suggested decision thresholds (cross-validated on the tuning split): model_confirm {confirm}, "
              f"model_block {block}, model_release {release}\n"
              f"  model alone: caught {alone.caught:.3f}, clean flagged {alone.clean_confirm:.3f}\n"
              f"  with the rules (optimistic: the rules were written on this split): caught {outcome.caught:.3f}, "
              f"clean blocked {outcome.clean_blocked:.3f}, clean confirm {outcome.clean_confirm:.3f}\n")
    if not write:
        return report + ("put them in forbidden.yaml's decision section (or rerun with --write), "
                         "then run complaint-bot phrases test")
    write_thresholds(phrases, {"model_confirm": confirm, "model_block": block, "model_release": release})
    return report + f"written to {phrases / 'forbidden.yaml'}'s decision section; now run complaint-bot phrases test"


def write_thresholds(phrases: Path, thresholds: dict[str, float]) -> None:
    """Set ``decision``'s thresholds in ``forbidden.yaml``, keeping its comments and layout (ruamel)."""
    from ruamel.yaml import YAML

    path = Path(phrases) / "forbidden.yaml"
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    tree = yaml.load(path.read_text(encoding="utf-8"))
    decision = tree.get("decision")
    if decision is None:
        raise ValueError("forbidden.yaml has no decision section")
    for key, value in thresholds.items():
        decision[key] = value
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("tests/data"))
    parser.add_argument("--phrases", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help="write the thresholds into forbidden.yaml")
    args = parser.parse_args(argv)
    print(train(args.data, args.phrases, args.out, args.c, write=args.write))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
