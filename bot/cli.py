"""The ``complaint-bot`` command (also ``python -m bot``).

Commands::

    complaint-bot run                     the Telegram bot (long polling)
    complaint-bot console                 the same conversation in a terminal
    complaint-bot analyze TEXT | --jsonl  read a customer's message
    complaint-bot check TEXT | --jsonl    check an agent's draft against the guard
    complaint-bot phrases check           validate PHRASES_DIR

``--jsonl`` reads standard input and writes exactly one JSON object per input
line, whatever the line holds (empty, huge, control characters, bad UTF-8).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Iterator

from bot.phrases import PhraseFileError, load_phrases
from bot.settings import Settings

logger = logging.getLogger(__name__)


def _stdin_lines() -> Iterator[str]:
    """Lines of standard input split on newline only (str.splitlines would also split on \\x1c, \\u2028 …)."""
    data = sys.stdin.buffer.read()
    if not data:
        return
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    for piece in pieces:
        yield piece.rstrip(b"\r").decode("utf-8", errors="replace")


def _emit(obj: dict) -> None:
    line = json.dumps(obj, ensure_ascii=False) + "\n"
    sys.stdout.buffer.write(line.encode("utf-8", errors="replace"))


def _load_engine(phrases_dir: Path):
    from bot.engine import Engine

    try:
        return Engine.load(phrases_dir)
    except PhraseFileError as err:
        print(f"短语文件有错误，无法启动（phrase files have errors）:\n{err}", file=sys.stderr)
        raise SystemExit(1) from None


def _per_text(args: argparse.Namespace, handle: Callable[[str], dict]) -> int:
    if args.jsonl:
        for line in _stdin_lines():
            _emit(handle(line))
        sys.stdout.buffer.flush()
        return 0
    if args.text is None:
        print("give a text, or --jsonl to read lines from standard input", file=sys.stderr)
        return 2
    _emit(handle(args.text))
    return 0


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    engine = _load_engine(args.phrases or settings.phrases_dir)
    return _per_text(args, lambda text: engine.analyzer.analyze_with_empathy(text).to_dict())


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    engine = _load_engine(args.phrases or settings.phrases_dir)
    return _per_text(args, lambda text: engine.guard.check(text).to_dict())


def cmd_phrases_check(args: argparse.Namespace, settings: Settings) -> int:
    directory = args.phrases or settings.phrases_dir
    try:
        phrases = load_phrases(directory)
    except PhraseFileError as err:
        for line in err.lines():
            print(line)
        return 1
    counts = ", ".join(f"{name} {n}" for name, n in phrases.counts().items())
    print(f"ok: {directory} ({counts})")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "TELEGRAM_BOT_TOKEN is not set.\n"
            "Copy .env.example to .env and put your bot's token in it (from @BotFather),\n"
            "or try the bot without Telegram: complaint-bot console",
            file=sys.stderr,
        )
        return 2
    from bot.app import run

    return run(settings)


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import run_console

    return run_console(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complaint-bot", description="Chinese complaint desk for Telegram.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the Telegram bot").set_defaults(func=cmd_run)
    sub.add_parser("console", help="chat with the bot in this terminal").set_defaults(func=cmd_console)
    for name, func, what in (
        ("analyze", cmd_analyze, "read a customer's message"),
        ("check", cmd_check, "check an agent's draft"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("text", nargs="?", help="the text (omit with --jsonl)")
        p.add_argument("--jsonl", action="store_true", help="one JSON line per line of standard input")
        p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
        p.set_defaults(func=func)

    phrases = sub.add_parser("phrases", help="the phrase files")
    phrases_sub = phrases.add_subparsers(dest="phrases_command", required=True)
    p = phrases_sub.add_parser("check", help="validate the phrase files")
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
    p.set_defaults(func=cmd_phrases_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as err:  # a malformed .env must read as a message, not a traceback
        print(f"settings error: {err}", file=sys.stderr)
        return 2
    return args.func(args, settings)
