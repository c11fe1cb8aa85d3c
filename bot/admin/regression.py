"""The phrase files' regression corpus: sample messages and drafts with what each must give.

``phrases/regression.yaml`` is written by admins; ``complaint-bot phrases test`` runs it
against the current phrase files (CI does too) and prints every case that no longer
gives what it should, so an edit that breaks the guard is seen before it is reloaded::

    corpus = load_regression(Path("phrases"))          # PhraseFileError with file:line
    for outcome in run(engine, corpus):
        if not outcome.ok: print(outcome.describe())
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from bot.engine.store import Engine
from bot.engine.phrases import MODELS, EmotionName, PhraseFile, PhraseFileError, Text, load_file, Strict

FILE = "regression.yaml"


class CustomerCase(Strict):
    text: Text
    negative: bool
    emotion: EmotionName | None = None
    severe: bool = False


class DraftCase(Strict):
    text: Text
    blocked: int | Literal[False]          # the forbidden id that must block it, or false
    warn: bool | None = None               # when given: must (not) raise a warn-tier flag


class RegressionFile(PhraseFile):
    customers: list[CustomerCase] = Field(default_factory=list)
    drafts: list[DraftCase] = Field(default_factory=list)


MODELS[FILE] = RegressionFile


@dataclass(frozen=True)
class Outcome:
    kind: str
    text: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        return self.expected == self.got

    def describe(self) -> str:
        return f"✗ {self.kind}「{self.text}」应该是 {self.expected}，现在是 {self.got}"


def load_regression(directory: Path) -> RegressionFile:
    model, problems = load_file(Path(directory), FILE)
    if problems:
        raise PhraseFileError(problems)
    return model


def _customer_result(engine: Engine, case: CustomerCase) -> tuple[str, str]:
    got = engine.analyzer.analyze(case.text)
    expected = f"negative={case.negative}, severe={case.severe}"
    actual = f"negative={got.negative}, severe={got.severe}"
    if case.emotion is not None:
        expected += f", emotion={case.emotion}"
        actual += f", emotion={got.emotion}"
    return expected, actual


def _draft_result(engine: Engine, case: DraftCase) -> tuple[str, str]:
    got = engine.guard.check(case.text)
    ids = {v.id for v in got.violations}
    expected = "可以发送" if case.blocked is False else f"被第 {case.blocked} 句拦下"
    actual = "可以发送" if got.ok else (expected if case.blocked in ids else f"被第 {sorted(ids, key=str)} 句拦下")
    if case.warn is not None:
        expected += f"，{'有' if case.warn else '没有'}负面语言提醒"
        actual += f"，{'有' if got.warnings else '没有'}负面语言提醒"
    return expected, actual


def run(engine: Engine, corpus: RegressionFile) -> list[Outcome]:
    outcomes = []
    for case in corpus.customers:
        outcomes.append(Outcome("客户消息", case.text, *_customer_result(engine, case)))
    for case in corpus.drafts:
        outcomes.append(Outcome("客服草稿", case.text, *_draft_result(engine, case)))
    return outcomes
