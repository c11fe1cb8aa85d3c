"""The admins' learning loop: what the guard stopped, and what agents sent anyway.

``complaint-bot phrases review [--days N]`` lists the drafts the guard blocked and the
confirm-tier drafts agents overrode, grouped by sentence, so an admin can see which rule
is too strict (many overrides of one warning, blocks of good replies) or too loose. A case
the admin has judged is added to ``regression.yaml`` with ``phrases accept``, and from
then on every ``phrases test`` (and CI) holds the phrase files to it::

    review = collect(Reports(log), since="2026-11-01")        # {sentence id: [Case, ...]}
    print(render(review, forbidden))
    accept(Path("phrases"), "虽然不是我负责，但我已经转给王经理", blocked=False)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from bot.admin.regression import FILE as REGRESSION_FILE
from bot.engine.phrases import ForbiddenFile
from bot.tickets.reports import Reports


@dataclass(frozen=True)
class Case:
    message_id: int
    ticket_id: int
    text: str
    outcome: str            # "blocked" or "override"
    created_at: str


def collect(reports: Reports, since: str) -> dict[str, list[Case]]:
    """Blocked and overridden drafts since ``since``, grouped by the sentence id that fired."""
    grouped: dict[str, list[Case]] = defaultdict(list)
    for row in reports.drafts_to_review(since):
        case = Case(row["id"], row["ticket_id"], row["text"], row["outcome"], row["created_at"])
        for sentence in dict.fromkeys(str(i) for i in row["ids"]) or ["?"]:
            grouped[sentence].append(case)
    return dict(sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def render(grouped: dict[str, list[Case]], forbidden: ForbiddenFile, examples: int = 5) -> str:
    """The review as plain text: per sentence, how often it blocked and was overridden, with examples."""
    if not grouped:
        return "这段时间没有被拦下或被坚持发送的草稿。"
    names = {str(r.id): r.phrase for r in forbidden.forbidden + forbidden.warn}
    lines = []
    for sentence, cases in grouped.items():
        blocked = sum(c.outcome == "blocked" for c in cases)
        lines.append(f"第 {sentence} 句「{names.get(sentence, '?')}」：拦下 {blocked} 次，"
                     f"客服坚持发送 {len(cases) - blocked} 次")
        for case in cases[:examples]:
            mark = "⛔" if case.outcome == "blocked" else "⚠️→已发送"
            lines.append(f"  {mark} #{case.message_id}（{case.ticket_id} 号工单）{case.text}")
        if len(cases) > examples:
            lines.append(f"  ……还有 {len(cases) - examples} 条")
    lines += ["", "判断好一条以后，把它加进回归样例：",
              "  complaint-bot phrases accept 消息号 --ok          （这句可以发送）",
              "  complaint-bot phrases accept 消息号 --blocked 编号  （这句应该被第几句拦下）"]
    return "\n".join(lines)


def accept(directory: Path, text: str, blocked: int | bool) -> Path:
    """Append a draft case to ``regression.yaml`` (comments and order kept); returns the file."""
    path = Path(directory) / REGRESSION_FILE
    yaml = YAML(typ="rt")
    yaml.width = 4096
    tree = yaml.load(path.read_text(encoding="utf-8"))
    drafts = tree.setdefault("drafts", [])
    if any(d.get("text") == text for d in drafts):
        return path
    drafts.append({"text": text, "blocked": blocked})
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(tree, fh)
    return path
