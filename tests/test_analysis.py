"""Reading customers: emotion, negation, degree, threats, category, demand, empathy."""

import re

import pytest


def read(engine, text):
    return engine.analyzer.analyze(text)


@pytest.mark.parametrize(
    "text,emotion",
    [
        ("你们太过分了，气死我了！", "anger"),
        ("明天就要用，快递还没到，急死了", "anxiety"),
        ("一直很信任你们，这次真的太失望了", "disappointment"),
        ("收到的衣服有污渍，尺码也不对", "dissatisfaction"),
        ("這是什麼態度！！我要投訴", "anger"),          # Traditional
        ("really disappointed，这是第三次了", "disappointment"),
    ],
)
def test_emotions(engine, text, emotion):
    result = read(engine, text)
    assert result.negative and result.emotion == emotion


@pytest.mark.parametrize(
    "text",
    ["我没有生气，只是想问一下什么时候发货", "我一点都不急，慢慢查", "你们处理得很及时，没什么不满意的", "请问怎么修改收货地址？"],
)
def test_negated_and_neutral_messages_are_not_negative(engine, text):
    result = read(engine, text)
    assert not result.negative and result.emotion is None and result.empathy is None


def test_negation_is_explained(engine):
    assert read(engine, "我并不失望").triggers["negated"] == ["并不失望"]


def test_rhetorical_question_keeps_the_emotion(engine):
    assert read(engine, "我能不生气吗？").emotion == "anger"


def test_degree_and_punctuation_raise_intensity(engine):
    assert read(engine, "有点失望").intensity == 1
    assert read(engine, "非常失望！！！").intensity == 2


@pytest.mark.parametrize(
    "text,severe",
    [
        ("再不退款我就去12315投诉你们", True),
        ("我要找律师告你们", True),
        ("我马上发微博曝光你们", True),
        ("订单号是8231231567，麻烦看看到哪了", False),   # 12315 inside a number
        ("我是律师事务所的行政，想订二十套椅子", False),    # a lawyer, no threat
        ("我不想闹到消协，希望你们好好处理", False),        # cancelled threat
        ("我在微博上看到你们的新品", False),
    ],
)
def test_severe_threats(engine, text, severe):
    result = read(engine, text)
    assert result.severe is severe
    if severe:
        assert result.triggers["severe"] and result.intensity == 2 and result.emotion == "anger"


def test_category_demand_and_their_reasons(engine):
    result = read(engine, "包装破损，杯子碎了一个，我要退款")
    assert result.category == "货损货差" and result.demand == "补偿型"
    assert "破损" in result.triggers["category"] and "退款" in result.triggers["demand"]


def test_change_order_category_has_its_own_deadline(engine):
    assert read(engine, "我要改地址，地址写错了").category == "改单"
    cats = {c.name: c.sla_minutes for c in engine.phrases.categories.categories}
    assert cats["改单"] == 10


def test_empathy_mirrors_the_customers_topic_and_feeling(engine):
    result = engine.analyzer.analyze_with_empathy("你们发货太慢了，我非常失望！")
    assert result.topic == "发货" and result.feeling == "失望"
    assert "失望" in result.empathy and "{" not in result.empathy


def test_empathy_does_not_repeat_an_avoided_template(engine):
    result = read(engine, "你们太过分了，气死我了！")
    first = engine.analyzer.empathy(result)
    second = engine.analyzer.empathy(result, avoid={first.key})
    assert first.key != second.key and first.text != second.text


def test_every_empathy_template_fills_with_and_without_a_topic(engine):
    for emotion, levels in engine.phrases.empathy.templates.items():
        for level in ("mild", "strong"):
            for template in getattr(levels, level):
                text = template.format(topic="发货", feeling="失望")
                assert not re.search(r"[{}]", text)
                assert engine.guard.check(text).ok, text   # the bot's own words pass its guard


def test_keywords_come_from_the_message(engine):
    result = read(engine, "洗衣机脱水的时候噪音特别大，洗衣机才买一个月")
    assert "洗衣机" in result.keywords
    assert all(k in "洗衣机脱水的时候噪音特别大，洗衣机才买一个月" for k in result.keywords)


@pytest.mark.parametrize(
    "text", ["", "   ", "😡", "👍👍", "\x00\x07", "<script>alert(1)</script>", "投诉" * 10000, "\ud83d", "a\u2028b"]
)
def test_bad_input_never_raises(engine, text):
    result = engine.analyzer.analyze_with_empathy(text)
    assert result.to_dict()["text"] == text


def test_angry_emoji_alone_reads_as_anger(engine):
    result = read(engine, "😡😡😡")
    assert result.emotion == "anger"


def test_the_cue_prefilter_never_skips_a_cue_that_matches(engine):
    """Skipping cues by their first characters must give exactly what running every regex gives."""
    import re

    from bot.engine.analysis import first_chars
    from bot.admin.quality import read_rows
    from tests.conftest import DATA
    from bot.engine.text import normalize_text

    texts = [normalize_text(r.text) for r in read_rows(DATA / "customer_messages.tsv", drafts=False)]
    texts += ["转了三个人都没解决", "等了两个小时", "这不是明抢吗，是吧？", "一次就坏了"]
    cues = engine.phrases.emotions.cues
    assert sum(first_chars(c.pattern) is not None for c in cues) >= len(cues) // 2   # the filter does work
    for cue in cues:
        first, regex = first_chars(cue.pattern), re.compile(cue.pattern)
        for text in texts:
            if first is not None and first.isdisjoint(text):
                assert regex.search(text) is None, (cue.pattern, text)


def test_long_tokens_are_not_remembered(engine):
    """Order numbers and links rarely recur: remembered, they would fill the token memos for good."""
    long_id = "sf" + "7" * 30
    tokens = engine.analyzer.tokens(f"快递单 {long_id} 到现在还没送到，太慢了")
    assert long_id in tokens
    engine.analyzer.analyze(f"快递单 {long_id} 到现在还没送到，太慢了")
    for memo in (engine.analyzer._idf_memo, engine.analyzer._topic_memo):
        assert long_id not in memo and "快递" in memo
