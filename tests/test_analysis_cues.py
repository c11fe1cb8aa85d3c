"""The analyser's cue kinds from emotions.yaml: neutral gate, anger and urgency without feeling
words, the severe lexicon with its not-a-threat frames, intensity, and the schema behind them.

These are the rules' readings (the learned reader, which may move them, has tests of its own in
test_reader.py). Sentences here are written for these tests, not copied from any labelled file.
"""

import pytest

from bot.engine.analysis import _Cues, _Pattern, first_chars, prefixes
from bot.engine.learned import char_features
from bot.engine.phrases import PhraseFileError, load_phrases
from bot.engine.text import normalize_text


def read(rules, text):
    return rules.analyze(text)


# ---------------------------------------------------------------- neutral gate

@pytest.mark.parametrize("text", [
    "订单号 8827361540",
    "运单号：SF1029384756",
    "B7 1203室",
    "手机号 139 0000 1111",
    "😊",
    "👍👍🙏",
    "❤️",
])
def test_bare_ids_and_emoji_only_praise_are_no_complaint(rules, text):
    result = read(rules, text)
    assert not result.negative and result.emotion is None and result.triggers.get("neutral")


def test_an_id_inside_a_complaint_is_still_a_complaint(rules):
    assert read(rules, "订单号 8827361540，东西到了是坏的").negative
    assert read(rules, "Order 5521 arrived broken, I want a refund").negative


def test_angry_emoji_alone_is_not_praise(rules):
    assert read(rules, "😡😡").emotion == "anger"


@pytest.mark.parametrize("text", [
    "洗衣机已经修好了，谢谢师傅",
    "不用派人来了，灯已经亮了",
    "是我自己填错了地址，没事了",
])
def test_relief_after_a_fix_is_no_complaint(rules, text):
    result = read(rules, text)
    assert not result.negative and result.triggers.get("relief")


def test_relief_that_turns_is_a_complaint(rules):
    assert read(rules, "修好了，但是第二天又坏了").negative


@pytest.mark.parametrize("text", ["请问怎么申请赔偿", "退钱一般要多久到账", "如果坏了能保修吗", "What's the refund policy?"])
def test_a_how_to_question_about_complaint_matters_is_no_complaint(rules, text):
    result = read(rules, text)
    assert not result.negative and result.triggers.get("howto"), result.triggers


def test_a_fault_then_a_question_is_still_a_complaint(rules):
    assert read(rules, "新买的电视开不了机，能派人来看看吗").negative
    assert read(rules, "怎么申请赔偿？你们把我的箱子摔坏了，气死我了").emotion == "anger"


# ---------------------------------------------------------------- anger without feeling words

@pytest.mark.parametrize("text", [
    "好啊，钱收了就不管了是吧",
    "你们的客服是在念稿子吗",
    "问了五次，每次都说在核实，核实到明年吗",
    "前台说爱住不住",
    "办卡的时候什么都答应，办完以后什么都不算",
    "你们这样做生意，迟早要关门",
])
def test_anger_without_anger_words(rules, text):
    assert read(rules, text).emotion == "anger", read(rules, text).scores


@pytest.mark.parametrize("text", [
    "呵呵，又是系统问题",
    "真大方，等了一天补偿五块钱",
    "谢谢你们让我在大厅免费观光了三个小时",
])
def test_sarcasm_reads_as_anger(rules, text):
    assert read(rules, text).emotion == "anger"


def test_praise_beside_sarcasm_does_not_cancel_it(rules):
    result = read(rules, "太专业了，空调装好第二天就漏水")
    assert result.negative and result.emotion == "anger"


# ---------------------------------------------------------------- urgency without feeling words

@pytest.mark.parametrize("text", [
    "航班两小时后起飞，登机牌一直打印失败",
    "考试还剩十五分钟，准考证打不开",
    "房东明天来收房，钥匙还没给我",
    "我家水管爆了，快派人来",
    "冰箱坏了两天了，家里有个刚满月的宝宝",
])
def test_urgency_without_anxiety_words(rules, text):
    assert read(rules, text).emotion == "anxiety", read(rules, text).scores


def test_a_deadline_only_colours_a_complaint(rules):
    """明天下午 alone is no complaint: needs_complaint cues never make a message negative."""
    result = read(rules, "明天下午我在家，师傅可以上门")
    assert not result.negative


# ---------------------------------------------------------------- severe lexicon

@pytest.mark.parametrize("text", [
    "再不退我就打12345",
    "我已经向消协反映了",
    "这事我会报给市场监管局",
    "我已经向金融监管局投诉了",
    "银保监那边我明天就去",
    "我要去民航局投诉你们",
    "我已经打了铁路局的电话",
    "这个我会反映到卫健委",
    "住建局的电话我已经找好了",
    "我会向通信管理局申诉",
    "工信部投诉已经提交了",
    "交通运输局会收到我的投诉",
    "我会把经过发到微博上",
    "我要发抖音让大家看看",
    "我已经在小红书发了帖子",
    "黑猫投诉见",
    "我会联系电视台",
    "我的律师会联系你们",
    "等着收律师函吧",
    "法院见",
    "我要申请劳动仲裁",
    "我已经报警了",
    "我已经去信访办反映了",
    "再不给说法我就去劳动监察大队",
    "我会向保险行业协会投诉",
])
def test_threats_are_severe(rules, text):
    result = read(rules, text)
    assert result.severe and result.triggers["severe"], result.triggers


