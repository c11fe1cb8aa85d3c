"""The forbidden-phrase guard: what must be blocked, what must pass, and bad input."""

import pytest

MUST_BLOCK = [
    # the product brief's own examples
    ("这是公司的规定", 8),
    ("這是公司的規定", 8),
    ("这是我们公司规定的", 8),
    ("规 定 如 此", 8),
    # one per seed sentence, in variants agents really write
    ("这种问题连小孩子都会", 1),
    ("亲，一分钱一份货哦", 2),            # homophone typo
    ("嗯……这我不太清楚", 3),
    ("您去找厂家吧，我们只负责卖", 4),
    ("这个不归我管", 5),
    ("我从来没这么说过", 6),
    ("改天我在和你联络", 7),              # homophone typo
    ("没办法，公司就是这么规定的", 8),
    ("你是不是搞错了？", 9),
    ("我不会，没有办法，不行。", 10),
]

MUST_PASS = [
    "根据公司的退换货政策，我现在就为您办理",
    "我不会让您白跑一趟",
    "绝不会让这种事再发生",
    "今天下午三点前我一定给您回电",
    "我马上帮您联系厂家确认",
    "很抱歉，有一个地方我还不是很了解，可以再向您请问一下吗？",
    "不是没有办法，我来帮您申请特殊处理",
    "我核实了当时的聊天记录，确实是我们答应过您的，一定兑现",
    "今天我再和你联络一下",  # one character from 改天我再和你联络, but a different word
]


@pytest.mark.parametrize("text,rule_id", MUST_BLOCK)
def test_forbidden_sentences_are_blocked_with_reason_and_better(engine, text, rule_id):
    result = engine.guard.check(text)
    assert not result.ok
    hit = next(v for v in result.violations if v.id == rule_id)
    assert hit.reason and hit.suggestion and hit.better
    assert text[hit.start:hit.end] == hit.match


@pytest.mark.parametrize("text", MUST_PASS)
def test_good_service_sentences_pass(engine, text):
    result = engine.guard.check(text)
    assert result.ok, result.violations


def test_span_indexes_the_original_text_inside_a_longer_draft(engine):
    draft = "您好！非常抱歉，不过這 是 公 司 的 規 定，请您理解。"
    hit = engine.guard.check(draft).violations[0]
    assert hit.id == 8
    assert draft[hit.start:hit.end].replace(" ", "") == "這是公司的規定"


def test_warn_tier_flags_without_blocking(engine):
    result = engine.guard.check("这个我不知道，我帮您问问")
    assert result.ok
    assert [w.id for w in result.warnings] == ["w4"]


def test_polite_question_with_buzhidao_is_not_even_a_warning(engine):
    result = engine.guard.check("不知道您现在方便接电话吗？")
    assert result.ok and not result.warnings


def test_a_typo_never_drops_a_negation(engine):
    # variant 我们没答应过 minus 没 reads 我们答应过: the opposite, not a typo
    assert engine.guard.check("是我们答应过的，一定做到").ok


def test_warning_under_a_violation_is_not_repeated(engine):
    result = engine.guard.check("我不知道，我哪知道")
    assert not result.ok
    assert all(not (w.start < v.end and v.start < w.end) for w in result.warnings for v in result.violations)


@pytest.mark.parametrize(
    "text",
    ["", " ", "😡😡😡", "\x00\x01\x1b[31m", "<b>规定</b> & <i>如此</i>", "a" * 20000, "规定如此" * 3000, "\ud800"],
)
def test_bad_input_never_raises(engine, text):
    result = engine.guard.check(text)
    assert result.to_dict()["text"] == text


def test_html_around_a_forbidden_phrase_is_still_caught(engine):
    assert not engine.guard.check("<b>这是公司的规定</b>").ok


def test_every_better_sentence_passes_the_guard(engine):
    rules = engine.phrases.forbidden.forbidden + engine.phrases.forbidden.warn
    for rule in rules:
        for better in rule.better:
            if "……" in better:
                continue  # a fill-in hint for agents, not a sentence
            assert engine.guard.check(better).ok, (rule.id, better)
