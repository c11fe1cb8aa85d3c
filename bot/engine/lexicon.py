"""jieba's word table, part-of-speech tags and IDF table in one load, every word stored once.

The analyser needs three things from jieba: the word frequencies its tokenizer segments with
(``dict.txt``), the part-of-speech tag of a word (``jieba.posseg``'s table, read from the same
``dict.txt``) and ``jieba.analyse``'s IDF table (``idf.txt``). Taken the obvious way that is
~250 MB: importing ``jieba.analyse`` builds a TF-IDF extractor and loads ``jieba.posseg``'s
tagging HMM (which the analyser never runs), and each of the three tables holds its own copy of
the same 350,000 words. Here jieba builds the three tables itself, once per machine, in a child
process (so the bot never imports ``jieba.analyse`` or ``jieba.posseg``); the tables are written
to a marshal cache beside jieba's own, with each word string, tag and number stored once and
shared by all three tables after loading::

    lex = load_lexicon()        # ~0.25 s from the cache
    tok = lex.tokenizer()       # a jieba.Tokenizer segmenting with lex.freq (no second load)
    lex.tags["投诉"], lex.idf["投诉"]

Each call returns fresh tables: an engine owns its lexicon (the tokenizer adds the phrase
files' words to ``freq``), so a replaced engine frees all of it and a reload never keeps two
word tables alive.
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

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)   # its dictionary-loading chatter is not our log

FORMAT = "complaint-bot-lexicon-1"


@dataclass(frozen=True)
class Lexicon:
    """jieba's tables as the analyser uses them; the word strings are shared between them."""

    freq: dict[str, int]          # jieba.Tokenizer.FREQ: words and their prefixes
    total: int                    # jieba.Tokenizer.total
    tags: dict[str, str]          # jieba.posseg's word_tag_tab
    idf: dict[str, float]         # jieba.analyse.TFIDF().idf_freq
    median_idf: float
    stop_words: frozenset[str]    # jieba.analyse's stop words

    def tokenizer(self) -> jieba.Tokenizer:
        """A jieba tokenizer that segments with :attr:`freq` (this lexicon's own table, no copy).

        ``FREQ``, ``total`` and ``initialized`` are what ``Tokenizer.initialize`` sets after
        reading its dictionary; setting them from the shared load avoids a second table.
        """
        tok = jieba.Tokenizer()
        tok.FREQ, tok.total, tok.initialized = self.freq, self.total, True
        return tok


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
    tags and the IDF table hold the very strings of the word table.
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

    freq = {word: one(n) for word, n in tok.FREQ.items()}
    # keys taken from ``freq`` so both tables point at the same string objects
    tags = {word: one(word_tags[word]) for word in freq if word in word_tags}
    tags.update((word, one(tag)) for word, tag in word_tags.items() if word not in tags)
    idf = {word: one(tfidf.idf_freq[word]) for word in freq if word in tfidf.idf_freq}
    idf.update((word, one(value)) for word, value in tfidf.idf_freq.items() if word not in idf)
    payload = (FORMAT, freq, tok.total, tags, idf, tfidf.median_idf, sorted(tfidf.stop_words))
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
        fmt, freq, total, tags, idf, median, stop = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if fmt != FORMAT or not all(isinstance(x, dict) for x in (freq, tags, idf)):
        return None
    return Lexicon(freq=freq, total=total, tags=tags, idf=idf, median_idf=median, stop_words=frozenset(stop))


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
