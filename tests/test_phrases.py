"""Phrase files: every broken edit is refused with file:line, and the guard keeps working."""

from pathlib import Path

import pytest

from bot.engine.store import EngineStore
from bot.engine.phrases import PhraseFileError, load_phrases


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(PhraseFileError) as err:
        load_phrases(directory)
    return err.value.lines()


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_shipped_phrases_load(phrases_dir):
    phrases = load_phrases(phrases_dir)
    assert [r.id for r in phrases.forbidden.forbidden] == list(range(1, 11))


def test_broken_yaml_names_file_and_line(phrases_dir):
    path = phrases_dir / "empathy.yaml"
    edit(path, "  anxiety:\n", "  anxiety: [\n")
    (line,) = problems(phrases_dir)
    assert line.startswith("empathy.yaml:") and "YAML" in line


def test_schema_error_points_at_the_entry(phrases_dir):
    path = phrases_dir / "forbidden.yaml"
    edit(path, "    harm: 推给公司，也是没有同理心来处理顾客的问题。", "    harm: [1, 2]")
    (line,) = problems(phrases_dir)
    assert line.startswith(f"forbidden.yaml:{line_of(path, 'harm: [1, 2]')}:")


def test_duplicate_id_is_refused(phrases_dir):
    path = phrases_dir / "forbidden.yaml"
    edit(path, "  - id: 9\n", "  - id: 8\n")
    found = problems(phrases_dir)
    assert any("重复" in p and p.startswith("forbidden.yaml:") for p in found)
    assert any("缺少 id [9]" in p for p in found)


def test_empty_list_is_refused(phrases_dir):
    path = phrases_dir / "texts.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("acknowledgements:")
    end = text.index("neutral_reply:")
    path.write_text(text[:start] + "acknowledgements: []\n\n" + text[end:], encoding="utf-8")
    (line,) = problems(phrases_dir)
    assert line.startswith(f"texts.yaml:{line_of(path, 'acknowledgements: []')}:")


def test_unknown_slot_in_a_template_is_refused(phrases_dir):
    path = phrases_dir / "texts.yaml"
    edit(path, "ticket_opened: 您的问题已登记为", "ticket_opened: 订单{order}的问题已登记为")
    found = problems(phrases_dir)
    assert any(p.startswith("texts.yaml:") and "order" in p for p in found)


def test_unknown_slot_in_empathy_is_refused(phrases_dir):
    path = phrases_dir / "empathy.yaml"
    edit(path, "很抱歉{topic}的事让您不愉快", "很抱歉{product}的事让您不愉快")
    (line,) = problems(phrases_dir)
    assert line.startswith(f"empathy.yaml:{line_of(path, '{product}')}:") and "product" in line


def test_regex_that_does_not_compile_is_refused(phrases_dir):
    path = phrases_dir / "forbidden.yaml"
    edit(path, "      - '一分(钱|价钱|价)一分货'", "      - '一分(钱|价钱|价一分货'")
    (line,) = problems(phrases_dir)
    assert line.startswith(f"forbidden.yaml:{line_of(path, '一分(钱|价钱|价一分货')}:")


def test_missing_file_is_refused(phrases_dir):
    (phrases_dir / "categories.yaml").unlink()
    assert problems(phrases_dir) == ["categories.yaml:0: 文件不存在（file missing）"]


def test_every_problem_is_reported_at_once(phrases_dir):
    edit(phrases_dir / "texts.yaml", "help: |-", "help: [")
    edit(phrases_dir / "forbidden.yaml", "  - id: 3\n", "  - id: 2\n")
    found = problems(phrases_dir)
    assert {p.split(":")[0] for p in found} == {"texts.yaml", "forbidden.yaml"}


def test_a_broken_reload_keeps_the_last_good_guard(phrases_dir):
    store = EngineStore(phrases_dir)
    before = store.engine
    edit(phrases_dir / "forbidden.yaml", "forbidden:\n", "forbidden: [\n")
    assert store.changed_on_disk()
    outcome = store.reload()
    assert not outcome.ok and outcome.problems[0].startswith("forbidden.yaml:")
    assert store.engine.guard is before.guard
    assert not store.engine.guard.check("这是公司的规定").ok
    assert not store.changed_on_disk()    # the failure is reported once, not on every tick


def test_a_good_reload_reports_what_changed(phrases_dir):
    store = EngineStore(phrases_dir)
    assert store.engine.guard.check("我们店小本生意").ok
    edit(phrases_dir / "forbidden.yaml", "      - 一分价一分货\n", "      - 一分价一分货\n      - 我们店小本生意\n")
    outcome = store.reload()
    assert outcome.ok and "forbidden.yaml variants" in outcome.changes
    assert not store.engine.guard.check("我们店小本生意").ok
