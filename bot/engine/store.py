"""The engine: the analyser and the guard built from one phrase set, and live reloading.

A typo in a phrase file must never leave the bot without its guard, so
:class:`EngineStore` swaps in a new engine only when the whole set loads::

    store = EngineStore(Path("phrases"))       # raises PhraseFileError at start-up
    store.engine.guard.check("规定如此").ok     # False
    outcome = store.reload()                   # after an admin's edit
    outcome.ok, outcome.problems               # on failure the old engine stays
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.engine.analysis import Analyzer
from bot.engine.guard import Guard
from bot.engine.phrases import PhraseFileError, PhraseSet, file_mtimes, load_phrases

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """Everything compiled from one phrase set."""

    phrases: PhraseSet
    analyzer: Analyzer
    guard: Guard

    @classmethod
    def load(cls, directory: Path) -> "Engine":
        """Load, validate and compile ``directory``; raises :class:`PhraseFileError`."""
        return cls.compile(load_phrases(directory))

    @classmethod
    def compile(cls, phrases: PhraseSet) -> "Engine":
        """The analyser and the guard of a phrase set that loaded."""
        return cls(phrases=phrases, analyzer=Analyzer(phrases), guard=Guard(phrases.forbidden))


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``ok`` with per-file changes, or every problem found."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)


class EngineStore:
    """Holds the engine in use and replaces it only with one that loaded completely."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.engine = Engine.load(self.directory)

    def changed_on_disk(self) -> bool:
        """True when a phrase file's modification time differs from the loaded set's."""
        return file_mtimes(self.directory) != self.engine.phrases.mtimes

    def reload(self) -> ReloadOutcome:
        """Re-read the phrase files; on any problem keep the engine in use.

        The files are validated first. Only a set that loaded replaces the engine, and the
        engine in use is let go before the new one is compiled, so two engines (two jieba word
        tables, ~90 MB each) never live side by side. A reload runs on the bot's event loop, so
        no update is handled in between.
        """
        try:
            phrases = load_phrases(self.directory)
        except PhraseFileError as err:
            logger.warning("phrase reload refused, keeping the last good set: %s", "; ".join(err.lines()))
            # remember the failed mtimes so a watcher reports a broken file once, not every tick
            self.engine = Engine(
                phrases=replace(self.engine.phrases, mtimes=file_mtimes(self.directory)),
                analyzer=self.engine.analyzer,
                guard=self.engine.guard,
            )
            return ReloadOutcome(ok=False, problems=err.lines())
        previous = self.engine.phrases
        self.engine = None  # type: ignore[assignment]   # the last reference: its tables are freed here
        try:
            self.engine = Engine.compile(phrases)
        except BaseException:
            self.engine = Engine.compile(previous)
            raise
        before, after = previous.counts(), phrases.counts()
        changes = {k: (before.get(k, 0), after[k]) for k in after if before.get(k, 0) != after[k]}
        logger.info("phrases reloaded: %s", changes or "no count changed")
        return ReloadOutcome(ok=True, changes=changes)
