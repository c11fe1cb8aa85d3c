"""The discourse-aware guard: clause structure, intent rules, three decisions, the learned
second opinion and one-tap rewrites.

Rule kinds are tested twice: on a tiny forbidden.yaml written here (so each mechanism is
proven on its own, whatever admins later do to the shipped rules), and on the shipped
phrase files with sentences of this file's own (not copied from the labelled sets).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.engine.guard import Guard
from bot.engine.learned import FORMAT, LinearModel, features, load_model
from bot.engine.phrases import PhraseFileError, load_file, load_phrases
from tests.conftest import PHRASES, ROOT

# ---------------------------------------------------------------- a tiny rule file

TINY = """\
discourse:
  quotes: ['「」', '“”']
  report: ['(同事|前台)[^|]{0,6}说']
  disown: ['抱歉|道歉|我们的错']
  alternative: ['(不过|但)[^|]{0,8}(可以|帮您)']
  action: ['(已经|马上)[^|]{0,6}(转给|安排|办)']
  time: ['\\d+点|今天下午']
  person: ['王经理']
  question: ['麻烦(发|告诉)|哪(一|个)']
  topic_shift: ['另外']
forbidden:
%s
"""

RULES = {
    1: "variants: [小孩子都会]",
    3: "variants: [我不清楚]\nredeem: [question]",
    5: "variants: [不归我管]\nredeem: [action]",
    7: "variants: [再联系您]\nredeem: [time]",
    10: "variants: [没办法]\nredeem: [alternative]",
    4: textwrap.dedent("""\
        intents:
          - name: 推给别人
            description: 让顾客自己去找别人
            why: 敷衍
            patterns: ['(您|你)[^|]{0,4}(去|自己)?找(厂家|银行)']
            requires: ['吧']
            unless: ['我帮您']
          - name: 推给别人（轻）
            description: 提到别家的热线
            why: 可能是推诿
            tier: confirm
            patterns: ['热线']"""),
}


def tiny_guard(tmp_path: Path, model=None) -> Guard:
    lines = []
    for n in range(1, 11):
        body = RULES.get(n, f"variants: [第{n}句占位]")
        body = textwrap.indent(body, "    ")
        lines.append(f"  - id: {n}\n    phrase: 第{n}句\n    harm: 伤人{n}\n{body}\n    better: [我来帮您处理第{n}件事。]")
    (tmp_path / "forbidden.yaml").write_text(TINY % "\n".join(lines), encoding="utf-8")
    forbidden, problems = load_file(tmp_path, "forbidden.yaml")
    assert problems == [], problems
    return Guard(forbidden, model=model)


@pytest.fixture
def tiny(tmp_path):
    return tiny_guard(tmp_path)


def decision(guard: Guard, text: str) -> str:
    return guard.check(text).decision


def test_a_phrase_inside_quotes_is_a_mention_not_a_use(tiny):
    assert decision(tiny, "这种问题小孩子都会") == "block"
    assert decision(tiny, "我绝不会说「小孩子都会」这种话") == "pass"
    assert decision(tiny, "我绝不会说“小孩子都会”这种话") == "pass"


def test_a_colleagues_words_count_only_unless_reported_and_disowned(tiny):
    assert decision(tiny, "同事说不归我管，这是我们的错，我向您道歉") == "pass"
    assert decision(tiny, "同事说不归我管") == "block"                     # reported, not disowned
    assert decision(tiny, "抱歉，不归我管") == "block"                     # apology, but not a report


def test_a_concrete_action_redeems_only_with_a_time_or_a_named_person(tiny):
    assert decision(tiny, "这事不归我管，但我已经转给王经理") == "pass"
    assert decision(tiny, "这事不归我管，但我已经转给3点值班的同事") == "pass"
    assert decision(tiny, "这事不归我管，但我已经转给同事") == "block"     # no time, no person


def test_a_change_of_topic_ends_the_redeeming_window(tiny):
    assert decision(tiny, "这事不归我管。另外您的退款我已经安排王经理办") == "block"


def test_an_alternative_redeems_a_refusal_and_only_after_it(tiny):
    assert decision(tiny, "在线改签没办法，不过我可以帮您电话办理") == "pass"
    assert decision(tiny, "在线改签没办法") == "block"
    assert decision(tiny, "不过我可以帮您查。在线改签没办法") == "block"


def test_a_clarifying_question_redeems_not_knowing(tiny):
    assert decision(tiny, "我不清楚您说的是哪一笔，麻烦发一下订单号") == "pass"
    assert decision(tiny, "我不清楚您说的是这笔吗？") == "pass"          # a question mark is a question
    assert decision(tiny, "这个我不清楚") == "block"


def test_a_time_in_the_same_sentence_redeems_later_contact(tiny):
    assert decision(tiny, "今天下午我再联系您") == "pass"
    assert decision(tiny, "有消息我再联系您") == "block"


def test_an_intent_fires_only_with_its_requires_and_without_its_unless(tiny):
    result = tiny.check("您自己去找厂家吧")
    assert result.decision == "block"
    hit = result.violations[0]
    assert (hit.id, hit.rule, hit.tier) == (4, "intent:推给别人", "block")
    assert "让顾客自己去找别人" in hit.why and "敷衍" in hit.why
    assert decision(tiny, "您自己去找厂家") == "pass"                      # requires 吧
    assert decision(tiny, "您自己去找厂家吧，我帮您约") == "pass"          # unless 我帮您


def test_a_confirm_tier_intent_is_a_warning_and_ok_stays_true(tiny):
    result = tiny.check("这是品牌的热线号码")
    assert result.decision == "confirm" and result.ok and not result.violations
    assert [(w.id, w.tier, w.rule) for w in result.warnings] == [(4, "confirm", "intent:推给别人（轻）")]
    data = result.to_dict()
    assert data["decision"] == "confirm" and data["ok"] is True
    assert data["warnings"][0]["rule"] == "intent:推给别人（轻）" and data["warnings"][0]["why"]


def test_words_explain_which_rule_fired(tiny):
    hit = tiny.check("这种问题小孩子都会").violations[0]
    assert hit.rule == "variant" and "第 1 句" in hit.why and "伤人1" in hit.why


# ---------------------------------------------------------------- schema problems, file:line

def test_a_broken_intent_regex_is_reported_with_its_line(tmp_path):
    tiny_guard(tmp_path)
    path = tmp_path / "forbidden.yaml"
    text = path.read_text(encoding="utf-8").replace("patterns: ['热线']", "patterns: ['热线(']")
    path.write_text(text, encoding="utf-8")
    _, problems = load_file(tmp_path, "forbidden.yaml")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "热线(" in l)
    assert [p.line for p in problems] == [line] and "正则" in problems[0].message


def test_an_intent_without_why_or_a_redeem_without_cues_is_a_problem(tmp_path):
    tiny_guard(tmp_path)
    path = tmp_path / "forbidden.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r" *why: 敷衍\n", "", text), encoding="utf-8")
    _, problems = load_file(tmp_path, "forbidden.yaml")
    why_line = next(i for i, l in enumerate(text.splitlines(), 1) if "name: 推给别人" in l)
    assert [(p.line, "why" in p.message) for p in problems] == [(why_line, True)]
    path.write_text(text.replace("  question: ['麻烦(发|告诉)|哪(一|个)']\n", ""), encoding="utf-8")
    _, problems = load_file(tmp_path, "forbidden.yaml")
    assert len(problems) == 1 and "redeem: question" in problems[0].message and problems[0].line > 0


def test_a_missing_or_broken_model_file_is_a_problem_not_a_crash(phrases_dir):
    (phrases_dir / "model.json").write_text('{"format": "x",\n "classes": [', encoding="utf-8")
    with pytest.raises(PhraseFileError) as err:
        load_phrases(phrases_dir)
    assert any(line.startswith("model.json:") for line in err.value.lines())
    (phrases_dir / "model.json").unlink()
    with pytest.raises(PhraseFileError) as err:
        load_phrases(phrases_dir)
    assert any(line.startswith("model.json:0:") for line in err.value.lines())


def test_a_model_with_the_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "m.json"
    good = {"format": FORMAT, "ngram": [1, 2], "classes": ["ok", "1"], "bias": [0, 0], "weights": {"a": [0, 1]}}
    path.write_text(json.dumps(good), encoding="utf-8")
    assert load_model(path)[0] is not None
    for broken in ({**good, "format": "pickle"}, {**good, "weights": {"a": [1]}}, {**good, "classes": ["1", "ok"]},
                   {**good, "ngram": [3, 1]}, [1, 2]):
        path.write_text(json.dumps(broken), encoding="utf-8")
        model, problems = load_model(path)
        assert model is None and problems


# ---------------------------------------------------------------- the learned second opinion

def toy_model(weight: float) -> LinearModel:
    """P(forbidden) = sigmoid(weight) when the draft contains 搪塞, about 0.5 otherwise... by class 1."""
    return LinearModel(classes=("ok", "4"), bias=(0.0, -3.0), weights={"搪塞": (0.0, weight)})


def test_the_model_moves_a_passing_draft_to_confirm_and_explains(tmp_path):
    guard = tiny_guard(tmp_path, model=toy_model(6.0))
    guard.decision = guard.decision.model_copy(update={"model_confirm": 0.5, "model_block": 0.99})
    result = guard.check("这件事有点搪塞的意思了吧")
    assert result.decision == "confirm" and result.ok
    hit = result.warnings[0]
    assert hit.rule == "model" and hit.id == 4 and "搪塞" in hit.why and hit.tier == "confirm"
    assert guard.check("您好，已经为您登记好了").decision == "pass"


def test_the_model_moves_confirm_to_block_only_above_its_high_threshold(tmp_path):
    guard = tiny_guard(tmp_path, model=toy_model(9.0))
    guard.decision = guard.decision.model_copy(update={"model_confirm": 0.5, "model_block": 0.99})
    result = guard.check("有点搪塞，这是品牌的热线号码")
    assert result.decision == "block" and [v.id for v in result.violations] == [4]
    guard.decision = guard.decision.model_copy(update={"model_block": 1.01})
    assert guard.check("有点搪塞，这是品牌的热线号码").decision == "confirm"


def test_the_model_releases_an_intent_only_block_to_confirm_never_to_pass(tmp_path):
    guard = tiny_guard(tmp_path, model=toy_model(0.0))
    guard.decision = guard.decision.model_copy(update={"model_release": 0.2, "model_confirm": 0.9})
    result = guard.check("您自己去找厂家吧")              # an intent: released
    assert result.decision == "confirm" and result.warnings[0].rule == "intent:推给别人"
    assert guard.check("这种问题小孩子都会").decision == "block"   # words are never released


def test_the_model_is_not_asked_about_drafts_outside_the_lengths_it_learned(tmp_path):
    guard = tiny_guard(tmp_path, model=toy_model(9.0))
    guard.decision = guard.decision.model_copy(update={"model_confirm": 0.5, "model_min_chars": 6,
                                                       "model_max_chars": 40})
    assert guard.check("搪塞").decision == "pass"
    assert guard.check("搪塞" * 30).decision == "pass"
    assert guard.check("这件事有点搪塞").decision == "confirm"


def test_features_are_the_same_for_training_and_scoring():
    grams = features("好的|谢谢123")
    assert "好的" in grams and "|" not in grams and "000" in grams and "|好" in grams


def test_the_shipped_model_is_small_json_and_scores_like_scikit_learn(engine):
    path = PHRASES / engine.phrases.forbidden.decision.model
    assert path.stat().st_size < 300_000
    assert b"pickle" not in path.read_bytes()[:200]
    model = engine.guard.model
    assert model is not None and model.classes[0] == "ok" and len(model.classes) == 11


def test_exported_weights_score_exactly_as_the_fitted_model():
    pytest.importorskip("sklearn")
    from bot.admin.train import dense, export, fit
    from bot.admin.quality import read_rows
    from tests.conftest import DATA

    rows = [("ok" if r.label == "warn" else r.label, dense(r.text))
            for r in read_rows(DATA / "agent_drafts.tsv", drafts=True)]
    vectorizer, fitted = fit(rows, c=1.0, min_df=1)
    payload = export(vectorizer, fitted, 1, 3, prune=0.0, meta={})
    shipped = LinearModel(tuple(payload["classes"]), tuple(payload["bias"]),
                          {g: tuple(w) for g, w in payload["weights"].items()})
    texts = [t for _, t in rows[:40]]
    ok = list(fitted.classes_).index("ok")
    for text, probs in zip(texts, fitted.predict_proba(vectorizer.transform(texts))):
        assert abs(shipped.score(text).forbidden - (1 - probs[ok])) < 0.01


# ---------------------------------------------------------------- the shipped rules

@pytest.mark.parametrize("text", [
    "我可不会跟您说「这是公司的规定」，您的退款我现在就提交",
    "前台同事跟您说“这事不归我们管”，是我们的错，我向您道歉，现在由我来跟进",
    "虽然这块不是我们部门负责，但我已经转给售后组的李经理，他今天下午四点前给您回电",
    "网上暂时没办法改，不过我可以现在帮您转人工办理",
    "我不太清楚您指的是哪一次扣费，麻烦截个图给我看看",
    "我明天上午十点前给您回电话，告诉您结果",
    "根据退换货规定，七天内可以换新，我现在就给您下换货单",
    "这种情况确实有可能发生，我马上安排师傅上门检查",
    "这款虽然是特价款，保修和正价款完全一样，这次免费换新",
])
def test_the_shipped_guard_passes_hard_negatives(engine, text):
    result = engine.guard.check(text)
    assert result.decision == "pass", [(h.id, h.rule, h.match) for h in result.violations + result.warnings]


@pytest.mark.parametrize("text,sentence", [
    ("保修这块您得自己联系品牌售后，我们只管卖", 4),
    ("您买的是特价款，用一年就坏也很正常，想耐用得买贵一点的", 2),
    ("我们的系统一向很稳定，应该是您自己网络的问题", 9),
    ("好的，等有结果了我们再通知您", 7),
    ("理解您着急，但这个确实办不了", 10),
    ("绑定银行卡就在首页，这么明显的按钮您都没看到吗", 1),
    ("我们客服从来没承诺过给您免运费", 6),
    ("这事不归我们售后部门管，跟我们无关", 5),
])
def test_the_shipped_guard_catches_intents_with_few_of_the_seeds_words(engine, text, sentence):
    result = engine.guard.check(text)
    assert result.decision in ("block", "confirm")
    hits = result.violations + result.warnings
    assert sentence in [h.id for h in hits], [(h.id, h.rule, h.match) for h in hits]
    assert all(h.why and h.rule for h in hits)


def test_the_shipped_decisions(engine):
    assert engine.guard.check("这是公司的规定").decision == "block"
    assert engine.guard.check("这个我不知道，我帮您问问").decision == "confirm"
    assert engine.guard.check("好的，已经为您改到周五下午三点").decision == "pass"
    for short in ("好的", "收到", "谢谢您", "非常抱歉"):
        assert engine.guard.check(short).decision == "pass", short


# ---------------------------------------------------------------- one-tap rewrite

def test_rewrite_replaces_the_offending_clause_and_keeps_the_rest(engine):
    draft = "您好，订单已经发货了。这种问题你要问快递公司，我们只负责卖。祝您生活愉快！"
    rewritten = engine.guard.rewrite(draft)
    assert rewritten is not None and engine.guard.check(rewritten).decision == "pass"
    assert rewritten.startswith("您好，订单已经发货了。") and rewritten.endswith("祝您生活愉快！")
    assert "只负责卖" not in rewritten
    better = engine.phrases.forbidden.forbidden[3].better          # rule 4's better sentences
    assert any(b.rstrip("。") in rewritten for b in better)


def test_rewrite_of_a_confirm_tier_draft(engine):
    rewritten = engine.guard.rewrite("这个我不知道，我帮您问问")
    assert rewritten and engine.guard.check(rewritten).decision == "pass" and "我帮您问问" in rewritten


def test_rewrite_is_none_when_nothing_to_do_or_no_passing_rewrite(tmp_path, engine):
    assert engine.guard.rewrite("好的，已经为您改到周五下午三点") is None
    guard = tiny_guard(tmp_path)
    # the better sentence itself trips the rule: no rewrite is ever offered that the guard blocks
    guard._by_id["1"] = guard._by_id["1"]
    for compiled in guard._rules:
        if compiled.rule.id == 1:
            object.__setattr__(compiled, "rule", compiled.rule.model_copy(update={"better": ["小孩子都会。"]}))
    assert guard.rewrite("这种问题小孩子都会") is None


@pytest.mark.parametrize("text", ["", " ", "😡", "\x00\x1b[31m", "\ud800", "规定如此" * 3000, "「这是公司的规定"])
def test_check_and_rewrite_never_raise(engine, text):
    assert engine.guard.check(text).decision in ("block", "confirm", "pass")
    rewritten = engine.guard.rewrite(text)
    assert rewritten is None or engine.guard.check(rewritten).decision == "pass"


# ---------------------------------------------------------------- the check command stays lean

def test_check_command_imports_no_scikit_learn_numpy_or_jieba():
    code = textwrap.dedent(f"""
        import io, sys, contextlib
        sys.argv = ["complaint-bot", "check", "这是公司的规定", "--phrases", {str(PHRASES)!r}]
        from bot.cli import main
        out = io.StringIO()
        main()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "numpy", "jieba", "scipy"))
        print("HEAVY", heavy, file=sys.stderr)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120)
    data = json.loads(out.stdout.decode().splitlines()[0])
    assert data["decision"] == "block" and data["violations"][0]["rule"]
    assert "HEAVY []" in out.stderr.decode(), out.stderr.decode()[-500:]


