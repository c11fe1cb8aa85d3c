"""Detection quality of the engine, measured on labelled files.

``python -m bot.admin.quality`` prints the figures the README quotes; the test suite
asserts the targets on the same numbers. The files are tab-separated:

* customer messages: ``emotion  severe  hard  text`` (emotion ``none`` = not negative)
* agent drafts:      ``label  hard  text`` (label a forbidden id 1-10, ``warn`` or ``ok``)

Usage::

    python -m bot.admin.quality [--phrases phrases] [--errors]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.store import Engine



@dataclass(frozen=True)
class Row:
    label: str
    severe: bool
    hard: bool
    text: str


def read_rows(path: Path, drafts: bool) -> list[Row]:
    """Parse a labelled TSV file (``#`` lines are comments)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if drafts:
            label, hard, text = line.split("\t", 2)
            rows.append(Row(label, False, hard == "1", text))
        else:
            label, severe, hard, text = line.split("\t", 3)
            rows.append(Row(label, severe == "1", hard == "1", text))
    return rows


def f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


@dataclass
class CustomerScore:
    total: int = 0
    negative_f1: float = 0.0
    severe_f1: float = 0.0
    emotion_accuracy: float = 0.0
    hard_negative_f1: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class GuardScore:
    forbidden: int = 0
    caught: int = 0
    right_id: int = 0
    clean: int = 0
    wrongly_blocked: int = 0
    warn: int = 0
    warned: int = 0
    hard_forbidden: int = 0
    hard_caught: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def caught_rate(self) -> float:
        return self.caught / self.forbidden if self.forbidden else 0.0

    @property
    def false_block_rate(self) -> float:
        return self.wrongly_blocked / self.clean if self.clean else 0.0


def score_customers(engine: Engine, rows: list[Row]) -> CustomerScore:
    """Negative F1, severe F1, and emotion accuracy on the truly negative messages."""
    score = CustomerScore(total=len(rows))
    neg = [0, 0, 0]
    sev = [0, 0, 0]
    hard_neg = [0, 0, 0]
    emotion_right = emotion_total = 0
    for row in rows:
        result = engine.analyzer.analyze(row.text)
        truth = row.label != "none"
        for counts, want in ((neg, True), (hard_neg, row.hard)):
            if not want:
                continue
            if truth and result.negative:
                counts[0] += 1
            elif result.negative:
                counts[1] += 1
            elif truth:
                counts[2] += 1
        if row.severe and result.severe:
            sev[0] += 1
        elif result.severe:
            sev[1] += 1
        elif row.severe:
            sev[2] += 1
        if truth:
            emotion_total += 1
            emotion_right += result.emotion == row.label
        got = result.emotion or "none"
        if got != row.label or result.severe != row.severe:
            score.errors.append(
                f"want {row.label}{' severe' if row.severe else ''}, got {got}"
                f"{' severe' if result.severe else ''} ({result.scores}) : {row.text}"
            )
    score.negative_f1 = f1(*neg)
    score.severe_f1 = f1(*sev)
    score.hard_negative_f1 = f1(*hard_neg)
    score.emotion_accuracy = emotion_right / emotion_total if emotion_total else 0.0
    return score


def score_drafts(engine: Engine, rows: list[Row]) -> GuardScore:
    """Share of forbidden drafts blocked, share of clean drafts wrongly blocked."""
    score = GuardScore()
    for row in rows:
        result = engine.guard.check(row.text)
        ids = [str(v.id) for v in result.violations]
        if row.label.isdigit():
            score.forbidden += 1
            score.hard_forbidden += row.hard
            if not result.ok:
                score.caught += 1
                score.hard_caught += row.hard
                score.right_id += row.label in ids
            else:
                score.errors.append(f"missed {row.label}: {row.text}")
        else:
            score.clean += 1
            if not result.ok:
                score.wrongly_blocked += 1
                score.errors.append(f"blocked {ids} but {row.label}: {row.text}")
            if row.label == "warn":
                score.warn += 1
                score.warned += bool(result.warnings)
                if not result.warnings:
                    score.errors.append(f"no warning: {row.text}")
    return score


def report(engine: Engine, data: Path, errors: bool = False) -> str:
    """The figures for the dev set and the held-out set (what the README quotes)."""
    parts = []
    for title, prefix in (("Dev set (phrase files tuned on it)", ""), ("Held-out set", "holdout_")):
        if (data / f"{prefix}customer_messages.tsv").exists():
            parts.append(f"## {title}\n" + _report_files(engine, data, prefix, errors))
    return "\n\n".join(parts)


def _report_files(engine: Engine, data: Path, prefix: str, errors: bool) -> str:
    customers = read_rows(data / f"{prefix}customer_messages.tsv", drafts=False)
    drafts = read_rows(data / f"{prefix}agent_drafts.tsv", drafts=True)
    c = score_customers(engine, customers)
    g = score_drafts(engine, drafts)
    hard_c = sum(r.hard for r in customers)
    lines = [
        f"Customer messages: {c.total} ({hard_c} hard)",
        f"- negative-emotion F1: {c.negative_f1:.3f} (hard ones only: {c.hard_negative_f1:.3f})",
        f"- severe F1: {c.severe_f1:.3f}",
        f"- emotion category accuracy (negative messages): {c.emotion_accuracy:.3f}",
        f"Agent drafts: {len(drafts)} ({sum(r.hard for r in drafts)} hard)",
        f"- forbidden drafts blocked: {g.caught}/{g.forbidden} = {g.caught_rate:.1%}"
        f" (hard ones: {g.hard_caught}/{g.hard_forbidden}; right id: {g.right_id}/{g.caught})",
        f"- clean drafts wrongly blocked: {g.wrongly_blocked}/{g.clean} = {g.false_block_rate:.1%}",
        f"- warn-tier drafts flagged (not blocked): {g.warned}/{g.warn}",
    ]
    if errors:
        lines += ["", "Analyser disagreements:"] + [f"  {e}" for e in c.errors]
        lines += ["", "Guard disagreements:"] + [f"  {e}" for e in g.errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrases", type=Path, default=Path("phrases"))
    parser.add_argument("--data", type=Path, required=True, help="folder of labelled files, e.g. tests/data")
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    print(report(Engine.load(args.phrases), args.data, args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