@pytest.mark.parametrize("text", [
    "我在市场监管局上班，想问下年卡能不能转让",
    "我不想去12315，你们把多收的运费退了就行",
    "请问消协的电话是多少？我帮邻居问的",
    "在抖音刷到你们的团购，还能买吗",
    "买家说要去12315告我，平台能帮我看下记录吗",
    "我朋友在律师事务所工作，想订一批办公椅",
    "请问去民航局怎么坐车",
    "我要去法院办事，附近有没有酒店",
    "我的律师朋友说合同没问题，我就签了",
])
def test_mentions_that_are_not_threats(rules, text):
    result = read(rules, text)
    assert not result.severe, result.triggers


def test_a_calm_sad_threat_reads_as_disappointment(rules):
    result = read(rules, "我不想吵了，只是很难过。我会把经过如实写给消协")
    assert result.severe and result.emotion == "disappointment"


def test_an_angry_threat_is_anger_and_strong(rules):
    result = read(rules, "骗子公司！我已经向金融监管局投诉了")
    assert result.severe and result.emotion == "anger" and result.intensity == 2


# ---------------------------------------------------------------- intensity

def test_plain_dissatisfaction_is_never_strong(rules):
    result = read(rules, "床单上有头发，毛巾也是湿的，空调还坏了")
    assert result.emotion == "dissatisfaction" and result.intensity == 1


def test_many_exclamation_marks_and_stacked_intensifiers_are_strong(rules):
    assert read(rules, "太失望了！！！").intensity == 2
    assert read(rules, "服务太差了，我非常失望").intensity == 2
    assert read(rules, "有点失望").intensity == 1


# ---------------------------------------------------------------- the schema and the index

@pytest.mark.parametrize("old,new,expect", [
    # compiles as written, but not once {severe} is expanded (a look-behind needs a fixed width)
    ("  not_threat:\n", "  not_threat:\n    - '(?<={severe})在'\n", "{severe}"),
    ("  ids:\n", "  ids:\n    - '(?<={label})1'\n", "{label}"),
    ("  emoji_only: true\n", "  emoji_only: true\n  emoji_ony: false\n", "emoji_ony"),
    ("    needs_complaint: true\n", "    needs_complaint: maybe\n", "needs_complaint"),
])
def test_new_sections_are_checked_with_file_and_line(phrases_dir, old, new, expect):
    path = phrases_dir / "emotions.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PhraseFileError) as err:
        load_phrases(phrases_dir)
    lines = err.value.lines()
    line_no = text[: text.index(old)].count("\n") + 1
    assert any(line.startswith("emotions.yaml:") and expect in line for line in lines), lines
    assert all(abs(int(line.split(":")[1]) - line_no) <= 3 for line in lines), (line_no, lines)


def test_prefixes_are_read_from_the_regex_parser():
    assert first_chars("(?<!没)(就)?不(续|玩)") == frozenset("就不")
    assert prefixes("是吧(?=$|[?])") == frozenset({"是吧"})
    assert prefixes(r"\d点", 2) >= {"1点", "9点"}
    assert first_chars(".b") is None and first_chars("a*") is None
    assert first_chars("(?i)abc") is None


def test_the_cue_index_never_skips_a_cue_that_matches(engine):
    """Running only the indexed candidates must find every match running every cue finds."""
    import re

    from bot.admin.quality import read_blind_customers, read_rows
    from tests.conftest import DATA

    texts = [r.text for r in read_rows(DATA / "customer_messages.tsv", drafts=False)]
    texts += [r.text for r in read_blind_customers(DATA / "blind" / "tune_customers.tsv")]
    texts += ["a", "", "!!!", "？？？", "12点", "爱买不买", "9", "拨打12315", "|", "a|b"]
    cues = engine.phrases.emotions.cues
    index = _Cues([_Pattern(c.pattern, "cue") for c in cues])
    every = [re.compile(c.pattern) for c in cues]
    texts += ["|坑", "坑|", "||", "只能|这样"]
    for text in map(normalize_text, texts):
        runs = [index.matching(text)]
        if set(text).isdisjoint("123456789"):   # the n-grams the analyser shares with its reader
            runs.append(index.matching(text, char_features(text)))
        for run in runs:
            ran = {id(c[0]) for c in run}
            for compiled, (pattern, *_rest) in zip(every, index.cues):
                if compiled.search(text):
                    assert id(pattern) in ran, (pattern.pattern, text)


def test_shared_n_grams_find_a_cue_that_starts_with_the_boundary_mark():
    """char_features leaves the lone "|" out (it marks both ends); a cue may still start with one."""
    index = _Cues([_Pattern(r"\|", "cue"), _Pattern(r"坑\|", "cue"), _Pattern("坑", "cue")])
    for text, want in (("a|b", 1), ("坑|", 3), ("坑", 1), ("好", 0)):
        scanned, shared = index.matching(text), index.matching(text, char_features(text))
        assert len(scanned) == want and {id(c) for c in scanned} <= {id(c) for c in shared}, text


def test_analyze_is_split_into_short_named_phases():
    """Issue 9: Analyzer.analyze runs named phases; no function in analysis.py is over ~50 lines."""
    import ast
    import inspect

    from bot.engine import analysis

    tree = ast.parse(inspect.getsource(analysis))
    lengths = {node.name: node.end_lineno - node.lineno + 1
               for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    assert max(lengths.values()) <= 50, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]
    assert lengths["analyze"] <= 25
