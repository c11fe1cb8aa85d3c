"""The complaint hotspot map (抱怨热点图谱, seed 003): figures and a chart from the log.

No Telegram here. ``/stats [days]`` and ``complaint-bot stats`` both use it::

    stats = compute(Reports(log), engine, days=7, now=log.now())
    print(render_text(stats))
    render_png(stats, Path("stats.png"))   # matplotlib; Chinese labels when a CJK font exists

Deadline compliance is the share of tickets answered by their deadline, among those
answered or already past it; first-response time is from the ticket's first message to
the first reply that reached the customer.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from bot.desk.render import STATUS_LABELS
from bot.engine.store import Engine
from bot.tickets.reports import Reports
from bot.tickets.schema import iso, parse_iso, utcnow

CJK_PROBE = "投诉"


@dataclass
class Stats:
    days: int
    since: str
    tickets: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_emotion: dict[str, int] = field(default_factory=dict)
    severe: int = 0
    answered_on_time: int = 0
    deadline_counted: int = 0
    median_first_response_min: float | None = None
    ratings: int = 0
    average_rating: float | None = None
    blocked_drafts: int = 0
    blocked_by_id: dict[str, int] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)

    @property
    def compliance(self) -> float | None:
        return self.answered_on_time / self.deadline_counted if self.deadline_counted else None


def compute(reports: Reports, engine: Engine, days: int = 7, now: datetime | None = None) -> Stats:
    """Figures for tickets opened in the last ``days`` days."""
    now = now or utcnow()
    since = iso(now - timedelta(days=days))
    stats = Stats(days=days, since=since)
    tickets = reports.tickets_since(since)
    emotions = engine.phrases.emotions.emotions
    stats.tickets = len(tickets)
    stats.by_status = dict(Counter(STATUS_LABELS.get(t["status"], t["status"]) for t in tickets).most_common())
    stats.by_category = dict(Counter(t["category"] or "未分类" for t in tickets).most_common())
    stats.by_emotion = dict(Counter(emotions[t["emotion"]].label if t["emotion"] in emotions else "平静"
                                    for t in tickets).most_common())
    stats.severe = sum(1 for t in tickets if t["severe"])
    _deadlines(stats, tickets, now)
    ratings = [t["rating"] for t in tickets if t["rating"]]
    stats.ratings = len(ratings)
    stats.average_rating = round(statistics.fmean(ratings), 2) if ratings else None
    blocked: Counter = Counter()
    for violations in reports.blocked_violations_since(since):
        stats.blocked_drafts += 1
        blocked.update(str(v["id"]) for v in violations)
    stats.blocked_by_id = dict(sorted(blocked.items(), key=lambda kv: (-kv[1], kv[0])))
    stats.keywords = engine.analyzer.keywords(reports.customer_texts_since(since), limit=10)
    return stats


def _deadlines(stats: Stats, tickets: list[dict], now: datetime) -> None:
    """Deadline compliance and the median time to the first answer."""
    waits = []
    for t in tickets:
        if t["first_response_at"]:
            waits.append((parse_iso(t["first_response_at"]) - parse_iso(t["created_at"])).total_seconds() / 60)
        if not t["due_at"]:
            continue
        due = parse_iso(t["due_at"])
        if t["first_response_at"]:
            stats.deadline_counted += 1
            stats.answered_on_time += parse_iso(t["first_response_at"]) <= due
        elif due < now:
            stats.deadline_counted += 1
    stats.median_first_response_min = round(statistics.median(waits), 1) if waits else None


def _counts(counts: dict[str, int]) -> str:
    return "、".join(f"{k} {v}" for k, v in counts.items()) or "无"


def render_text(stats: Stats) -> str:
    """The figures as a message for admins (HTML)."""
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    lines = [
        f"<b>近 {stats.days} 天的投诉热点</b>（{stats.tickets} 张工单）",
        f"状态：{_counts(stats.by_status)}",
        f"分类：{_counts(stats.by_category)}",
        f"情绪：{_counts(stats.by_emotion)}",
        f"严重投诉：{stats.severe}",
        f"按时答复：{pct(stats.compliance)}（{stats.answered_on_time}/{stats.deadline_counted}）",
        "首次答复中位数："
        + ("—" if stats.median_first_response_min is None else f"{stats.median_first_response_min} 分钟"),
        "平均评分：" + ("—" if stats.average_rating is None else f"{stats.average_rating}（{stats.ratings} 人评分）"),
        f"被拦下的草稿：{stats.blocked_drafts}"
        + (f"（按句：{'、'.join(f'第{k}句 {v}' for k, v in stats.blocked_by_id.items())}）" if stats.blocked_by_id else ""),
        f"投诉关键词：{'、'.join(stats.keywords) or '无'}",
    ]
    return "\n".join(lines)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs (checked by coverage), or None.

    matplotlib caches its font list and does not rescan, so a font installed after its
    first run is looked for in the system's font folders too, and registered.
    """
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    def covers(path: str) -> bool:
        try:
            charmap = FT2Font(path).get_charmap()
        except Exception:       # an unreadable font file is just not a candidate
            return False
        return all(ord(ch) in charmap for ch in CJK_PROBE)

    known = set()
    for entry in font_manager.fontManager.ttflist:
        known.add(entry.fname)
        # "Last Resort" maps every character to a placeholder box
        if "last resort" not in entry.name.lower() and covers(entry.fname):
            return entry.name
    for path in font_manager.findSystemFonts():
        if path not in known and covers(path):
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def _label(text: str, cjk: bool) -> str:
    if cjk or text.isascii():
        return text
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(unicodedata.normalize("NFKC", text)))


def render_png(stats: Stats, path: Path) -> bool:
    """Draw the chart; returns True when Chinese labels were drawn, False for the pinyin fallback."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    cjk = font is not None
    if cjk:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    panels = [
        (axes[0][0], "分类", stats.by_category),
        (axes[0][1], "情绪", stats.by_emotion),
        (axes[1][0], "状态", stats.by_status),
        (axes[1][1], "被拦下的草稿（按句）", {f"第{k}句": v for k, v in stats.blocked_by_id.items()}),
    ]
    for ax, title, counts in panels:
        labels = [_label(k, cjk) for k in counts] or ["-"]
        values = list(counts.values()) or [0]
        ax.barh(labels[::-1], values[::-1], color="#c0504d")
        ax.set_title(_label(title, cjk))
        ax.xaxis.get_major_locator().set_params(integer=True)
    compliance = "—" if stats.compliance is None else f"{stats.compliance:.0%}"
    rating = "—" if stats.average_rating is None else f"{stats.average_rating}"
    title = f"近 {stats.days} 天投诉热点：{stats.tickets} 张工单，按时答复 {compliance}，平均评分 {rating}"
    if not cjk:
        title = (f"last {stats.days} days: {stats.tickets} tickets, answered on time {compliance}, "
                 f"rating {rating}  (no CJK font installed: labels in pinyin)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return cjk
