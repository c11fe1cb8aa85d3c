"""Export the ticket log: tickets and their messages, as CSV files or one JSON document.

No Telegram here. ``/export [days]`` and ``complaint-bot export`` both use it. CSV is
written as UTF-8 with a byte-order mark so that spreadsheet programs show Chinese
correctly; columns are the log's, in schema order::

    paths = export_csv(log, Path("exports"), since="2026-11-01")   # tickets.csv, messages.csv
    archive = zip_files(paths, Path("exports/log.zip"))             # both in one deflated zip
    document = export_json(log, since=None)                         # {"tickets": [...], "messages": [...]}

``/export`` sends the two files, or, when one is over Telegram's 50 MB document limit, one
zip of both (Chinese CSV deflates to about a third); beyond that the admin is told to run
``complaint-bot export`` on the server.
"""

from __future__ import annotations

import csv
import zipfile
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


def zip_files(paths: list[Path], target: Path) -> Path:
    """The files in one deflated zip at ``target`` (Chinese CSV shrinks to about a third)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in paths:
            archive.write(path, path.name)
    return target


def export_json(log: TicketLog, since: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return Reports(log).export(since)
