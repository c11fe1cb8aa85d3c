"""jieba's segmentation, part-of-speech tags and IDF table, each loaded once per engine.

The analyser needs three things from jieba:

- **Segmentation.** It runs in jieba-rs (the ``rjieba`` binding), jieba's algorithm in Rust
  with jieba's own ``dict.txt`` built in: the same words, frequencies and route, about ten
  times faster than ``jieba.Tokenizer`` and with the word table outside the Python heap.
  ``tests/test_lean.py`` checks that it cuts every labelled text as ``jieba.lcut`` does. With
  the phrase files' words added the two part slightly: jieba-rs keeps a word already in the
  dictionary at its own frequency where jieba adds one, so 24 of the 6,304 training messages
  are cut differently (我妈|的 where jieba gives 我|妈的). The rules and the learned reader are
  measured and trained on jieba-rs's cut.
- **The part-of-speech tag of a word** (``jieba.posseg``'s table, read from ``dict.txt``) and
  **``jieba.analyse``'s IDF table** (``idf.txt``). Taken the obvious way that is ~250 MB:
  importing ``jieba.analyse`` builds a TF-IDF extractor and loads ``jieba.posseg``'s tagging
  HMM (which the analyser never runs). Here jieba builds the two tables itself, once per
  machine, in a child process (so the bot never imports ``jieba.analyse`` or ``jieba.posseg``);
  they are written to a marshal cache beside jieba's own, each word string, tag and number
  stored once and shared by both tables after loading::

    lex = load_lexicon()        # ~0.1 s from the cache
    cut = segmenter()           # jieba's dictionary, in Rust; cut.add_word(...) for our words
    cut.cut("你们到底有没有人管", False), lex.tags["投诉"], lex.idf["投诉"]

Each call returns fresh tables: an engine owns its lexicon and its segmenter (the analyser adds
the phrase files' words to it), so a replaced engine frees all of it and a reload never keeps
two word tables alive.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import mmap
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jieba
import rjieba

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)   # its dictionary-loading chatter is not our log
# Importing rjieba builds a module-wide segmenter (rjieba.cut & co.) that nothing here uses:
# each analyser owns its own. Emptied, it gives back about 20 MB — so in this process
# rjieba.cut has no dictionary: cut with lexicon.segmenter(), never with rjieba's functions.
rjieba.clear()

FORMAT = "complaint-bot-lexicon-2"


@dataclass(frozen=True)
class Lexicon:
    """jieba's tables as the analyser uses them; the word strings are shared between them."""

    tags: dict[str, str]          # jieba.posseg's word_tag_tab
    idf: dict[str, float]         # jieba.analyse.TFIDF().idf_freq
    median_idf: float
    stop_words: frozenset[str]    # jieba.analyse's stop words


def segmenter() -> rjieba.Jieba:
    """A fresh jieba segmenter (jieba-rs with jieba's ``dict.txt``) for one analyser to add its words to.

    ``cut(text, False)`` is ``jieba.lcut(text, HMM=False)``; ``add_word(word, None, None)``
    gives a word the frequency ``jieba.suggest_freq`` would, so it is kept whole.
    """
    return rjieba.Jieba()


def _sources() -> tuple[Path, Path]:
    root = resources.files("jieba")
    return Path(str(root / "dict.txt")), Path(str(root / "analyse" / "idf.txt"))


def cache_path() -> Path:
    """The cache file for this jieba and these data files (a new one when any of them changes)."""
    key = [FORMAT, jieba.__version__, sys.version.split()[0]]
    for source in _sources():
        stat = source.stat()
        key += [str(source), str(stat.st_size), str(stat.st_mtime_ns)]
    digest = hashlib.sha1("\n".join(key).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"complaint-bot-lexicon-{digest}.marshal"


def build() -> bytes:
    """jieba's own tables, with one object per distinct word, tag and number, marshalled.

    marshal writes an object referenced more than once a single time, so after loading the
    tag table and the IDF table hold the very same word strings.
    """
    import jieba.analyse
    import jieba.posseg

    tok = jieba.Tokenizer()
    tok.initialize()
    tfidf = jieba.analyse.TFIDF()
    word_tags = jieba.posseg.POSTokenizer(tok).word_tag_tab
    shared: dict[tuple[type, object], object] = {}

    def one(value):
        return shared.setdefault((type(value), value), value)

    tags = {one(word): one(tag) for word, tag in word_tags.items()}
    idf = {one(word): one(value) for word, value in tfidf.idf_freq.items()}
    payload = (FORMAT, tags, idf, tfidf.median_idf, sorted(tfidf.stop_words))
    return marshal.dumps(payload)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _parse(data) -> Lexicon | None:
    try:
        fmt, tags, idf, median, stop = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if fmt != FORMAT or not all(isinstance(x, dict) for x in (tags, idf)):
        return None
    return Lexicon(tags=tags, idf=idf, median_idf=median, stop_words=frozenset(stop))


def _read(path: Path) -> Lexicon | None:
    """The cache, parsed straight from a memory map (no 15 MB copy of the file on the heap)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _parse(data)
    except (OSError, ValueError):
        return None


def load_lexicon() -> Lexicon:
    """Fresh tables from the cache; the cache is built first (in a child process) when missing."""
    path = cache_path()
    lexicon = _read(path)
    if lexicon is not None:
        return lexicon
    logger.info("building the jieba lexicon cache %s (once per machine)", path)
    child = subprocess.run([sys.executable, "-m", "bot.engine.lexicon", str(path)], capture_output=True)
    if child.returncode == 0:
        lexicon = _read(path)
    if lexicon is None:
        # no writable cache (or no child process): build here; correct, only heavier
        logger.warning("jieba lexicon cache unavailable (%s); building in this process",
                       child.stderr.decode(errors="replace").strip().splitlines()[-1:] or "no detail")
        lexicon = _parse(build())
        assert lexicon is not None
    return lexicon


if __name__ == "__main__":      # the child process of load_lexicon: build and write the cache
    _write(Path(sys.argv[1]), build())
