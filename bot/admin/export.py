"""Export the ticket log: tickets and their messages, as CSV files or one JSON document.

No Telegram here. ``/export [days]`` and ``complaint-bot export`` both use it. CSV is
written as UTF-8 with a byte-order mark so that spreadsheet programs show Chinese
correctly; columns are the log's, in schema order::

    paths = export_csv(log, Path("exports"), since="2026-11-01")   # tickets.csv, messages.csv
    document = export_json(log, since=None)                         # {"tickets": [...], "messages": [...]}
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bot.tickets.log import TicketLog
from bot.tickets.reports import Reports
from bot.tickets.schema import SCHEMA

CSV_ENCODING = "utf-8-sig"


def export_csv(log: TicketLog, folder: Path, since: str | None = None) -> list[Path]:
    """Write ``tickets.csv`` and ``messages.csv`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, items in Reports(log).export(since).items():
        path = folder / f"{table}.csv"
        columns = list(SCHEMA[table])
        with path.open("w", encoding=CSV_ENCODING, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(items)
        paths.append(path)
    return paths


def export_json(log: TicketLog, since: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return Reports(log).export(since)
