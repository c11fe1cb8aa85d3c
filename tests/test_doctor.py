"""``complaint-bot doctor`` as a user runs it, against the project's Bot API server.

Every check is made to pass once, then to fail in each way it can, with the one line it
prints and the exit status; the token never appears in what it prints.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from botapi import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
CHAT = -100200300
SECRET = "s3cret_token-OK"


def doctor(tg: FakeTelegram, tmp_path: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Exit status, each check's line by name, and the whole output."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "PHRASES_DIR"))}
    environ.update({
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": tg.url, "AGENT_CHAT_ID": str(CHAT),
        "AGENT_IDS": "5001,5002", "SUPERVISOR_IDS": "6001", "ADMIN_IDS": "7001",
        "DATABASE_PATH": str(tmp_path / "data" / "tickets.db"), **env,
    })
    out = subprocess.run([sys.executable, "-m", "bot", "doctor"], cwd=tmp_path, env=environ, capture_output=True,
                         text=True, timeout=120)
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    for token in (tg.token, environ["TELEGRAM_BOT_TOKEN"]):
        assert not token or token not in text, text
    lines = {}
    for line in out.stdout.splitlines()[1:-1]:
        status, _, rest = line.partition("  ")
        lines[rest.split(":")[0].strip()] = line
    return out.returncode, lines, text


def status(lines: dict[str, str], name: str) -> str:
    return lines[name].split()[0]


@pytest.fixture
def tg():
    with FakeTelegram() as server:
        yield server


def test_a_good_setup_passes_every_check(tg, tmp_path):
    code, lines, text = doctor(tg, tmp_path)
    assert code == 0, text
    assert {n: status(lines, n) for n in ("token", "agent chat", "webhook", "database", "phrase files", "AGENT_IDS",
                                         "SUPERVISOR_IDS", "ADMIN_IDS")} == dict.fromkeys(
        ("token", "agent chat", "webhook", "database", "phrase files", "AGENT_IDS", "SUPERVISOR_IDS", "ADMIN_IDS"), "ok")
    assert "@complaint_desk_bot" in lines["token"]
    assert text.rstrip().endswith("all checks passed")
    assert {r.method for r in tg.requests} <= {"getMe", "getChatMember", "getChat", "getWebhookInfo"}  # changes nothing
    assert not (tmp_path / "data").exists()                                                          # creates nothing


def test_a_rejected_token(tmp_path):
    with FakeTelegram(token="111:real-token") as tg:
        code, lines, text = doctor(tg, tmp_path, TELEGRAM_BOT_TOKEN="222:wrong-token-never-printed")
    assert code == 1
    assert status(lines, "token") == "FAIL" and "@BotFather" in lines["token"]
    assert "wrong-token-never-printed" not in text
    assert status(lines, "agent chat") == "skip"


def test_no_token(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, TELEGRAM_BOT_TOKEN="")
    assert code == 1 and status(lines, "token") == "FAIL" and "TELEGRAM_BOT_TOKEN" in lines["token"]


def test_an_unreachable_bot_api(tg, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens here once the socket closes
    code, lines, _ = doctor(tg, tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot")
    assert code == 1 and status(lines, "token") == "FAIL" and "cannot reach" in lines["token"]


@pytest.mark.parametrize("setup, words", [
    (lambda tg: tg.unknown_chats.add(CHAT), "refuses chat"),
    (lambda tg: tg.memberships.__setitem__(CHAT, "left"), "not a member"),
    (lambda tg: tg.memberships.__setitem__(CHAT, "kicked"), "not a member"),
    (lambda tg: tg.memberships.__setitem__(CHAT, "restricted"), "may not send"),
    (lambda tg: tg.muted_chats.add(CHAT), "members may not send"),
], ids=["chat not found", "left", "kicked", "restricted", "members muted"])
def test_the_bot_cannot_post_in_the_agents_group(tg, tmp_path, setup, words):
    setup(tg)
    code, lines, text = doctor(tg, tmp_path)
    assert code == 1, text
    assert status(lines, "agent chat") == "FAIL" and words in lines["agent chat"] and "fix:" in lines["agent chat"]
    assert status(lines, "token") == "ok"


def test_an_administrator_may_post_even_where_members_may_not(tg, tmp_path):
    tg.muted_chats.add(CHAT)
    tg.memberships[CHAT] = "administrator"
    code, lines, _ = doctor(tg, tmp_path)
    assert code == 0 and status(lines, "agent chat") == "ok"


def test_no_agent_chat(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, AGENT_CHAT_ID="")
    assert code == 1 and status(lines, "agent chat") == "FAIL" and "AGENT_CHAT_ID" in lines["agent chat"]


def test_ids_that_are_not_numbers_are_reported_and_the_rest_still_checked(tg, tmp_path):
    code, lines, text = doctor(tg, tmp_path, AGENT_IDS="5001, abc", ADMIN_IDS="7001,@boss", AGENT_CHAT_ID="agents")
    assert code == 1
    assert status(lines, "AGENT_IDS") == "FAIL" and "'abc' is not a number" in lines["AGENT_IDS"]
    assert status(lines, "ADMIN_IDS") == "FAIL" and "'@boss'" in lines["ADMIN_IDS"]
    assert status(lines, "AGENT_CHAT_ID") == "FAIL"
    assert status(lines, "SUPERVISOR_IDS") == "ok" and status(lines, "token") == "ok"


def test_a_group_id_among_user_ids(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, SUPERVISOR_IDS="6001,-100200300")
    assert code == 1 and status(lines, "SUPERVISOR_IDS") == "FAIL" and "-100200300" in lines["SUPERVISOR_IDS"]


def test_nobody_can_answer_tickets(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, AGENT_IDS="", SUPERVISOR_IDS="")
    assert code == 1 and status(lines, "agents") == "FAIL"


def test_a_database_folder_that_cannot_be_written(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, DATABASE_PATH="/proc/complaint-bot/tickets.db")
    assert code == 1 and status(lines, "database") == "FAIL" and "cannot write" in lines["database"]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, lines, _ = doctor(tg, tmp_path, DATABASE_PATH=str(blocker / "tickets.db"))
    assert code == 1 and status(lines, "database") == "FAIL" and "not a folder" in lines["database"]


def test_phrase_files_that_do_not_load(tg, tmp_path):
    broken = tmp_path / "phrases"
    shutil.copytree(ROOT / "bot" / "phrases", broken)
    (broken / "forbidden.yaml").write_text("forbidden: [\n", encoding="utf-8")
    code, lines, _ = doctor(tg, tmp_path)          # ./phrases is found from the bot's folder
    assert code == 1 and status(lines, "phrase files") == "FAIL"
    assert "forbidden.yaml:" in lines["phrase files"] and "phrases check" in lines["phrase files"]


def test_polling_while_a_webhook_is_set(tg, tmp_path):
    tg.webhook = {"url": "https://bot.example.com/hook"}
    code, lines, _ = doctor(tg, tmp_path)
    assert code == 1 and status(lines, "webhook") == "FAIL" and "https://bot.example.com/hook" in lines["webhook"]


def test_webhook_mode_matching_telegram(tg, tmp_path):
    tg.webhook = {"url": "https://bot.example.com/hook"}
    code, lines, text = doctor(tg, tmp_path, WEBHOOK_URL="https://bot.example.com/hook", WEBHOOK_SECRET=SECRET)
    assert code == 0, text
    assert status(lines, "webhook") == "ok" and status(lines, "webhook settings") == "ok"
    assert SECRET not in text


def test_webhook_mode_before_the_first_run(tg, tmp_path):
    code, lines, _ = doctor(tg, tmp_path, WEBHOOK_URL="https://bot.example.com/hook", WEBHOOK_SECRET=SECRET)
    assert code == 0 and "sets WEBHOOK_URL at start-up" in lines["webhook"]


@pytest.mark.parametrize("webhook, env, name, words", [
    ({"url": "https://old.example.com/x"}, {}, "webhook", "not to WEBHOOK_URL"),
    ({"url": "https://bot.example.com/hook", "last_error_date": 1764000000,
      "last_error_message": "Connection timed out"}, {}, "webhook", "Connection timed out"),
    ({"url": ""}, {"WEBHOOK_URL": "http://bot.example.com/hook"}, "webhook settings", "not an https"),
    ({"url": ""}, {"WEBHOOK_URL": "https://bot.example.com:9000/hook"}, "webhook settings", "port 9000"),
    ({"url": ""}, {"WEBHOOK_SECRET": ""}, "webhook settings", "WEBHOOK_SECRET is empty"),
    ({"url": ""}, {"WEBHOOK_SECRET": "has spaces!"}, "WEBHOOK_SECRET", "letters, digits"),
], ids=["other url", "delivery error", "http", "port", "no secret", "bad secret"])
def test_webhook_problems(tg, tmp_path, webhook, env, name, words):
    tg.webhook = webhook
    settings = {"WEBHOOK_URL": "https://bot.example.com/hook", "WEBHOOK_SECRET": SECRET, **env}
    code, lines, text = doctor(tg, tmp_path, **settings)
    assert code == 1, text
    assert status(lines, name) == "FAIL" and words in lines[name], text
