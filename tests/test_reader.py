"""The analyser's learned reading (reader.json): loading, scoring, when it may move the rules'
reading, how it explains itself, and training.

Sentences here are written for these tests, not copied from any labelled file.
"""

from __future__ import annotations

from dataclasses import replace
import json
import subprocess
import sys

import pytest

from bot.engine.analysis import Analyzer
from bot.engine.learned import (READER_CLASSES, READER_FORMAT, READER_OUTPUTS, RULE_EVIDENCE, ReaderModel, Verdict,
                                char_features, features, load_reader, word_features)
from bot.engine.phrases import PhraseFileError, load_phrases
from bot.admin.quality import read_blind
from bot.engine.text import normalize_text
from tests.conftest import DATA, PHRASES, ROOT

WIDTH = len(READER_OUTPUTS)


def toy_reader(bias: tuple[float, ...], weights: dict[str, tuple[float, ...]] | None = None) -> ReaderModel:
    """A reader that ignores the rules' evidence: only its bias and n-gram weights speak."""
    return ReaderModel(bias, weights or {}, tuple((0.0,) * len(RULE_EVIDENCE) for _ in READER_OUTPUTS))


NONE_ALWAYS = (9.0, 0.0, 0.0, 0.0, 0.0, -9.0)       # "no complaint, no threat" whatever the text
ANGER_ALWAYS = (0.0, 9.0, 0.0, 0.0, 0.0, -9.0)


@pytest.fixture(scope="module")
def phrases():
    return load_phrases(PHRASES)


# ---------------------------------------------------------------- the file

def good_payload() -> dict:
    return {"format": READER_FORMAT, "ngram": [1, 2], "outputs": list(READER_OUTPUTS),
            "rule_evidence": list(RULE_EVIDENCE), "bias": [0.0] * WIDTH,
            "rules": [[0.0] * len(RULE_EVIDENCE) for _ in READER_OUTPUTS], "weights": {"坑": [0, 1, 0, 0, 0, 0]}}


def test_a_reader_file_with_the_wrong_shape_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "reader.json"
    path.write_text(json.dumps(good_payload()), encoding="utf-8")
    assert load_reader(path)[0] is not None
    good = good_payload()
    for broken in ({**good, "format": "complaint-bot/reader/1"}, {**good, "bias": [0.0] * 5},
                   {**good, "weights": {"坑": [1, 2]}}, {**good, "rules": [[0.0]]},
                   {**good, "rule_evidence": ["rule:anger"]}, {**good, "outputs": ["none", "anger"]},
                   {**good, "ngram": [2, 1]}, {**good, "bias": [float("nan")] * WIDTH}, [1, 2],
                   {**good, "words": "true"}, {**good, "words": True, "ngram": [1, 3]}):
        path.write_text(json.dumps(broken), encoding="utf-8")
        model, problems = load_reader(path)
        assert model is None and problems and problems[0][1]


def test_a_format_2_reader_still_loads_as_characters_only(tmp_path):
    path = tmp_path / "reader.json"
    path.write_text(json.dumps({**good_payload(), "format": "complaint-bot/reader/2", "words": True}), encoding="utf-8")
    model, problems = load_reader(path)
    assert problems == [] and model is not None and not model.words
    path.write_text(json.dumps({**good_payload(), "words": True}), encoding="utf-8")
    assert load_reader(path)[0].words
    path.write_text('{"format": "x",\n "bias": [', encoding="utf-8")
    model, problems = load_reader(path)
    assert model is None and problems[0][0] == 2
    model, problems = load_reader(tmp_path / "missing.json")
    assert model is None and "phrases train" in problems[0][1]


def test_a_broken_reader_file_stops_the_phrase_set_with_its_name(phrases_dir):
    (phrases_dir / "reader.json").write_text("{", encoding="utf-8")
    with pytest.raises(PhraseFileError) as err:
        load_phrases(phrases_dir)
    assert any(line.startswith("reader.json:") for line in err.value.lines())
    assert load_phrases(phrases_dir, learned=False).emotions.reader is None