def test_a_retrained_model_file_is_noticed_like_an_edited_phrase_file(phrases_dir):
    import os

    from bot.engine.phrases import file_mtimes

    before = file_mtimes(phrases_dir)
    assert "model.json" in before
    model = phrases_dir / "model.json"
    os.utime(model, (before["model.json"] + 10, before["model.json"] + 10))
    assert file_mtimes(phrases_dir) != before


def test_phrases_train_writes_a_model_the_guard_loads(phrases_dir):
    pytest.importorskip("sklearn")
    from tests.conftest import DATA

    (phrases_dir / "model.json").unlink()
    out = subprocess.run([sys.executable, "-m", "bot", "phrases", "train", "--phrases", str(phrases_dir),
                          "--data", str(DATA)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "model_confirm" in out.stdout and "model alone" in out.stdout
    model, problems = load_model(phrases_dir / "model.json")
    assert problems == [] and model.classes[0] == "ok"
    meta = json.loads((phrases_dir / "model.json").read_text(encoding="utf-8"))["meta"]
    assert meta["trained_on"]["tune_drafts"] > 500 and "holdout" not in json.dumps(meta)
    guard = Guard(load_phrases(phrases_dir).forbidden)
    assert guard.check("这是公司的规定").decision == "block"


def test_check_command_offers_the_rewrite_on_request():
    out = subprocess.run([sys.executable, "-m", "bot", "check", "--rewrite", "--phrases", str(PHRASES),
                          "您去找厂家吧，其他的我帮您登记。"], capture_output=True, cwd=ROOT, timeout=120)
    data = json.loads(out.stdout)
    assert data["decision"] == "block" and data["rewrite"].endswith("其他的我帮您登记。")
    plain = json.loads(subprocess.run([sys.executable, "-m", "bot", "check", "--phrases", str(PHRASES), "好的"],
                                      capture_output=True, cwd=ROOT, timeout=120).stdout)
    assert plain["decision"] == "pass" and "rewrite" not in plain


@pytest.mark.parametrize("text,sentence", [
    ("保修這塊您得自己聯繫品牌售後，我們只管賣", 4),          # Traditional
    ("您 得 自 己 聯 繫 品 牌 售 後 吧", 4),                    # spaced out
    ("理解您着急！！但这个确实办不了。。。", 10),              # full-width runs of punctuation
])
def test_intents_read_traditional_spaced_and_noisy_drafts(engine, text, sentence):
    result = engine.guard.check(text)
    assert sentence in [h.id for h in result.violations + result.warnings]


@pytest.mark.parametrize("text", [
    "您好！這個您得自己聯繫品牌售後，我們只管賣。祝您愉快",
    "亲～「没办法」不是答案，不过线上改不了，您得自己去营业厅办",
    "理解您着急，但真的没办法，系统不支持。另外您的退款已经到账了",
])
def test_every_hit_indexes_the_original_text(engine, text):
    result = engine.guard.check(text)
    assert result.violations or result.warnings
    for hit in result.violations + result.warnings:
        assert text[hit.start:hit.end] == hit.match and hit.match


def test_a_failure_inside_check_asks_the_agent_instead_of_raising(tmp_path, caplog):
    guard = tiny_guard(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    guard._rule_hits = broken
    result = guard.check("这种问题小孩子都会")
    assert result.decision == "confirm" and result.ok and "guard failed" in caplog.text
    assert guard.rewrite("这种问题小孩子都会") is None


def test_train_writes_thresholds_keeping_the_admins_comments(phrases_dir):
    from bot.admin.train import write_thresholds

    before = (phrases_dir / "forbidden.yaml").read_text(encoding="utf-8")
    write_thresholds(phrases_dir, {"model_confirm": 0.5, "model_block": 0.97, "model_release": 0.1})
    after = (phrases_dir / "forbidden.yaml").read_text(encoding="utf-8")
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ["  model_confirm: 0.5", "  model_block: 0.97", "  model_release: 0.1"]
    decision = load_phrases(phrases_dir).forbidden.decision
    assert (decision.model_confirm, decision.model_block, decision.model_release) == (0.5, 0.97, 0.1)
