"""Memory and start-up benchmark: ``run``, ``check`` and ``analyze`` as a user starts them.

    python bench/memory.py [--messages 1000] [--repeat 5]

Prints, for ``complaint-bot check`` and ``complaint-bot analyze`` (one text each, run
``--repeat`` times in fresh processes): the median start-up, from launch to the first byte of
the answer, the median CPU time of the whole run (user + system: what it costs whatever else the
machine is doing) and the peak resident memory. For ``complaint-bot run`` against the project's Bot API server
(``botapi/``): resident memory once it polls, after ``--messages`` customer messages (100
customers, every message answered), and after three live reloads of the phrase files, plus the
peak, and whether matplotlib was ever loaded (it should be only when a chart is drawn).
Targets (issue 10): run <= 200 MB; check <= 120 MB and <= 0.8 s; analyze start-up <= 1.0 s.
Figures, not assertions: the tests never assert times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botapi import FakeTelegram  # noqa: E402

CUSTOMERS = 100


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PHRASES_DIR", "TELEGRAM_BOT_TOKEN")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def cli(args: list[str], repeat: int) -> dict:
    """Median start-up (launch to the first byte of the answer), CPU time and peak RSS of
    ``python -m bot ARGS`` in fresh processes."""
    firsts, cpus, peaks = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=tmp, env=_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            proc.stdout.read(1)                       # the answer begins: the command is up
            firsts.append(time.perf_counter() - start)
            proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            assert proc.returncode == 0, f"{args} exited {proc.returncode}"
            peaks.append(usage.ru_maxrss / 1024)
            cpus.append(usage.ru_utime + usage.ru_stime)
    return {"wall_s": statistics.median(firsts), "cpu_s": statistics.median(cpus), "peak_mb": max(peaks)}


def _status(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _mapped(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


def run_bot(messages: int) -> dict:
    """RSS of ``complaint-bot run`` after start-up, after MESSAGES messages and after 3 reloads."""
    with FakeTelegram() as tg, tempfile.TemporaryDirectory() as tmp:
        phrases = Path(tmp) / "phrases"
        shutil.copytree(ROOT / "bot" / "phrases", phrases)
        log = Path(tmp) / "bot.log"
        env = _env(TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_URL=tg.url, DATABASE_PATH=str(Path(tmp) / "t.db"),
                   PHRASES_DIR=str(phrases), AGENT_CHAT_ID="-100", RATE_LIMITER="false", WATCH_SECONDS="1")
        with open(log, "wb") as out:
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
            try:
                tg.wait_for(tg.polling, timeout=120)
                startup = time.monotonic() - started
                time.sleep(1.0)
                after_start = _status(proc.pid)["VmRSS"]
                users = [60_000 + c for c in range(CUSTOMERS)]
                texts = ["快递还没到，你们太慢了，我非常失望！", "订单号 20261123", "这都第三次了，再不处理我就去12315投诉",
                         "请问什么时候能退款？", "東西壞了，客服也不回，氣死我了", "奶油都化了"]
                sent = 0
                while sent < messages:
                    batch = [tg.text_update(users[(sent + i) % CUSTOMERS], texts[(sent + i) % len(texts)] + f" #{sent + i}")
                             for i in range(min(100, messages - sent))]
                    tg.push(*batch)
                    sent += len(batch)
                    tg.wait_for(lambda: sum(len(tg.sent_to(u)) for u in users) >= sent, timeout=300)
                time.sleep(1.0)
                after_messages = _status(proc.pid)["VmRSS"]
                for i in range(3):
                    path = phrases / "texts.yaml"
                    path.write_text(path.read_text(encoding="utf-8") + f"\n# reload {i}\n", encoding="utf-8")
                    tg.wait_for(lambda: log.read_text(errors="replace").count("phrases reloaded") > i, timeout=120)
                time.sleep(1.0)
                status = _status(proc.pid)
                matplotlib = _mapped(proc.pid, "matplotlib")
            finally:
                proc.terminate()
                proc.wait(60)
    return {"startup_s": startup, "after_start_mb": after_start, "after_messages_mb": after_messages,
            "after_reloads_mb": status["VmRSS"], "peak_mb": status["VmHWM"], "matplotlib": matplotlib}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per CLI command; the median is shown")
    args = parser.parse_args()
    # the first use on a machine builds jieba's lexicon cache (bot.engine.lexicon); not part of start-up
    subprocess.run([sys.executable, "-m", "bot", "analyze", "预热"], env=_env(), cwd=tempfile.gettempdir(),
                   stdout=subprocess.DEVNULL, check=True)
    print(f"{'command':<34}{'start-up s':>11}{'CPU s':>7}{'peak MB':>9}")
    for label, argv in (("complaint-bot check TEXT", ["check", "这是公司的规定"]),
                        ("complaint-bot analyze TEXT", ["analyze", "你们发货太慢了，我非常失望！"]),
                        ("complaint-bot phrases check", ["phrases", "check"])):
        r = cli(argv, args.repeat)
        print(f"{label:<34}{r['wall_s']:>11.2f}{r['cpu_s']:>7.2f}{r['peak_mb']:>9.0f}")
    r = run_bot(args.messages)
    print(f"\ncomplaint-bot run (start-up {r['startup_s']:.2f} s to the first getUpdates)")
    print(f"  RSS after start-up:            {r['after_start_mb']:6.0f} MB")
    print(f"  RSS after {args.messages:,} messages:      {r['after_messages_mb']:6.0f} MB")
    print(f"  RSS after 3 phrase reloads:    {r['after_reloads_mb']:6.0f} MB")
    print(f"  peak RSS (VmHWM):              {r['peak_mb']:6.0f} MB")
    print(f"  matplotlib loaded:             {'yes' if r['matplotlib'] else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
