"""Lean start-up (issue 10): what each command loads, the shared jieba lexicon, reloads.

Times and megabytes are measured by bench/memory.py and printed in the README; these tests
check the causes instead: which modules a command imports, that the lexicon holds jieba's own
tables and the segmenter cuts as jieba does, that pypinyin's smaller data gives the guard the
same sounds, and that a reload lets the old engine go.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from bot.engine.store import EngineStore

ROOT = Path(__file__).resolve().parent.parent
PHRASES = ROOT / "bot" / "phrases"


def imported_by(*code_or_args: str, module: bool = True) -> set[str]:
    """Every module ``python -X importtime`` reports for ``python -m bot ARGS`` (or ``-c CODE``)."""
    argv = ["-m", "bot", *code_or_args] if module else ["-c", code_or_args[0]]
    env = {**os.environ, "PHRASES_DIR": str(PHRASES)}
    out = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}


def test_check_loads_no_jieba_no_snownlp_and_pinyin_only_for_a_near_miss():
    modules = imported_by("check", "这是公司的规定")
    assert "bot.engine.guard" in modules                     # the probe sees the imports
    assert not {m for m in modules if m.split(".")[0] in ("jieba", "snownlp", "matplotlib", "telegram", "pypinyin")}
    typo = imported_by("check", "这是公司的规订啊")           # a near miss: the sound of 订 is asked
    assert "pypinyin" in typo and "pypinyin.phrases_dict" not in typo


def test_analyze_loads_neither_jieba_analyse_nor_posseg_nor_the_guard():
    modules = imported_by("analyze", "你们发货太慢了，我非常失望！")
    assert "jieba" in modules
    assert not {m for m in modules if m.startswith(("jieba.analyse", "jieba.posseg", "matplotlib", "pypinyin",
                                                     "snownlp", "bot.engine.guard"))}


def test_the_bot_imports_no_matplotlib_until_a_chart_is_drawn():
    modules = imported_by("import bot.handlers.app, bot.admin.stats", module=False)
    assert "bot.handlers.app" in modules
    assert not {m for m in modules if m.startswith(("matplotlib", "jieba.analyse", "jieba.posseg"))}


def test_the_lexicon_holds_jiebas_own_tables_with_shared_words():
    """Built by jieba itself: the same tags, IDF and stop words as jieba.posseg/analyse give."""
    code = r"""
