"""Detection quality of the engine, measured on labelled files.

``python -m bot.admin.quality`` prints the figures the README quotes; the test suite
asserts the targets on the same numbers. The files are tab-separated:

* customer messages: ``emotion  severe  hard  text`` (emotion ``none`` = not negative)
* agent drafts:      ``label  hard  text`` (label a forbidden id 1-10, ``warn`` or ``ok``)

Usage::

    python -m bot.admin.quality --data tests/data [--phrases phrases] [--errors]
    python -m bot.admin.quality --data tests/data --blind            # tuning vs held-out table
    python -m bot.admin.quality --data tests/data --blind --errors   # tuning split's misses only
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.store import Engine
from bot.settings import Settings



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


# ---------------------------------------------------------------- the blind corpus



@dataclass(frozen=True)
class BlindDraft:
    label: str          # "1".."10" or "ok"
    kind: str
    industry: str
    text: str


@dataclass(frozen=True)
class BlindCustomer:
    emotion: str        # one of the four, or "none"
    intensity: int
    severe: bool
    kind: str
    industry: str
    text: str


def _tsv(path: Path, columns: int) -> list[list[str]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.split("\t", columns - 1) for line in lines if line.strip() and not line.startswith("#")]


def read_blind_drafts(path: Path) -> list[BlindDraft]:
    return [BlindDraft(*parts) for parts in _tsv(path, 4)]


def read_blind_customers(path: Path) -> list[BlindCustomer]:
    return [BlindCustomer(e, int(i), s == "1", k, ind, t) for e, i, s, k, ind, t in _tsv(path, 6)]


def decision(result) -> str:
    """``block``, ``confirm`` or ``pass`` for a guard result."""
    explicit = getattr(result, "decision", None)
    if explicit:
        return explicit
    return "block" if not result.ok else "confirm" if result.warnings else "pass"


@dataclass
class BlindGuardScore:
    forbidden: int = 0
    caught: int = 0                 # blocked or sent to confirm
    blocked: int = 0
    clean: int = 0
    clean_blocked: int = 0
    clean_confirm: int = 0
    errors: list[str] = field(default_factory=list)

    def rate(self, part: int, whole: int) -> float:
        return part / whole if whole else 0.0


def score_blind_drafts(engine: Engine, rows: list[BlindDraft]) -> BlindGuardScore:
    score = BlindGuardScore()
    for row in rows:
        verdict = decision(engine.guard.check(row.text))
        if row.label == "ok":
            score.clean += 1
            score.clean_blocked += verdict == "block"
            score.clean_confirm += verdict == "confirm"
            if verdict != "pass":
                score.errors.append(f"{verdict} but ok ({row.kind}): {row.text}")
        else:
            score.forbidden += 1
            score.caught += verdict != "pass"
            score.blocked += verdict == "block"
            if verdict == "pass":
                score.errors.append(f"passed but {row.label} ({row.kind}): {row.text}")
    return score


@dataclass
class BlindAnalyserScore:
    total: int = 0
    negative_f1: float = 0.0
    severe_f1: float = 0.0
    emotion_accuracy: float = 0.0
    intensity_accuracy: float = 0.0
    neutral: int = 0
    neutral_read_negative: int = 0
    errors: list[str] = field(default_factory=list)


def score_blind_customers(engine: Engine, rows: list[BlindCustomer]) -> BlindAnalyserScore:
    score = BlindAnalyserScore(total=len(rows))
    neg, sev = [0, 0, 0], [0, 0, 0]
    right = negative = intensity_right = 0
    for row in rows:
        got = engine.analyzer.analyze(row.text)
        truth = row.emotion != "none"
        for counts, want, have in ((neg, truth, got.negative), (sev, row.severe, got.severe)):
            counts[0] += want and have
            counts[1] += have and not want
            counts[2] += want and not have
        if truth:
            negative += 1
            right += got.emotion == row.emotion
            intensity_right += got.intensity == row.intensity
        else:
            score.neutral += 1
            score.neutral_read_negative += got.negative
        if (got.emotion or "none") != row.emotion or got.severe != row.severe:
            score.errors.append(f"want {row.emotion}{' severe' if row.severe else ''}, got {got.emotion or 'none'}"
                                f"{' severe' if got.severe else ''} ({row.kind}): {row.text}")
    score.negative_f1, score.severe_f1 = f1(*neg), f1(*sev)
    score.emotion_accuracy = right / negative if negative else 0.0
    score.intensity_accuracy = intensity_right / negative if negative else 0.0
    return score


# Each round of blind writing adds files with a suffix (``tune_customers_round2.tsv``; rounds 3
# to 6 wrote customer messages only); a split is every round's file of that split. The table
# shows the held-out split per round too: a round never measured before is the honest figure;
# older ones have informed choices in aggregate.
ROUNDS = (("round 1", ""), ("round 2", "_round2"), ("round 3", "_round3"), ("round 4", "_round4"),
          ("round 5", "_round5"), ("round 6", "_round6"))


def blind_files(folder: Path, split: str, kind: str, suffix: str | None = None) -> list[Path]:
    """The ``split`` files (``tune``/``holdout``) of ``kind`` (``drafts``/``customers``): one round or all."""
    if suffix is not None:
        return [path for path in [folder / f"{split}_{kind}{suffix}.tsv"] if path.exists()]
    return sorted(folder.glob(f"{split}_{kind}*.tsv"))


def read_blind(folder: Path, split: str, kind: str, suffix: str | None = None) -> list:
    read = read_blind_drafts if kind == "drafts" else read_blind_customers
    return [row for path in blind_files(folder, split, kind, suffix) for row in read(path)]


def blind_table(engine: Engine, folder: Path) -> str:
    """Tuning and held-out figures side by side (the README's quality table), held-out per round too."""
    parts = [("tuning split", "tune", None), *[(f"held-out, {name}", "holdout", suffix) for name, suffix in ROUNDS
                                                if blind_files(folder, "holdout", "customers", suffix)],
             ("held-out, all", "holdout", None)]
    guard = [score_blind_drafts(engine, read_blind(folder, split, "drafts", suffix)) for _, split, suffix in parts]
    reader = [score_blind_customers(engine, read_blind(folder, split, "customers", suffix))
              for _, split, suffix in parts]
    def drafts(cell):       # a round without drafts shows a dash, not 0/0
        return lambda g, r: cell(g, r) if g.forbidden + g.clean else "–"

    rows = [
        ("agent drafts", lambda g, r: f"{g.forbidden + g.clean}"),
        ("forbidden drafts caught (block or confirm)", drafts(lambda g, r: f"{g.rate(g.caught, g.forbidden):.3f}")),
        ("forbidden drafts blocked", drafts(lambda g, r: f"{g.rate(g.blocked, g.forbidden):.3f}")),
        ("clean drafts blocked", drafts(lambda g, r: f"{g.rate(g.clean_blocked, g.clean):.3f} "
                                                     f"({g.clean_blocked}/{g.clean})")),
        ("clean drafts sent to confirm", drafts(lambda g, r: f"{g.rate(g.clean_confirm, g.clean):.3f}")),
        ("customer messages", lambda g, r: f"{r.total}"),
        ("negative F1", lambda g, r: f"{r.negative_f1:.3f}"),
        ("severe F1", lambda g, r: f"{r.severe_f1:.3f}"),
        ("emotion accuracy (negative messages)", lambda g, r: f"{r.emotion_accuracy:.3f}"),
        ("intensity accuracy (negative messages)", lambda g, r: f"{r.intensity_accuracy:.3f}"),
        ("neutral read as negative", lambda g, r: f"{r.neutral_read_negative}/{r.neutral}"
                                                  f" ({r.neutral_read_negative / max(r.neutral, 1):.3f})"),
    ]
    lines = ["| measure | " + " | ".join(name for name, *_ in parts) + " |", "|---" * (len(parts) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(g, r) for g, r in zip(guard, reader)) + " |" for name, cell in rows]
    return "\n".join(lines)


def blind_errors(engine: Engine, folder: Path) -> str:
    """Every disagreement on the TUNING split only: the held-out split is never listed."""
    guard = score_blind_drafts(engine, read_blind(folder, "tune", "drafts"))
    reader = score_blind_customers(engine, read_blind(folder, "tune", "customers"))
    return "\n".join(["Guard (tuning split):", *guard.errors, "", "Analyser (tuning split):", *reader.errors])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phrases", type=Path, default=None, help="default: as PHRASES_DIR is resolved")
    parser.add_argument("--data", type=Path, required=True, help="folder of labelled files, e.g. tests/data")
    parser.add_argument("--errors", action="store_true", help="list every disagreement (blind: tuning split only)")
    parser.add_argument("--blind", action="store_true", help="the blind corpus in DATA/blind: tuning vs held-out")
    args = parser.parse_args(argv)
    engine = Engine.load(args.phrases or Settings().phrases_dir)
    if args.blind:
        print(blind_errors(engine, args.data / "blind") if args.errors else blind_table(engine, args.data / "blind"))
    else:
        print(report(engine, args.data, args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
