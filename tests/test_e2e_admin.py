"""End to end for admins: live phrase reloads, the hotspot map, export, and strangers."""

import os
import shutil
import time

import pytest

from tests.botprocess import AGENT_CHAT, BotProcess
from tests.conftest import PHRASES

ADMIN, AGENT, STRANGER = 7001, 5001, 9999


@pytest.fixture
def phrases_copy(tmp_path):
    target = tmp_path / "phrases"
    shutil.copytree(PHRASES, target)
    return target


@pytest.fixture
def admin_bot(telegram, tmp_path, phrases_copy):
    process = BotProcess(telegram, tmp_path, PHRASES_DIR=str(phrases_copy), WATCH_SECONDS="1").start()
    yield process
    process.kill()


def command(telegram, user, text):
    telegram.push(telegram.text_update(user, text))


def blocked_in_agent_chat(telegram):
    return [t for t in telegram.sent_to(AGENT_CHAT) if "没有发送" in t]


def test_a_broken_reload_reports_file_and_line_and_the_guard_keeps_working(telegram, admin_bot, phrases_copy):
    path = phrases_copy / "forbidden.yaml"
    # an edit without a new modification time, so only /reload sees it
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("  - id: 9\n", "  - id: 8\n"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    command(telegram, ADMIN, "/reload")
    report = telegram.wait_for(lambda: [t for t in telegram.sent_to(ADMIN) if "没有重新加载" in t])[0]
    assert "forbidden.yaml:" in report and "重复" in report
    telegram.push(telegram.text_update(42, "东西坏了，太差了"))
    telegram.wait_for(lambda: telegram.sent_to(42))
    telegram.push(telegram.text_update(AGENT, "/reply 1 这是公司的规定", chat_id=AGENT_CHAT, chat_type="supergroup"))
    telegram.wait_for(lambda: blocked_in_agent_chat(telegram))
    assert not [t for t in telegram.sent_to(42) if "规定" in t]


def test_the_bot_notices_an_edit_by_itself_and_tells_admins(telegram, admin_bot, phrases_copy):
    path = phrases_copy / "forbidden.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - 一分价一分货\n",
                                                             "      - 一分价一分货\n      - 我们店小本生意\n"),
                    encoding="utf-8")
    report = telegram.wait_for(lambda: [t for t in telegram.sent_to(ADMIN) if "检测到短语文件有改动" in t], 30)[0]
    assert "已重新加载" in report and "forbidden.yaml variants" in report
    command(telegram, AGENT, "/check 我们店小本生意")
    assert "不能发送" in telegram.wait_for(lambda: telegram.sent_to(AGENT))[0]
    path.write_text(path.read_text(encoding="utf-8") + "\n  - [broken\n", encoding="utf-8")
    broken = telegram.wait_for(lambda: [t for t in telegram.sent_to(ADMIN) if "没有重新加载" in t], 30)[0]
    assert "forbidden.yaml:" in broken
    time.sleep(2.5)   # the broken file is reported once, not on every tick
    assert len([t for t in telegram.sent_to(ADMIN) if "没有重新加载" in t]) == 1


def test_a_stranger_gets_nothing_from_admin_commands(telegram, admin_bot):
    for text in ("/reload", "/stats", "/export", "/stats 30"):
        command(telegram, STRANGER, text)
    refusals = telegram.wait_for(lambda: len(telegram.sent_to(STRANGER)) >= 4 and telegram.sent_to(STRANGER))
    assert all("只有管理员" in t for t in refusals)
    assert not telegram.calls("sendPhoto") and not telegram.calls("sendDocument")


def test_stats_sends_the_figures_and_a_chart(telegram, admin_bot):
    telegram.push(telegram.text_update(42, "你们发货太慢了，我非常失望！"))
    telegram.wait_for(lambda: telegram.sent_to(42))
    command(telegram, ADMIN, "/stats 7")
    text = telegram.wait_for(lambda: [t for t in telegram.sent_to(ADMIN) if "投诉热点" in t])[0]
    assert "1 张工单" in text and "失望" in text
    photo = telegram.wait_for(lambda: telegram.calls("sendPhoto"))[0]
    assert photo.params["photo"]["bytes"][:4] == b"\x89PNG"


def test_export_sends_tickets_and_messages_as_csv(telegram, admin_bot):
    telegram.push(telegram.text_update(42, "东西坏了，太差了"))
    telegram.wait_for(lambda: telegram.sent_to(42))
    command(telegram, ADMIN, "/export")
    documents = telegram.wait_for(lambda: len(telegram.calls("sendDocument")) >= 2 and telegram.calls("sendDocument"))
    names = sorted(d.params["document"]["filename"] for d in documents)
    assert names == ["messages.csv", "tickets.csv"]
    messages = next(d for d in documents if d.params["document"]["filename"] == "messages.csv")
    assert "东西坏了，太差了" in messages.params["document"]["bytes"].decode("utf-8-sig")
