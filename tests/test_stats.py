"""The hotspot map computed from a seeded log with known answers, and its chart."""

import json
from datetime import datetime, timedelta, timezone

from bot.admin.stats import cjk_font, compute, render_png, render_text
from bot.tickets.log import TicketLog
from bot.tickets.reports import Reports
from bot.tickets.schema import iso

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def seed(path):
    """Four tickets in the week, one older. Answers: 2 on time of 3 counted; median wait 20 min."""
    log = TicketLog(path, now=lambda: NOW)

    def ticket(i, hours_ago, status, category, emotion, severe=0, wait=None, due_min=60, rating=None):
        created = NOW - timedelta(hours=hours_ago)
        log.db["tickets"].insert({
            "id": i, "chat_id": i, "user_id": i, "status": status, "category": category, "emotion": emotion,
            "intensity": 1, "severe": severe, "escalation_level": 0, "created_at": iso(created),
            "due_at": iso(created + timedelta(minutes=due_min)),
            "first_response_at": iso(created + timedelta(minutes=wait)) if wait is not None else None,
            "rating": rating,
        })
        log.db["messages"].insert({"ticket_id": i, "role": "customer", "text": "快递太慢了，快递还没到",
                                   "created_at": iso(created), "blocked": 0})

    ticket(1, 50, "resolved", "物流送货", "anger", wait=10, rating=5)           # on time
    ticket(2, 30, "in_progress", "物流送货", "anxiety", wait=30, rating=3)      # on time
    ticket(3, 20, "escalated", "产品质量", "anger", severe=1, wait=90)         # late
    ticket(4, 0.2, "open", None, None)                                          # due in the future: not counted
    ticket(5, 24 * 30, "closed", "价格收费", "anger", wait=5)                   # outside the week
    for ids in ([8], [8, 10], [4]):
        log.db["messages"].insert({"ticket_id": 2, "role": "agent", "text": "x", "blocked": 1,
                                   "violations": json.dumps([{"id": i} for i in ids]), "created_at": iso(NOW)})
    return log


def test_figures_match_the_seeded_log(tmp_path, engine):
    stats = compute(Reports(seed(tmp_path / "t.db")), engine, days=7, now=NOW)
    assert stats.tickets == 4
    assert stats.by_category == {"物流送货": 2, "产品质量": 1, "未分类": 1}
    assert stats.by_emotion == {"愤怒": 2, "焦急": 1, "平静": 1}
    assert stats.severe == 1
    assert (stats.answered_on_time, stats.deadline_counted) == (2, 3)
    assert stats.median_first_response_min == 30
    assert (stats.ratings, stats.average_rating) == (2, 4.0)
    assert stats.blocked_drafts == 3 and stats.blocked_by_id == {"8": 2, "10": 1, "4": 1}
    assert "快递" in stats.keywords


def test_text_names_every_figure(tmp_path, engine):
    text = render_text(compute(Reports(seed(tmp_path / "t.db")), engine, days=7, now=NOW))
    for part in ("4 张工单", "按时答复：67%（2/3）", "首次答复中位数：30", "平均评分：4.0", "第8句 2", "快递"):
        assert part in text


def test_the_chart_is_a_png_with_chinese_or_pinyin_labels(tmp_path, engine):
    stats = compute(Reports(seed(tmp_path / "t.db")), engine, days=7, now=NOW)
    path = tmp_path / "stats.png"
    chinese = render_png(stats, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert chinese == (cjk_font() is not None)


def test_an_empty_log_gives_dashes_not_errors(tmp_path, engine):
    stats = compute(Reports(TicketLog(tmp_path / "empty.db")), engine, days=7)
    assert stats.tickets == 0 and stats.compliance is None
    assert "—" in render_text(stats)
    assert render_png(stats, tmp_path / "empty.png") in (True, False)
