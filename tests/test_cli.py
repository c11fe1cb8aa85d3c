"""The offline CLI as a user runs it: python -m bot analyze/check/phrases check."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PHRASES_DIR": str(ROOT / "bot" / "phrases"), **(env or {})}
    environ.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=ROOT, env=environ, timeout=60
    )


def test_analyze_prints_the_contract_fields():
    out = run("analyze", "你们发货太慢了，我非常失望！")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("text", "negative", "emotion", "intensity", "severe", "category", "demand", "keywords", "empathy"):
        assert key in data
    assert data["emotion"] == "disappointment" and data["empathy"]


def test_check_jsonl_gives_one_line_per_input_line_whatever_it_holds():
    lines = [b"", "规 定 如 此".encode(), "😡😡".encode(), b"\x01\x1c\x85 ctrl", b"\xff\xfe bad utf-8",
             ("这是公司的规定" * 3000).encode(), "<b>&amp;</b>".encode(), "a\u2028b".encode()]
    out = run("check", "--jsonl", stdin=b"\n".join(lines) + b"\n")
    assert out.returncode == 0, out.stderr
    results = [json.loads(x) for x in out.stdout.decode().split("\n") if x]
    assert len(results) == len(lines)
    assert [r["ok"] for r in results] == [True, False, True, True, True, False, True, True]
    assert results[1]["violations"][0]["id"] == 8


def test_analyze_jsonl_handles_crlf_and_no_final_newline():
    out = run("analyze", "--jsonl", stdin="气死我了\r\n请问几点开门".encode())
    results = [json.loads(x) for x in out.stdout.decode().splitlines()]
    assert [r["text"] for r in results] == ["气死我了", "请问几点开门"]
    assert [r["negative"] for r in results] == [True, False]


def test_phrases_check_reports_file_line_and_exits_1(tmp_path):
    import shutil

    broken = tmp_path / "phrases"
    shutil.copytree(ROOT / "bot" / "phrases", broken)
    path = broken / "forbidden.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  - id: 4\n", "  - id: 3\n"), encoding="utf-8")
    out = run("phrases", "check", env={"PHRASES_DIR": str(broken)})
    assert out.returncode == 1
    assert all(line.startswith("forbidden.yaml:") for line in out.stdout.decode().splitlines())


def test_phrases_check_ok():
    out = run("phrases", "check")
    assert out.returncode == 0 and out.stdout.decode().startswith("ok:")
    assert "warning" not in out.stdout.decode()        # the shipped reader fits the shipped files


def test_phrases_check_warns_when_new_keywords_change_how_the_reader_cuts_words(tmp_path):
    """A category keyword joins jieba's dictionary, so the word-feature reader reads other words."""
    import shutil

    edited = tmp_path / "phrases"
    shutil.copytree(ROOT / "bot" / "phrases", edited)
    path = edited / "categories.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("keywords: [改单, ", "keywords: [改单, 改约时间, "),
                    encoding="utf-8")
    out = run("phrases", "check", env={"PHRASES_DIR": str(edited)})
    assert out.returncode == 0 and "trained on words cut another way" in out.stdout.decode()


def test_run_without_a_token_points_to_env_example_and_console():
    out = run("run", env={"TELEGRAM_BOT_TOKEN": ""})
    assert out.returncode == 2
    err = out.stderr.decode()
    assert ".env.example" in err and "complaint-bot console" in err and "Traceback" not in err
