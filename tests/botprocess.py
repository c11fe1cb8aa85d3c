"""Run ``python -m bot run`` as a subprocess against a :class:`FakeTelegram` server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGENT_CHAT = -100200300


class BotProcess:
    """The real bot, started as a user starts it, with its log captured to a file."""

    def __init__(self, tg, tmp_path: Path, **env: str):
        self.tg = tg
        self.db = tmp_path / "tickets.db"
        self.log_path = tmp_path / "bot.log"
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.url,
            "DATABASE_PATH": str(self.db),
            "PHRASES_DIR": str(ROOT / "bot" / "phrases"),
            "AGENT_CHAT_ID": str(AGENT_CHAT),
            "AGENT_IDS": "5001,5002",
            "SUPERVISOR_IDS": "6001",
            "ADMIN_IDS": "7001",
            "RETRY_SECONDS": "1",
            "CARD_SECONDS": "0.5",
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> "BotProcess":
        before = len(self.tg.calls("getUpdates"))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_cwd(self.db.parent), env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.wait_started(lambda: len(self.tg.calls("getUpdates")) > before)
        return self

    def wait_started(self, *ready) -> None:
        """Wait until each ``ready`` holds; a bot that died or never got ready is killed, not left behind."""
        try:
            for predicate in ready:
                self.tg.wait_for(lambda: predicate() or self.proc.poll() is not None, 60)
            assert self.proc.poll() is None, self.log()
        except BaseException:
            self.kill()
            raise

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def tmp_cwd(folder: Path) -> Path:
    """Run the bot from a folder without a .env, so only the test's settings apply."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder
