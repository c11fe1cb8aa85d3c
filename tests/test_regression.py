"""The phrase regression corpus: the shipped one passes; an edit that breaks it is reported."""

import os
import shutil
import subprocess
import sys

from bot.admin.regression import load_regression, run
from tests.conftest import PHRASES, ROOT


def test_the_shipped_corpus_passes(engine):
    outcomes = run(engine, load_regression(PHRASES))
    assert len(outcomes) >= 25 and [o.describe() for o in outcomes if not o.ok] == []


def test_phrases_test_reports_what_an_edit_changed(tmp_path):
    broken = tmp_path / "phrases"
    shutil.copytree(PHRASES, broken)
    path = broken / "forbidden.yaml"
    text = path.read_text(encoding="utf-8")
    # an admin deletes rule 8's variants, patterns and intents: 这是公司的规定 slips through
    start = text.index("  - id: 8")
    end = text.index("  - id: 9")
    rule = text[start:end]
    kept = rule[: rule.index("    variants:")] + "    variants: [这个说法不存在]\n" + rule[rule.index("    better:"):]
    path.write_text(text[:start] + kept + text[end:], encoding="utf-8")
    env = {**os.environ, "PHRASES_DIR": str(broken)}
    out = subprocess.run([sys.executable, "-m", "bot", "phrases", "test"], capture_output=True, cwd=ROOT, env=env,
                         timeout=60)
    report = out.stdout.decode()
    assert out.returncode == 1
    assert "「这是公司的规定」应该是 被第 8 句拦下，现在是 可以发送" in report
