"""Export round-trips: the CSV and JSON rows equal the log."""

import csv
import json
import os
import subprocess
import sys

from bot.desk.conversation import Incoming
from bot.admin.export import CSV_ENCODING, export_csv, export_json
from tests.conftest import PHRASES, ROOT

TRICKY = ['逗号,引号"换行\n结尾', "<b>&amp;</b>", "😡 emoji", "這是繁體"]


def fill(desk):
    for i, text in enumerate(TRICKY):
        out = desk.receive(Incoming(i + 1, 100 + i, 100 + i, f"客户{i}", text))
        desk.replied(out.message_id, out.ticket.id, out.ticket.chat_id, out.replies)


def as_text(row):
    return {k: "" if v is None else str(v) for k, v in row.items()}


def test_csv_rows_equal_the_log(desk, tmp_path):
    fill(desk)
    paths = export_csv(desk.log, tmp_path)
    for path in paths:
        with path.open(encoding=CSV_ENCODING, newline="") as fh:
            exported = list(csv.DictReader(fh))
        table = path.stem
        logged = [as_text(r) for r in desk.log.db.query(f"select * from {table} order by id")]
        assert exported == logged and len(exported) > 0
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"      # spreadsheets read the Chinese right


def test_json_equals_the_log_and_since_filters(desk):
    fill(desk)
    everything = export_json(desk.log)
    assert everything["tickets"] == list(desk.log.db.query("select * from tickets order by id"))
    assert export_json(desk.log, since="2999-01-01") == {"tickets": [], "messages": []}


def test_export_from_the_shell(desk, tmp_path):
    fill(desk)
    env = {**os.environ, "DATABASE_PATH": str(desk.log.path), "PHRASES_DIR": str(PHRASES)}
    out = subprocess.run([sys.executable, "-m", "bot", "export", "--format", "json"], capture_output=True,
                         cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [m["text"] for m in json.loads(out.stdout)["messages"] if m["role"] == "customer"] == TRICKY