def test_without_the_model_line_the_analyser_reads_with_rules_only(phrases_dir):
    path = phrases_dir / "emotions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  model: reader.json\n", ""), encoding="utf-8")
    (phrases_dir / "reader.json").unlink()
    assert Analyzer(load_phrases(phrases_dir)).reader is None


def test_the_shipped_reader_is_loaded_and_small(engine):
    assert engine.analyzer.reader is not None and engine.analyzer.reader.words
    assert (PHRASES / "reader.json").stat().st_size < 1_500_000


# ---------------------------------------------------------------- scoring

@pytest.mark.parametrize("text", ["", "a", "订单 12345 还没到！！", "|分|隔|", "😡😡 太慢", "這是繁體", "x" * 300])
def test_the_fast_n_grams_are_exactly_the_training_features(engine, text):
    norm = normalize_text(text)
    tokens, reader = engine.analyzer.tokens(text), engine.analyzer.reader
    assert reader.grams(norm, tokens) == set(features(norm, reader.low, reader.high)) | set(word_features(tokens))
    bigrams = replace(reader, low=2)
    assert bigrams.grams(norm, tokens) == set(features(norm, 2, 2)) | set(word_features(tokens))
    # the analyser offers its character 1-2-grams; a reader of other lengths makes its own
    assert bigrams.grams(norm, tokens, char_features(norm)) == bigrams.grams(norm, tokens)
    evidence = [0.0] * len(RULE_EVIDENCE)
    assert (bigrams.read(norm, evidence, tokens, char_features(norm)).scores
            == pytest.approx(bigrams.read(norm, evidence, tokens).scores, abs=1e-9))


def test_the_trainer_builds_the_features_the_bot_reads(engine):
    """No skew between training and serving: the same tokens, the same features."""
    pytest.importorskip("sklearn")
    from bot.admin import train_reader as tr

    for text in ["你们这是什么破服务！！打了三次电话都没人接", "订单号 8827361540", "這個 App 又閃退了 😡", ""]:
        row = tr.with_tokens([tr.Example("none", False, text)], engine.analyzer.tokens)[0]
        assert tr._features(row) == sorted(engine.analyzer.reader.grams(normalize_text(text), engine.analyzer.tokens(text)))


def reference_scores(reader: ReaderModel, norm: str, evidence: list[float], tokens: list[str]) -> list[float]:
    """The six scores by the definition: bias, each distinct feature's row once, evidence × rule weights."""
    scores = list(reader.bias)
    for feature in reader.grams(norm, tokens):
        for k, w in enumerate(reader.weights.get(feature, ())):
            scores[k] += w
    for value, name in zip(evidence, RULE_EVIDENCE):
        for k in range(WIDTH):
            scores[k] += value * reader.rules[k][RULE_EVIDENCE.index(name)]
    return scores


def test_reading_weighs_exactly_the_training_features(engine):
    """read() looks features up in split tables (words by token, pairs by a|b): the same scores."""
    analyzer = engine.analyzer
    texts = labelled_texts()[:3000] + ["|分|隔|", "我 不 给", "a||b", "  ", "退款!!!退款", "12315 12345"]
    for text in texts:
        evidence = analyzer.evidence(text)
        if evidence is None:
            continue
        norm, tokens = normalize_text(text), analyzer.tokens(text)
        reader, chars = analyzer.reader, char_features(normalize_text(text))
        got = reader.read(norm, evidence, tokens).scores
        assert got == pytest.approx(reference_scores(reader, norm, evidence, tokens), abs=1e-9), text
        # the n-grams the analyser shares with its cue index give the same scores and explanations
        assert reader.read(norm, evidence, tokens, chars).scores == pytest.approx(got, abs=1e-9)
        assert reader.heaviest(norm, 1, 0, words=tokens, chars=chars) == reader.heaviest(norm, 1, 0, words=tokens)


