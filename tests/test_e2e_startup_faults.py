"""End to end: a data folder the bot cannot use stops it at start-up with one clear line.

Each case runs ``python -m bot run`` as a user would, against the local Bot API server, and
expects exit status 1, no traceback, and a single line naming the ticket log's path and
the fix. The read-only folder and the full disk are real: as root, a tmpfs mounted read-only
and a 1 MB tmpfs filled to the last byte (mount(8)); as another user, the read-only folder
is one without write permission, and the full disk is skipped, saying why. A file that is not a ticket log is
random bytes, or another program's SQLite database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.tickets.log import TicketLog
from tests.botprocess import BotProcess, tmp_cwd


def run_bot(telegram, tmp_path: Path, db: Path) -> tuple[int, list[str]]:
    env = {**BotProcess(telegram, tmp_path).env, "DATABASE_PATH": str(db)}
    done = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_cwd(tmp_path / "cwd"), env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return done.returncode, lines


def assert_one_clear_line(code: int, lines: list[str], db: Path, *words: str) -> None:
    text = "\n".join(lines)
    assert code == 1, text
    assert "Traceback" not in text, text
    assert len(lines) == 1, text
    assert str(db) in lines[0], text
    assert "DATABASE_PATH" in lines[0], text      # the fix names the setting to change
    for word in words:
        assert word in lines[0], text


@pytest.fixture
def mount_point(tmp_path):
    """A fresh tmpfs (root only); unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs root to mount a small tmpfs; not simulated here")
    point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    mounted = []

    def mount(*options: str) -> Path:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(point)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for p in mounted:
        subprocess.run(["umount", "-l", str(p)], capture_output=True)


def remount_read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


@pytest.fixture
def read_only_folder(tmp_path, request):
    """A folder the bot cannot write: as root, a tmpfs mounted read-only (root ignores file
    permissions); otherwise a folder and files without write permission (chmod 555 / 444)."""
    chmodded = []

    def make(with_log: bool) -> Path:
        if os.geteuid() == 0:
            folder = request.getfixturevalue("mount_point")("size=4m")
        else:
            folder = tmp_path / "read-only"
            folder.mkdir()
            chmodded.append(folder)
        if with_log:
            TicketLog(folder / "tickets.db").close()
        if os.geteuid() == 0:
            remount_read_only(folder)
        else:
            for path in folder.iterdir():
                path.chmod(0o444)
            folder.chmod(0o555)
        return folder

    yield make
    for folder in chmodded:
        folder.chmod(0o755)


def test_a_read_only_data_folder_without_a_log(telegram, tmp_path, read_only_folder):
    db = read_only_folder(with_log=False) / "data" / "tickets.db"
    assert_one_clear_line(*run_bot(telegram, tmp_path, db), db, "read-only")


def test_a_read_only_data_folder_with_a_log(telegram, tmp_path, read_only_folder):
    db = read_only_folder(with_log=True) / "tickets.db"
    assert_one_clear_line(*run_bot(telegram, tmp_path, db), db, "read-only")


def test_a_full_disk(telegram, tmp_path, mount_point):
    folder = mount_point("size=1m")
    db = folder / "tickets.db"
    TicketLog(db).close()
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)   # take every byte that is left
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    assert_one_clear_line(*run_bot(telegram, tmp_path, db), db, "full")


def test_random_bytes_are_not_a_ticket_log(telegram, tmp_path):
    db = tmp_path / "data" / "tickets.db"
    db.parent.mkdir()
    db.write_bytes(os.urandom(64 * 1024))
    before = db.read_bytes()
    assert_one_clear_line(*run_bot(telegram, tmp_path, db), db, "not a complaint-bot ticket log")
    assert db.read_bytes() == before


@pytest.mark.parametrize("tables", [
    ["create table tickets (ticket_no text primary key, title text, assignee text)", "create table comments (body)"],
    ["create table orders (id integer primary key, amount real)"],
], ids=["conflicting-tickets-table", "someone-elses-database"])
def test_another_programs_database_is_not_a_ticket_log(telegram, tmp_path, tables):
    db = tmp_path / "data" / "tickets.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        for sql in tables:
            conn.execute(sql)
    schema = sqlite3.connect(db).execute("select sql from sqlite_master order by name").fetchall()
    assert_one_clear_line(*run_bot(telegram, tmp_path, db), db, "not a complaint-bot ticket log")
    assert sqlite3.connect(db).execute("select sql from sqlite_master order by name").fetchall() == schema
