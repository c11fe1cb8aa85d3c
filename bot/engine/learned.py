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
from pathlib import Path

FORMAT = "complaint-bot/char-ngram-logistic/1"
BOUNDARY = "|"


def features(dense: str, low: int = 1, high: int = 3) -> list[str]:
    """Character n-grams of a compacted draft (clause breaks as ``|``, digits folded to 0).

    The same function is the analyzer scikit-learn trains with, so training and scoring
    can never disagree on what a feature is.
    """
    text = BOUNDARY + "".join("0" if ch.isdigit() else ch for ch in dense) + BOUNDARY
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


def load_model(path: Path) -> tuple[LinearModel | None, list[tuple[int, str]]]:
    """The model in ``path``, or ``(None, [(line, problem), ...])``; never raises."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [(0, "模型文件不存在（model file missing）：运行 complaint-bot phrases train，或删掉 decision.model")]
    except (OSError, UnicodeDecodeError) as err:
        return None, [(0, f"模型文件读不了（{err}）")]
    except json.JSONDecodeError as err:
        return None, [(err.lineno, f"模型文件不是合法的 JSON（{err.msg}）")]
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
