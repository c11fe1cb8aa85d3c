"""Webhook mode end to end: the real bot (``python -m bot run`` with WEBHOOK_URL) serving HTTP
on 127.0.0.1, updates posted to it as Telegram posts them, with and without the secret.

The project's Bot API server plays Telegram's API side (setWebhook, sendMessage …); the test
plays Telegram's delivery side, posting each update to the bot's webhook.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from bot.tickets.inbox import Inbox
from bot.tickets.log import TicketLog
from tests.botprocess import ROOT, BotProcess, tmp_cwd

SECRET = "webhook-secret_42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookBot(BotProcess):
    """The bot in webhook mode; ``post`` delivers an update as Telegram does."""

    def __init__(self, tg, tmp_path, **env):
        self.port = free_port()
        super().__init__(tg, tmp_path, WEBHOOK_URL=f"https://bot.example.com/hook/{self.port}",
                         WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(self.port),
                         RATE_LIMITER="false", **env)

    def start(self) -> "WebhookBot":
        before = len(self.tg.calls("setWebhook"))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_cwd(self.db.parent), env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_started(lambda: len(self.tg.calls("setWebhook")) > before, self._listening)
        return self

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def post(self, update: dict, secret: str | None = SECRET) -> int:
        """POST the update to the webhook; the HTTP status it answered."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/hook/{self.port}",
                                         data=json.dumps(update, ensure_ascii=False).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    def handled(self, update_id: int) -> bool:
        log = TicketLog(self.db)
        try:
            return Inbox(log).is_handled(update_id)
        finally:
            log.close()

    def inbox_ids(self) -> set[int]:
        log = TicketLog(self.db)
        try:
            return {p["update_id"] for p in Inbox(log).unhandled()} | {
                row["update_id"] for row in log.db["inbox"].rows_where(select="update_id")}
        finally:
            log.close()


@pytest.fixture
def webhook_bot(telegram, tmp_path):
    process = WebhookBot(telegram, tmp_path).start()
    yield process
    process.kill()


def test_the_bot_sets_its_webhook_with_the_secret_and_polls_nothing(telegram, webhook_bot):
    assert telegram.webhook == {"url": f"https://bot.example.com/hook/{webhook_bot.port}", "secret_token": SECRET}
    time.sleep(1)
    assert not telegram.calls("getUpdates")


def test_an_update_with_the_secret_is_logged_and_answered(telegram, webhook_bot):
    update = telegram.text_update(4242, "你们发货太慢了，我非常失望！")
    assert webhook_bot.post(update) == 200
    assert update["update_id"] in webhook_bot.inbox_ids()       # on disk when the 200 came back
    replies = telegram.wait_for(lambda: telegram.sent_to(4242))
    assert "失望" in replies[0]
    telegram.wait_for(lambda: webhook_bot.handled(update["update_id"]))


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""], ids=["no secret", "wrong secret", "empty secret"])
def test_an_update_without_the_secret_gets_403_and_is_neither_stored_nor_answered(telegram, webhook_bot, secret):
    update = telegram.text_update(777, "这是伪造的消息")
    assert webhook_bot.post(update, secret=secret) == 403
    good = telegram.text_update(778, "你好")
    assert webhook_bot.post(good) == 200
    telegram.wait_for(lambda: telegram.sent_to(778))           # the bot handled what came after it
    assert telegram.sent_to(777) == []
    assert update["update_id"] not in webhook_bot.inbox_ids()


def test_an_update_answered_200_survives_a_crash_before_it_was_handled(telegram, tmp_path):
    """The 200 goes out only once the update is on disk: killed with it still queued, the bot
    answers it after the restart, although Telegram will never deliver it again."""
    bot = WebhookBot(telegram, tmp_path).start()
    try:
        telegram.delays["sendMessage"] = 30          # the first reply hangs: the next update waits queued
        first = telegram.text_update(5101, "快递三天了还没到，太慢了！")
        assert bot.post(first) == 200
        telegram.wait_for(lambda: any(r.params.get("chat_id") == 5101 for r in telegram.calls("sendMessage")))
        second = telegram.text_update(5102, "东西坏了，我很生气")
        assert bot.post(second) == 200
        bot.stop(signal.SIGKILL)
    finally:
        bot.kill()
    del telegram.delays["sendMessage"]
    assert telegram.sent_to(5102) == []                    # never handled before the crash
    restarted = WebhookBot(telegram, tmp_path)
    restarted.port, restarted.env["WEBHOOK_PORT"] = bot.port, str(bot.port)
    restarted.env["WEBHOOK_URL"] = bot.env["WEBHOOK_URL"]
    restarted.start()
    try:
        telegram.wait_for(lambda: telegram.sent_to(5102) and telegram.sent_to(5101), timeout=60)
        time.sleep(1.5)
        assert len(telegram.sent_to(5102)) == 1                                 # answered once
    finally:
        restarted.kill()


def test_sigterm_stops_the_webhook_bot_cleanly_and_keeps_the_webhook(telegram, webhook_bot):
    assert webhook_bot.post(telegram.text_update(4343, "请问几点开门？")) == 200
    telegram.wait_for(lambda: telegram.sent_to(4343))
    assert webhook_bot.stop(signal.SIGTERM) == 0
    assert telegram.webhook["url"]                      # Telegram keeps queueing for the next start
    log = webhook_bot.log()
    assert telegram.token not in log and SECRET not in log and "Traceback" not in log


def test_webhook_mode_without_a_secret_does_not_start(telegram, tmp_path):
    env = {**BotProcess(telegram, tmp_path).env, "WEBHOOK_URL": "https://bot.example.com/hook", "WEBHOOK_SECRET": ""}
    out = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_cwd(tmp_path), env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert "WEBHOOK_SECRET" in out.stderr and "Traceback" not in out.stderr
    assert not telegram.calls("setWebhook")