import json, jieba, jieba.analyse, jieba.posseg
from bot.engine.lexicon import load_lexicon
lex = load_lexicon()
tok = jieba.Tokenizer(); tok.initialize()
tfidf = jieba.analyse.TFIDF()
tags = jieba.posseg.POSTokenizer(tok).word_tag_tab
word = next(w for w in lex.idf if w in lex.tags)
print(json.dumps({
    "tags": lex.tags == tags,
    "idf": lex.idf == tfidf.idf_freq and lex.median_idf == tfidf.median_idf,
    "stop": lex.stop_words == frozenset(tfidf.stop_words),
    "shared": next(k for k in lex.idf if k == word) is word,
}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.splitlines()[-1]) == {"tags": True, "idf": True, "stop": True, "shared": True}


def test_the_segmenter_cuts_every_labelled_text_as_jieba_does():
    """jieba-rs, with jieba's dict.txt built in, against jieba itself, on every labelled text we have."""
    code = r"""
import json, jieba, logging
from pathlib import Path
from bot.admin.quality import read_blind, read_rows
from bot.engine.lexicon import segmenter
from bot.engine.text import normalize_text
jieba.setLogLevel(logging.WARNING)
data = Path("tests/data")
texts = [r.text for r in read_rows(data / "customer_messages.tsv", drafts=False)]
texts += [r.text for r in read_rows(data / "agent_drafts.tsv", drafts=True)]
texts += [r.text for kind in ("customers", "drafts") for r in read_blind(data / "blind", "tune", kind)]
cut = segmenter()
norms = [normalize_text(t) for t in texts]
print(json.dumps({"texts": len(norms), "differ": [t for t in norms if cut.cut(t, False) != jieba.lcut(t, HMM=False)]}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["texts"] > 7000 and result["differ"] == []


def test_rjiebas_own_module_wide_segmenter_is_emptied():
    """rjieba builds a segmenter at import that nothing here uses; the lexicon module gives it back."""
    import rjieba

    import bot.engine.lexicon as lexicon

    assert not rjieba.has_word("我们")          # the module-wide one, emptied
    assert lexicon.segmenter().has_word("我们")   # an analyser's own, with jieba's dictionary


def test_a_broken_lexicon_cache_is_rebuilt(tmp_path):
    code = r"""
import tempfile
from bot.engine.lexicon import cache_path, load_lexicon
path = cache_path()
assert str(path).startswith(tempfile.gettempdir())
assert not path.exists()
first = load_lexicon()                      # builds the cache in a child process
path.write_bytes(b"not marshal data")
again = load_lexicon()                      # rebuilt, same tables
assert len(again.tags) == len(first.tags) > 300000 and again.idf == first.idf
print("ok")
"""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_pinyin_without_phrase_data_gives_the_guard_the_same_sounds():
    """The guard reads pypinyin without its phrase dictionary; every character sounds the same as with it."""
    full = r"""
import json
from pypinyin import Style, lazy_pinyin, pinyin_dict
from pypinyin.constants import PHRASES_DICT
assert PHRASES_DICT, "the reference must use the phrase data"
chars = [chr(c) for c in sorted(pinyin_dict.pinyin_dict)]
print(json.dumps({ch: [lazy_pinyin(ch, style=Style.INITIALS, strict=False)[0],
                       lazy_pinyin(ch, style=Style.FINALS, strict=False)[0]] for ch in chars}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    out = subprocess.run([sys.executable, "-c", full], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    reference = json.loads(out.stdout)
    from bot.engine import guard
    from pypinyin.constants import PHRASES_DICT

    assert not PHRASES_DICT                        # this process runs the guard on the small data
    assert len(reference) > 40000
    assert {ch: list(guard._sound(ch)) for ch in reference} == reference


def test_a_reload_lets_the_old_engine_go_before_compiling_the_new_one(phrases_dir, monkeypatch):
    from bot.engine import store as store_module

    store = EngineStore(phrases_dir)
    old_analyzer = weakref.ref(store.engine.analyzer)
    old_guard = weakref.ref(store.engine.guard)
    alive_while_compiling = []
    real = store_module.Analyzer

    def spy(phrases):
        alive_while_compiling.append(old_analyzer() is not None)
        return real(phrases)

    monkeypatch.setattr(store_module, "Analyzer", spy)
    path = phrases_dir / "texts.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert store.reload().ok
    # freed by reference counting before the new word table is loaded: never two engines at once
    assert alive_while_compiling == [False]
    assert old_analyzer() is None and old_guard() is None
    assert store.engine.analyzer.analyze("气死我了").negative


def test_a_refused_reload_keeps_the_engine_in_use(phrases_dir):
    store = EngineStore(phrases_dir)
    analyzer = store.engine.analyzer
    (phrases_dir / "forbidden.yaml").write_text("forbidden: [\n", encoding="utf-8")
    outcome = store.reload()
    assert not outcome.ok and store.engine.analyzer is analyzer
    assert not store.engine.guard.check("这是公司的规定").ok


def test_a_reload_that_fails_while_compiling_restores_the_last_good_set(phrases_dir, monkeypatch):
    from bot.engine import store as store_module

    store = EngineStore(phrases_dir)
    real = store_module.Analyzer
    calls = []

    def failing_once(phrases):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("compile failed")
        return real(phrases)

    monkeypatch.setattr(store_module, "Analyzer", failing_once)
    (phrases_dir / "empathy.yaml").touch()
    with pytest.raises(RuntimeError):
        store.reload()
    assert store.engine is not None and not store.engine.guard.check("规定如此").ok
    assert store.engine.analyzer.analyze("气死我了").negative


def test_phrase_files_are_read_by_the_c_parser_with_the_same_result(monkeypatch):
    """libyaml's C parser reads the files; the round-trip parser (line numbers) gives the same set."""
    from ruamel.yaml import YAML

    from bot.engine import phrases as module

    assert YAML(typ="safe").Parser.__name__ == "CParser"          # ruamel.yaml.clib is installed
    fast = module.load_phrases(PHRASES)
    monkeypatch.setattr(module, "_fast_tree", lambda text: None)     # the round-trip parser only
    slow = module.load_phrases(PHRASES)
    for name in ("forbidden", "emotions", "empathy", "categories", "texts", "suggestions"):
        assert getattr(fast, name) == getattr(slow, name), name


def test_a_problem_found_after_the_fast_parse_still_has_its_line(phrases_dir):
    from bot.engine.phrases import PhraseFileError, load_phrases

    path = phrases_dir / "forbidden.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip() == "- id: 4")
    lines[number] = lines[number].replace("id: 4", "id: 3")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PhraseFileError) as caught:
        load_phrases(phrases_dir)
    assert any(p.file == "forbidden.yaml" and p.line == number + 1 for p in caught.value.problems), caught.value.lines()
