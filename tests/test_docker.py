"""The container files, linted (issue 10): CI machines may have no Docker, so nothing is built here.

Dockerfile: a slim Python base, a non-root user at run time, the ticket log and the phrase
files on declared volumes that the settings point into, a healthcheck with a command that
exists, and COPY sources that exist and are not excluded by .dockerignore. compose.yaml: the
same volumes and settings from .env.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    result = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def args_of(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def env_values() -> dict[str, str]:
    values = {}
    for rest in args_of("ENV"):
        for part in shlex.split(rest):
            key, _, value = part.partition("=")
            values[key] = value
    return values


def volumes() -> list[str]:
    found = []
    for rest in args_of("VOLUME"):
        found += [v.strip('"') for v in re.findall(r'"[^"]+"|[^\s\[\],]+', rest)]
    return found


def test_the_base_is_slim_python():
    (base,) = args_of("FROM")
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base), base


def test_the_bot_runs_as_a_user_other_than_root():
    users = args_of("USER")
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    # the user is created before it is used
    assert any("useradd" in rest and users[-1].split(":")[0] in rest for rest in args_of("RUN"))


def test_the_ticket_log_and_the_phrase_files_are_on_volumes():
    declared = volumes()
    env = env_values()
    assert any(Path(env["DATABASE_PATH"]).is_relative_to(v) for v in declared), (env, declared)
    assert any(Path(env["PHRASES_DIR"]).is_relative_to(v) for v in declared), (env, declared)


def test_the_healthcheck_runs_a_command_the_bot_has():
    (check,) = args_of("HEALTHCHECK")
    command = re.search(r"CMD\s+(.*)", check).group(1)
    argv = [a.strip('"') for a in re.findall(r'"[^"]*"', command)] if command.startswith("[") else command.split()
    assert argv[0] == "complaint-bot"
    build_parser().parse_args(argv[1:])          # exits (fails the test) on an unknown command


def test_the_default_command_runs_the_bot():
    (cmd,) = args_of("CMD")
    assert re.findall(r'"([^"]*)"', cmd) == ["complaint-bot", "run"]


def test_copied_sources_exist_and_are_not_ignored():
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in ignore:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                verdict = not negate
        return verdict

    for rest in args_of("COPY"):
        *sources, _ = rest.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not ignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"
    assert ignored(".venv") and ignored(".git") and ignored("tests")


def test_compose_uses_the_same_volumes_and_settings_from_env():
    compose = YAML(typ="safe").load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    mounts = {m.split(":")[1] for m in service["volumes"]}
    assert set(volumes()) <= mounts
    assert set(compose["volumes"]) == {m.split(":")[0] for m in service["volumes"]}
    assert service["env_file"] == ".env"
    assert service["environment"]["DATABASE_PATH"] == env_values()["DATABASE_PATH"]
    assert service["environment"]["PHRASES_DIR"] == env_values()["PHRASES_DIR"]
    assert all(p.startswith("127.0.0.1:") for p in service.get("ports", [])), "the webhook port is for a local proxy"


@pytest.mark.parametrize("name", ["Dockerfile", "compose.yaml", ".dockerignore"])
def test_the_files_exist(name):
    assert (ROOT / name).is_file()
