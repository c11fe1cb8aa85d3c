"""Normalisation: one form for Simplified/Traditional/full-width/spaced text, spans kept."""

from bot.engine.text import BREAK, compact, normalize


def test_traditional_and_full_width_fold_to_one_form():
    assert normalize("這是公司的規定！ＡＢＣ１２３").text == "这是公司的规定!abc123"


def test_taiwan_variant_characters_fold_too():
    assert normalize("好著急").text == "好着急"


def test_compact_drops_spaces_symbols_emoji_and_zero_width():
    assert compact(normalize("规 定\u200b如-此 😡")).text == "规定如此"


def test_compact_with_breaks_marks_clause_ends_once():
    dense = compact(normalize("不行。。。 好的，谢谢！"), breaks=True)
    assert dense.text == f"不行{BREAK}好的{BREAK}谢谢"


def test_spans_point_into_the_original_text():
    original = "嗯，這 是 公 司 的 規 定。"
    dense = compact(normalize(original))
    start = dense.text.index("这是公司的规定")
    a, b = dense.span(start, start + len("这是公司的规定"))
    assert original[a:b] == "這 是 公 司 的 規 定"


def test_length_changing_folds_keep_spans_right():
    original = "㈱规定如此"  # NFKC expands the first character to three
    dense = compact(normalize(original))
    a, b = dense.span(dense.text.index("规定"), dense.text.index("规定") + 4)
    assert original[a:b] == "规定如此"


# ---------------------------------------------------------------- OpenCC only when it can change something

def test_a_nul_is_dropped_and_does_not_cut_off_the_rest_of_a_message():
    """OpenCC's C interface stops at a NUL; the text after it must still be read, as one text."""
    from bot.engine.text import normalize_text

    assert normalize_text("我要投诉\x00你们太慢了") == "我要投诉你们太慢了"
    assert normalize_text("這是\x00規定") == "这是规定"
    norm = normalize("這是\x00規定")
    assert norm.text == "这是规定" and norm.span(2, 4) == (3, 5)


def test_a_lone_surrogate_becomes_a_question_mark():
    from bot.engine.text import normalize_text

    assert normalize_text("坏了\ud83d") == "坏了?"


def test_skipping_opencc_changes_no_labelled_text():
    from bot.admin.quality import read_rows
    from bot.engine.text import _nfkc_lower, _simplified, converter
    from tests.conftest import DATA

    # tuning rows only: held-out texts are read by the quality measurement alone
    files = [DATA / "customer_messages.tsv", DATA / "agent_drafts.tsv", *sorted((DATA / "blind").glob("tune_*.tsv"))]
    texts = [_nfkc_lower(r.text) for path in files for r in read_rows(path, drafts="draft" in path.name)]
    texts += ["深沈", "反覆无常", "吃饭", "一口吃個胖子", "才怪", "龜", "𠀀"]
    assert len(texts) > 8_000
    assert [t for t in texts if _simplified(t) != converter().convert(t)] == []


def test_every_character_opencc_converts_alone_is_in_the_probed_blocks():
    """All of Unicode in one call (~0.3 s): nothing outside PROBED converts."""
    from bot.engine.text import convertible, converter

    chars = [chr(i) for i in range(1, 0x110000) if not 0xD800 <= i <= 0xDFFF and i != 10]
    out = converter().convert("\n".join(chars)).split("\n")
    assert len(out) == len(chars)
    assert {ch for ch, to in zip(chars, out) if ch != to} <= convertible()


def test_every_phrase_opencc_can_change_has_a_convertible_character(tmp_path):
    """Read OpenCC's own dictionaries (with its opencc_dict tool, shipped in the wheel): every
    entry that changes text has a changed character in convertible(), so a text without any is
    left as it is (tw2s.json lists the dictionaries)."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    import opencc
    import pytest

    from bot.engine.text import OPENCC_CONFIG, convertible

    root = Path(opencc.__file__).parent / "clib"
    tool = shutil.which("opencc_dict", path=str(root / "bin"))
    config = root / "share" / "opencc" / f"{OPENCC_CONFIG}.json"
    if tool is None or not config.exists():
        pytest.skip("this OpenCC build ships no opencc_dict tool or data files")
    files = set()
    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "ocd2":
                files.add(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(json.loads(config.read_text(encoding="utf-8")))
    missing = []
    for name in sorted(files):
        text = tmp_path / f"{name}.txt"
        subprocess.run([tool, "-i", str(config.parent / name), "-o", str(text), "-f", "ocd2", "-t", "text"],
                       check=True, capture_output=True)
        for line in text.read_text(encoding="utf-8").splitlines():
            key, values = line.split("\t")
            value = values.split(" ")[0]       # the conversion; the others are alternatives
            changed = [a for a, b in zip(key, value) if a != b] if len(key) == len(value) else list(key)
            if key != value and convertible().isdisjoint(changed):
                missing.append((name, key, value))
    assert len(files) >= 4 and missing == []