def test_word_and_pair_weights_are_found_by_their_tokens():
    row = (0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    weights = {"w:投诉": row, "p:不|给": row, "p:||分": row, "w:a": row, "w:": row, "p:": row}
    reader = replace(toy_reader((0.0,) * WIDTH, weights), words=True)
    evidence = [0.0] * len(RULE_EVIDENCE)
    for tokens, anger in ((["我", "要", "投诉", "投诉"], 1.0), (["不", "给"], 1.0), (["不", " ", "给"], 1.0),
                          (["|", "分"], 1.0), (["||", "分"], 0.0), (["a"], 0.0), (["不给"], 0.0),
                          # the character bigrams "w:" and "p:" are n-grams like any other
                          (["new", ":", "投诉"], 2.0), (["help", ":"], 1.0), (["p", ":"], 1.0)):
        norm = "".join(tokens)
        assert reader.read(norm, evidence, tokens).scores[1] == anger == reference_scores(reader, norm, evidence, tokens)[1]


def reference_heaviest(reader: ReaderModel, norm: str, toward: int, against: int | None, words: list[str]) -> list[str]:
    """heaviest() as first written: every feature shown and filtered on each call."""
    pushes = sorted(((row[toward] - (row[against] if against is not None else 0.0), g)
                     for g in reader.grams(norm, words) if (row := reader.weights.get(g)) is not None), reverse=True)
    inside: list[str] = []
    across: list[str] = []
    for push, g in pushes:
        shown = g[2:].replace("|", "", 1) if g.startswith("p:") else g[2:] if g.startswith("w:") else g
        if (push <= 0 or shown in inside or shown in across or not shown.isalnum()
                or sum(map(str.isalpha, shown)) < 2 or shown not in norm):
            continue
        (inside if any(shown in w for w in words) else across).append(shown)
        if len(inside) == 3:
            break
    return (inside + across)[:3]


def test_explanations_are_the_heaviest_readable_features(engine):
    analyzer = engine.analyzer
    for text in labelled_texts()[:1500]:
        norm, tokens = normalize_text(text), analyzer.tokens(text)
        for toward, against in ((1, 0), (0, 1), (5, None), (4, 2)):
            assert (analyzer.reader.heaviest(norm, toward, against, words=tokens)
                    == reference_heaviest(analyzer.reader, norm, toward, against, tokens)), text


def test_a_word_reader_without_tokens_says_so(engine):
    with pytest.raises(ValueError, match="tokens"):
        engine.analyzer.reader.read("太慢了", [0.0] * len(RULE_EVIDENCE))


def test_word_features_are_words_and_neighbouring_pairs():
    assert word_features(["我", "要", "投诉", " ", "ok"]) == ["w:投诉", "w:ok", "p:我|要", "p:要|投诉", "p:投诉|ok"]
    assert word_features([]) == []


def test_a_verdict_reads_its_scores():
    assert Verdict((0.0, 2.0, 1.0, 0.0, 0.0, -1.0)).emotion == "anger"
    assert Verdict((3.0, 2.0, 1.0, 0.0, 0.0, -1.0)).emotion is None
    threat = Verdict((3.0, 2.0, 1.0, 0.0, 0.0, 0.5))     # a threat is a complaint: its likeliest feeling
    assert threat.severe and threat.emotion == "anger"
    assert 0.5 < Verdict((0.0, 2.0, 0.0, 0.0, 0.0, -1.0)).share < 1.0


def test_the_rules_evidence_moves_the_scores():
    weights = [[0.0] * len(RULE_EVIDENCE) for _ in READER_OUTPUTS]
    weights[READER_CLASSES.index("anxiety")][RULE_EVIDENCE.index("rule:anxiety")] = 5.0
    reader = ReaderModel((1.0, 0, 0, 0, 0, -1.0), {}, tuple(map(tuple, weights)))
    evidence = [0.0] * len(RULE_EVIDENCE)
    assert reader.read("随便", evidence).emotion is None
    assert reader.read("随便", [2 if e == "rule:anxiety" else 0 for e in RULE_EVIDENCE]).emotion == "anxiety"
    evidence[RULE_EVIDENCE.index("rule:anxiety")] = 1.0
    assert reader.read("随便", evidence).emotion == "anxiety"


# ---------------------------------------------------------------- moving the rules' reading

def test_the_reader_moves_a_reading_and_says_why(phrases):
    reader = toy_reader((0.0, -1.0, -1.0, -1.0, -1.0, -9.0), {"蓝莓": (0.0, 3.0, 0.0, 0.0, 0.0, 0.0),
                                                               "蓝": (0.0, 1.0, 0.0, 0.0, 0.0, 0.0)})
    assert not Analyzer(phrases, reader=None).analyze("请问有蓝莓味的吗").negative
    result = Analyzer(phrases, reader=reader).analyze("请问有蓝莓味的吗")
    assert result.negative and result.emotion == "anger"
    assert result.triggers["learned"] == ["蓝莓"] and 0.5 < result.scores["learned"] < 1.0   # 蓝 alone says little


def test_the_reader_can_read_a_plain_word_away_as_no_complaint(phrases):
    text = "遥控器在哪里可以买到，之前那个按了半天才有反应"
    rules_only = Analyzer(phrases, reader=None).analyze(text)
    assert rules_only.negative
    result = Analyzer(phrases, reader=toy_reader(NONE_ALWAYS)).analyze(text)
    assert not result.negative and result.emotion is None and result.intensity == 0
    assert result.scores["learned"] > 0.9
    # the rules' words are kept, as overruled, off the card's "why" (which reads triggers.emotion)
    assert result.triggers["overruled"] == rules_only.triggers["emotion"] and "emotion" not in result.triggers


@pytest.mark.parametrize("text", ["我要投诉", "退钱", "垃圾", "？？？", "什么破服务", "？" * 100])
def test_a_short_complaint_in_the_rules_own_words_is_kept(phrases, engine, text):
    """Too few n-grams to weigh: the shipped reader and a reader that always says none both keep it."""
    assert Analyzer(phrases, reader=toy_reader(NONE_ALWAYS)).analyze(text).negative
    assert engine.analyzer.analyze(text).negative


def test_a_short_message_the_rules_read_from_an_emoji_alone_may_be_read_away(phrases):
    assert Analyzer(phrases, reader=None).analyze("⏰ 明天几点送到呀").negative
    assert not Analyzer(phrases, reader=toy_reader(NONE_ALWAYS)).analyze("⏰ 明天几点送到呀").negative


@pytest.mark.parametrize("text", ["😡😡", "我能不生气吗？"])
def test_an_angry_emoji_or_a_rhetorical_question_is_never_read_away(phrases, text):
    result = Analyzer(phrases, reader=toy_reader(NONE_ALWAYS)).analyze(text)
    assert result.negative and result.emotion == "anger" and "learned" not in result.scores


def test_the_reader_can_doubt_a_threat_and_says_so(phrases):
    result = Analyzer(phrases, reader=toy_reader(ANGER_ALWAYS)).analyze("再不退款我就打12315")
    assert not result.severe and result.negative
    assert "12315" in result.triggers["threat_doubted"] and "not_threat" not in result.triggers
    assert result.scores["learned_severe"] < 0.01


def test_a_threat_the_reader_finds_is_shown_with_its_n_grams(phrases):
    reader = toy_reader((0.0, 1.0, 0.0, 0.0, 0.0, -1.0), {"蓝莓": (0.0, 0.0, 0.0, 0.0, 0.0, 3.0)})
    assert not Analyzer(phrases, reader=None).analyze("蓝莓的事我会让大家都知道").severe
    result = Analyzer(phrases, reader=reader).analyze("蓝莓的事我会让大家都知道")
    assert result.severe and result.emotion == "anger" and result.triggers["severe"] == ["蓝莓"]
    assert result.triggers["learned_severe"] == ["蓝莓"] and result.scores["learned_severe"] > 0.8


def test_the_neutral_gate_decides_before_the_reader(phrases):
    result = Analyzer(phrases, reader=toy_reader(ANGER_ALWAYS)).analyze("订单号 8827361540")
    assert not result.negative and result.triggers["neutral"] == ["id"]


def labelled_texts() -> list[str]:
    from bot.admin.quality import read_blind, read_rows

    return ([r.text for r in read_rows(DATA / "customer_messages.tsv", drafts=False)]
            + [r.text for r in read_blind(DATA / "blind", "tune", "customers")])


def test_the_shipped_reader_explains_every_reading_it_moves(engine):
    moved = 0
    for text in labelled_texts():
        result = engine.analyzer.analyze(text)
        if "learned" not in result.scores:
            continue
        moved += 1
        why = result.triggers.get("learned" if result.negative else "learned_none", [])
        # a complaint it finds is shown with its words; one it reads away may rest on the absence of any
        assert (why or not result.negative) and 0.0 < result.scores["learned"] <= 1.0, (text, result.triggers)
        norm = normalize_text(text)
        assert all(g in norm and g.isalnum() and sum(ch.isalpha() for ch in g) >= 2 for g in why), why
    assert moved > 100


def test_every_reading_is_consistent(engine):
    """negative exactly when there is an emotion; a threat is a complaint; intensity 0 only when calm."""
    for text in labelled_texts():
        r = engine.analyzer.analyze(text)
        assert r.negative == (r.emotion is not None), text
        assert not r.severe or r.negative, text
        assert (r.intensity == 0) == (not r.negative), text
        assert r.negative or not r.triggers.get("emotion") or "learned" not in r.scores, text


def test_the_rules_evidence_is_in_the_order_the_model_reads(phrases):
    rules = Analyzer(phrases, reader=None)
    evidence = dict(zip(RULE_EVIDENCE, rules.evidence("再不退款我就打12315，我非常生气")))
    assert len(rules.evidence("随便说说")) == len(RULE_EVIDENCE)
    assert evidence["rule:anger"] == 1.0 and evidence["rule:negative"] == 1.0 and evidence["rule:severe"] == 1.0
    assert evidence["rule:anxiety"] == 0.0 and evidence["score:anger"] > 0
    evidence = dict(zip(RULE_EVIDENCE, rules.evidence("洗衣机已经修好了，谢谢师傅")))
    assert evidence["rule:relief"] == 1.0 and evidence["rule:negative"] == 0.0
    assert rules.evidence("订单号 8827361540") is None       # the neutral gate decides alone


# ---------------------------------------------------------------- training

def test_the_folded_model_scores_as_its_two_stages(phrases):
    """One linear model (what the bot reads) equals the combiner over the n-gram models' odds."""
    pytest.importorskip("sklearn")
    from bot.admin import train_reader as tr

    rows = tr.with_tokens(tr.training_rows(DATA)[:400], Analyzer(phrases, reader=None).tokens)
    vectorizer, emotion, severe = tr.fit_grams(rows, 3.0)
    gram_bias, gram_weights = tr.gram_table(vectorizer, emotion, severe, 0.0)
    grams_only = tr._shipped(gram_bias, gram_weights)
    evidence = [[float(i % 3 == 0), float(i % 2)] + [0.0] * (len(RULE_EVIDENCE) - 2) for i in range(len(rows))]
    x = [e + tr.odds(grams_only.read(normalize_text(r.text), [0.0] * len(RULE_EVIDENCE), r.tokens).scores)
         for e, r in zip(evidence, rows)]
    combiner = tr.combiner_matrix(*tr.fit_combiner(x, rows, 0.3))
    folded = tr.fold(combiner, gram_bias, gram_weights, prune=0.0)
    reader = ReaderModel(tuple(folded["bias"]), {g: tuple(w) for g, w in folded["weights"].items()},
                         tuple(map(tuple, folded["rules"])), words=tr.WORDS)
    bias, matrix = combiner
    texts = [normalize_text(r.text) for r in rows[:60]]
    log_p = emotion.predict_log_proba(vectorizer.transform(rows[:60]))
    order = [list(emotion.classes_).index(c) for c in READER_CLASSES]
    severe_logit = severe.decision_function(vectorizer.transform(rows[:60]))
    for k, (e, row, norm) in enumerate(zip(evidence, rows, texts)):
        # stage one's odds straight from scikit-learn: log P(feeling) - log P(none), and severe's logit
        sk_odds = [log_p[k, order[j]] - log_p[k, order[0]] for j in range(1, 5)] + [severe_logit[k]]
        two_stage = [b + sum(w * v for w, v in zip(m, e + sk_odds)) for b, m in zip(bias, matrix)]
        one = reader.read(norm, e, row.tokens).scores
        assert max(abs(a - b) for a, b in zip(one, two_stage)) < 0.05


def test_the_trainer_writes_the_commonest_features_first():
    """The bot allocates rows in file order: the ones most messages touch end up side by side."""
    from bot.admin import train_reader as tr

    rows = [tr.Example("none", False, text, tuple(text)) for text in ("甲乙", "甲丙", "甲乙丁")]
    weights = {g: [0.0] * WIDTH for g in ("丁", "乙", "丙", "甲", "w:zz")}
    assert list(tr.commonest_first(weights, rows)) == ["甲", "乙", "丁", "丙", "w:zz"]


def test_phrases_train_writes_a_reader_the_analyser_loads(phrases_dir):
    pytest.importorskip("sklearn")
    (phrases_dir / "reader.json").unlink()
    out = subprocess.run([sys.executable, "-m", "bot", "phrases", "train", "--only", "reader", "--phrases",
                          str(phrases_dir), "--data", str(DATA)], capture_output=True, text=True, cwd=ROOT,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cross-validated" in out.stdout and "emotion accuracy" in out.stdout
    model, problems = load_reader(phrases_dir / "reader.json")
    assert problems == [] and model is not None
    meta = json.loads((phrases_dir / "reader.json").read_text(encoding="utf-8"))["meta"]
    from bot.admin.train_reader import training_rows

    # every training row is a development or tuning row, and none is a held-out text
    trained = {r.text for r in training_rows(DATA)}
    held_out = {r.text for r in read_blind(DATA / "blind", "holdout", "customers")}
    assert meta["trained_on"] == len(training_rows(DATA)) > 3000 and not trained & held_out
    assert 0.8 < meta["cross_validated"]["emotion_accuracy"] <= 1.0 and meta["none_bias"] >= 0
    from bot.engine.analysis import cut_fingerprint

    assert meta["cut"] == cut_fingerprint(load_phrases(phrases_dir, learned=False))
    analyzer = Analyzer(load_phrases(phrases_dir))
    assert analyzer.reader is not None and analyzer.analyze("你们这服务太差了，我非常生气！").emotion == "anger"


def test_phrases_check_warns_when_the_rules_changed_after_training(phrases_dir):
    def check() -> str:
        return subprocess.run([sys.executable, "-m", "bot", "phrases", "check", "--phrases", str(phrases_dir)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120).stdout

    assert "phrases train" not in check()
    path = phrases_dir / "emotions.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  keep_short: 12", "  keep_short: 10") + "\n# 一行注释\n", encoding="utf-8")
    assert "phrases train" not in check()        # the reader's own settings and comments are not its rules
    assert "negators: [不, " in text
    path.write_text(text.replace("negators: [不, ", "negators: [绝非, 不, ", 1), encoding="utf-8")
    out = check()
    assert out.startswith("ok:") and "phrases train" in out
