"""The built wheel, installed in a fresh virtualenv, works from any folder (issue 10).

The wheel is built from a copy of the sources (the checkout is shared, so no build/
folder appears in it) and installed with ``--no-deps`` into a new venv that reuses the
dependencies already installed for the tests through a ``.pth`` line, so the test needs no
network; the project itself comes only from the wheel (the editable install's finder is
not loaded there). Every command runs from ``/`` with no ``PHRASES_DIR`` and no ``.env``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHRASE_FILES = {"forbidden.yaml", "emotions.yaml", "empathy.yaml", "categories.yaml", "texts.yaml",
                "suggestions.yaml", "regression.yaml",
                "model.json", "reader.json"}   # the learned weights: the guard's, the analyser's


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "bot", src / "bot", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("complaint_bot-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = {Path(n).name for n in zf.namelist() if n.startswith("bot/phrases/")}
    assert shipped == PHRASE_FILES

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # the test run's dependencies, as a plain path: its .pth files (the editable install) are not run
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    return venv / "bin"


def clean_env() -> dict[str, str]:
    """No PHRASES_DIR, no token, no PYTHONPATH (which would put a checkout before the wheel)."""
    return {k: v for k, v in os.environ.items() if k not in ("PHRASES_DIR", "TELEGRAM_BOT_TOKEN", "PYTHONPATH")}


def run_from_root(bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "complaint-bot"), *args], cwd="/", env=clean_env(), capture_output=True,
                          text=True, timeout=120)


def test_the_package_comes_from_the_wheel(installed):
    out = subprocess.run([str(installed / "python"), "-c", "import bot, bot.settings as s; "
                          "print(bot.__file__); print(s.Settings().phrases_dir)"],
                         cwd="/", env=clean_env(), capture_output=True, text=True, check=True)
    module, phrases = out.stdout.split()
    venv = str(installed.parent)
    assert module.startswith(venv) and phrases.startswith(venv), out.stdout


def test_analyze_from_root(installed):
    out = run_from_root(installed, "analyze", "你们发货太慢了，我非常失望！")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["negative"] and data["emotion"] == "disappointment" and data["empathy"]


def test_check_from_root(installed):
    out = run_from_root(installed, "check", "這是公司的規定")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is False and data["violations"][0]["id"] == 8


def test_phrases_check_and_test_from_root(installed):
    out = run_from_root(installed, "phrases", "check")
    assert out.returncode == 0 and out.stdout.startswith("ok:"), out.stdout + out.stderr
    out = run_from_root(installed, "phrases", "test")
    assert out.returncode == 0, out.stdout + out.stderr


def test_phrases_init_copies_the_shipped_files_and_they_load(installed, tmp_path):
    target = tmp_path / "my-phrases"
    out = run_from_root(installed, "phrases", "init", str(target))
    assert out.returncode == 0, out.stderr
    assert {p.name for p in target.iterdir()} == PHRASE_FILES
    again = run_from_root(installed, "phrases", "init", str(target))
    assert again.returncode == 1 and "--force" in again.stderr     # an admin's edits are never overwritten
    (target / "forbidden.yaml").write_text("forbidden: [\n", encoding="utf-8")
    out = run_from_root(installed, "phrases", "check", "--phrases", str(target))
    assert out.returncode == 1 and out.stdout.startswith("forbidden.yaml:")
