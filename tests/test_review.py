"""The admins' learning loop: phrases review lists what the guard stopped and what agents overrode;
phrases accept turns a judged draft into a regression case that phrases test then holds."""

import os
import shutil
import subprocess
import sys

from bot.admin.regression import load_regression
from bot.admin.review import accept, collect
from bot.desk.conversation import Incoming
from bot.tickets.reports import Reports
from tests.conftest import AGENT, PHRASES


def conversation(desk, agents):
    out = desk.receive(Incoming(1, 42, 42, "王女士", "你们发货太慢了，我非常失望！"))
    blocked = agents.reply(out.ticket.id, AGENT, "小李", "这是我们公司的规定，改不了")
    confirm = agents.reply(out.ticket.id, AGENT, "小李", "这个我不知道，我帮您问问")
    send = [d for row in confirm.notice_buttons or [] for label, d in row if label == "仍然发送"]
    if send:
        agents.send_draft(int(send[0].split(":")[1]), AGENT, "小李")
    return blocked, bool(send)


def test_review_groups_blocks_and_overrides_by_sentence(desk, agent_desk):
    _, confirmed = conversation(desk, agent_desk)
    grouped = collect(Reports(desk.log), since="2000-01-01")
    # the draft says two of the ten (规定 and 改不了 without an alternative): listed under each
    assert [c.text for c in grouped["8"] if c.outcome == "blocked"] == ["这是我们公司的规定，改不了"]
    assert {s for s, cases in grouped.items() if any(c.outcome == "blocked" for c in cases)} <= {"8", "10"}
    overrides = [c for cases in grouped.values() for c in cases if c.outcome == "override"]
    assert [c.text for c in overrides] == (["这个我不知道，我帮您问问"] if confirmed else [])


def test_accept_appends_a_case_that_phrases_test_then_holds(tmp_path):
    folder = tmp_path / "phrases"
    shutil.copytree(PHRASES, folder)
    before = len(load_regression(folder).drafts)
    accept(folder, "虽然这件事不归我们部门，但我已经转给王经理，他今天下午三点前给您回电", blocked=False)
    accept(folder, "虽然这件事不归我们部门，但我已经转给王经理，他今天下午三点前给您回电", blocked=False)   # once
    corpus = load_regression(folder)
    assert len(corpus.drafts) == before + 1 and corpus.drafts[-1].blocked is False
    assert "# 回归样例" in (folder / "regression.yaml").read_text(encoding="utf-8")        # comments kept


def test_the_commands_as_an_admin_runs_them(tmp_path, desk, agent_desk):
    conversation(desk, agent_desk)
    folder = tmp_path / "phrases"
    shutil.copytree(PHRASES, folder)
    env = {**os.environ, "DATABASE_PATH": str(desk.log.path), "PHRASES_DIR": str(folder)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "bot", "phrases", *args], capture_output=True,  # noqa
                                       text=True, env=env, cwd=tmp_path, timeout=120)
    review = run("review", "--days", "1")
    assert review.returncode == 0 and "第 8 句" in review.stdout and "这是我们公司的规定，改不了" in review.stdout
    before = len(load_regression(folder).drafts)
    blocked_id = desk.log.db.execute("select id from messages where blocked = 1").fetchone()[0]
    accepted = run("accept", str(blocked_id), "--blocked", "8")
    assert accepted.returncode == 0, accepted.stderr
    assert run("test").returncode == 0
    case = load_regression(folder).drafts[-1]
    assert len(load_regression(folder).drafts) == before + 1
    assert (case.text, case.blocked) == ("这是我们公司的规定，改不了", 8)
    assert run("accept", "999999", "--ok").returncode == 1
