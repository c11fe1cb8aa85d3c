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
