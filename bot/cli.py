"""The ``complaint-bot`` command (also ``python -m bot``).

Commands::

    complaint-bot run                     the Telegram bot (long polling)
    complaint-bot console                 the same conversation in a terminal
    complaint-bot doctor                  check the set-up (token, agents' group, ids, database, phrases, webhook)
    complaint-bot health [--max-age S]    exit 0 while the running bot's heartbeat is fresh (container healthcheck)
    complaint-bot analyze TEXT | --jsonl  read a customer's message
    complaint-bot check TEXT | --jsonl    check an agent's draft against the guard
    complaint-bot phrases check           validate PHRASES_DIR
    complaint-bot phrases test            run PHRASES_DIR/regression.yaml against the phrase files
    complaint-bot phrases review [--days N]   blocked drafts and overridden warnings, by sentence
    complaint-bot phrases accept ID --ok | --blocked N   add a reviewed draft to regression.yaml
    complaint-bot phrases init DIR        copy the shipped phrase files to DIR for editing
    complaint-bot phrases train           retrain the learned models: guard and reader (needs the [train] extra)
    complaint-bot stats [--days N] [--png FILE]
    complaint-bot export --format csv|json [--since DATE] [--out DIR]
    complaint-bot inbox --failed | --replay   updates that could not be read; hand them back

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

from bot.engine.phrases import PhraseFileError, load_phrases
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
    from bot.engine.store import Engine

    try:
        return Engine.load(phrases_dir)
    except PhraseFileError as err:
        print(f"短语文件有错误，无法启动（phrase files have errors）:\n{err}", file=sys.stderr)
        raise SystemExit(1) from None


def _load_phrases(phrases_dir: Path, reader: bool = True):
    try:
        return load_phrases(phrases_dir, reader=reader)
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
    from bot.engine.analysis import Analyzer      # the analyser alone: no guard, no pinyin

    analyzer = Analyzer(_load_phrases(args.phrases or settings.phrases_dir))
    return _per_text(args, lambda text: analyzer.analyze_with_empathy(text).to_dict())


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine.guard import Guard            # the guard alone: no jieba, no snownlp

    guard = Guard(_load_phrases(args.phrases or settings.phrases_dir, reader=False).forbidden)
    if getattr(args, "rewrite", False):
        return _per_text(args, lambda text: {**guard.check(text).to_dict(), "rewrite": guard.rewrite(text)})
    return _per_text(args, lambda text: guard.check(text).to_dict())


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
    if phrases.emotions.stale_reader():
        print(f"注意：{phrases.emotions.learned.model} 是按改动之前的 emotions.yaml 训练的，它对规则的信任已经过时；"
              f"请运行 complaint-bot phrases train（warning: the learned reader was trained for other rules）")
    reader = phrases.emotions.reader
    if reader is not None and reader.words and reader.trained_cut:
        from bot.engine.analysis import cut_fingerprint

        if reader.trained_cut != cut_fingerprint(phrases):
            print(f"注意：词表（emotions.yaml、categories.yaml 里的词）改了，分词随之改变，{phrases.emotions.learned.model} "
                  f"读到的词已经不是训练时的词；请运行 complaint-bot phrases train"
                  f"（warning: the learned reader was trained on words cut another way）")
    return 0


def cmd_phrases_init(args: argparse.Namespace, settings: Settings) -> int:
    from importlib import resources

    target: Path = args.dir
    shipped = sorted(
        (f for f in resources.files("bot").joinpath("phrases").iterdir() if f.name.endswith((".yaml", ".json"))),
        key=lambda f: f.name,
    )
    clashes = [f.name for f in shipped if (target / f.name).exists()]
    if clashes and not args.force:
        print(f"{target} already has {', '.join(clashes)}; nothing copied (--force overwrites)", file=sys.stderr)
        return 1
    target.mkdir(parents=True, exist_ok=True)
    for f in shipped:
        (target / f.name).write_bytes(f.read_bytes())
    print(f"copied {len(shipped)} phrase files to {target}\n"
          f"edit them, check with: complaint-bot phrases check --phrases {target}\n"
          f"and use them with PHRASES_DIR={target.resolve()} (or run the bot from the folder holding phrases/)")
    return 0


def cmd_phrases_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.regression import load_regression, run

    directory = args.phrases or settings.phrases_dir
    engine = _load_engine(directory)
    try:
        corpus = load_regression(directory)
    except PhraseFileError as err:
        print("\n".join(err.lines()))
        return 1
    outcomes = run(engine, corpus)
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        print(outcome.describe())
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} 条样例结果不变" + ("" if not failed else "，上面的结果变了"))
    return 1 if failed else 0


def cmd_phrases_review(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from bot.admin.review import collect, render
    from bot.tickets.log import TicketLog
    from bot.tickets.reports import Reports
    from bot.tickets.schema import iso

    phrases = _load_phrases(args.phrases or settings.phrases_dir)
    log = TicketLog(settings.database_path)
    grouped = collect(Reports(log), since=iso(log.now() - timedelta(days=args.days)))
    print(f"近 {args.days} 天被拦下或被坚持发送的草稿（按句分组）：\n" + render(grouped, phrases.forbidden))
    log.close()
    return 0


def cmd_phrases_accept(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.review import accept
    from bot.settings import packaged_phrases_dir
    from bot.tickets.log import TicketLog

    directory = Path(args.phrases or settings.phrases_dir)
    shipped = directory.resolve() == packaged_phrases_dir().resolve()
    if shipped and not (directory.resolve().parent.parent / "pyproject.toml").exists():
        print("the phrase files in use are the installed package's own; copy them out first:\n"
              "  complaint-bot phrases init phrases   (then PHRASES_DIR=phrases)", file=sys.stderr)
        return 1
    log = TicketLog(settings.database_path)
    try:
        message = log.message(args.message_id)
    except KeyError:
        print(f"no message {args.message_id} in {settings.database_path}", file=sys.stderr)
        return 1
    finally:
        log.close()
    if message.role != "agent":
        print(f"message {args.message_id} is not an agent's draft", file=sys.stderr)
        return 1
    path = accept(directory, message.text, False if args.ok else args.blocked)
    print(f"added to {path}: 「{message.text}」 → {'可以发送' if args.ok else f'被第 {args.blocked} 句拦下'}\n"
          f"run: complaint-bot phrases test")
    return 0


def cmd_phrases_train(args: argparse.Namespace, settings: Settings) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("training needs scikit-learn: pip install -e '.[train]'", file=sys.stderr)
        return 2
    phrases = args.phrases or settings.phrases_dir
    if args.only in (None, "guard"):
        from bot.admin.train import train

        print(train(args.data, phrases, args.out, args.c, write=args.write))
    if args.only in (None, "reader"):
        from bot.admin import train_reader

        print(train_reader.train(args.data, phrases, max_neutral=args.max_neutral,
                                 min_negative_f1=args.min_negative_f1))
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.stats import compute, render_png, render_text
    from bot.desk.render import html_to_text
    from bot.tickets.log import TicketLog
    from bot.tickets.reports import Reports

    engine = _load_engine(settings.phrases_dir)
    log = TicketLog(settings.database_path)
    figures = compute(Reports(log), engine, days=args.days, now=log.now())
    print(html_to_text(render_text(figures)))
    if args.png:
        cjk = render_png(figures, args.png)
        print(f"chart: {args.png}" + ("" if cjk else " (no CJK font found: labels in pinyin; "
                                        "install one, e.g. apt-get install fonts-wqy-microhei)"))
    log.close()
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.export import export_csv, export_json
    from bot.tickets.log import TicketLog

    log = TicketLog(settings.database_path)
    if args.format == "json":
        sys.stdout.buffer.write(json.dumps(export_json(log, args.since), ensure_ascii=False, indent=1).encode() + b"\n")
    else:
        for path in export_csv(log, args.out, args.since):
            print(path)
    log.close()
    return 0


def cmd_inbox(args: argparse.Namespace, settings: Settings) -> int:
    """Updates the bot kept aside because they could not be read (poison updates)."""
    from bot.tickets.inbox import Inbox
    from bot.tickets.log import TicketLog

    log = TicketLog(settings.database_path)
    inbox = Inbox(log)
    try:
        if args.replay:
            n = inbox.replay_failed()
            print(f"{n} update(s) handed back: the bot reads them again at its next start "
                  "(one that still cannot be read is kept aside again)")
            return 0
        failed = inbox.failed()
        for row in failed:
            print(f"{row['update_id']}\t{row['received_at']}\t{row['error']}")
            if args.payload:
                print(f"\t{row['payload']}")
        print(f"{len(failed)} update(s) kept aside" + (": complaint-bot inbox --replay after an upgrade" if failed else ""))
        return 0
    finally:
        log.close()


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.telegram_bot_token:
        print(
            "TELEGRAM_BOT_TOKEN is not set.\n"
            "Copy .env.example to .env and put your bot's token in it (from @BotFather),\n"
            "or try the bot without Telegram: complaint-bot console",
            file=sys.stderr,
        )
        return 2
    if settings.mode == "webhook" and not settings.webhook_secret:
        print("WEBHOOK_URL is set but WEBHOOK_SECRET is not: without it anyone who finds the URL could post\n"
              "updates. Set WEBHOOK_SECRET (letters, digits, _ and -), e.g.\n"
              "  python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"", file=sys.stderr)
        return 2
    from bot.handlers.app import run

    return run(settings)


def cmd_doctor(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.handlers.doctor import run as run_doctor   # reads the settings itself: a bad one is a finding

    return run_doctor()


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    import time

    path = settings.heartbeat_path
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat at {path} (is complaint-bot run running?)", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"unhealthy: the last heartbeat was {age:.0f} s ago ({path})", file=sys.stderr)
        return 1
    print(f"ok: heartbeat {age:.0f} s ago")
    return 0


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import run_console

    return run_console(settings)


def _phrases_parser(sub) -> None:
    """``complaint-bot phrases check|test|init|review|accept``."""
    phrases = sub.add_parser("phrases", help="the phrase files")
    phrases_sub = phrases.add_subparsers(dest="phrases_command", required=True)
    p = phrases_sub.add_parser("check", help="validate the phrase files")
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
    p.set_defaults(func=cmd_phrases_check)
    p = phrases_sub.add_parser("test", help="run the regression corpus (regression.yaml)")
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
    p.set_defaults(func=cmd_phrases_test)
    p = phrases_sub.add_parser("train", help="retrain the learned models: the guard's second opinion and the "
                                             "analyser's reading (needs scikit-learn)")
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR); the models are written there")
    p.add_argument("--data", type=Path, default=Path("tests/data"), help="labelled drafts and messages (tests/data)")
    p.add_argument("--only", choices=("guard", "reader"), help="retrain only one of the two models")
    p.add_argument("--max-neutral", type=float, default=0.02,
                   help="reader: the share of neutral messages read as complaints its bias aims at")
    p.add_argument("--min-negative-f1", type=float, default=0.96,
                   help="reader: the negative F1 the bias toward 'no complaint' must keep")
    p.add_argument("--out", type=Path, help="the guard's model file (default: decision.model in forbidden.yaml)")
    p.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    p.add_argument("--write", action="store_true", help="also write the suggested thresholds into forbidden.yaml")
    p.set_defaults(func=cmd_phrases_train)
    p = phrases_sub.add_parser("init", help="copy the shipped phrase files to a folder for editing")
    p.add_argument("dir", type=Path, help="the folder to create (e.g. phrases)")
    p.add_argument("--force", action="store_true", help="overwrite files already there")
    p.set_defaults(func=cmd_phrases_init)
    p = phrases_sub.add_parser("review", help="blocked drafts and overridden warnings from the log, by sentence")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
    p.set_defaults(func=cmd_phrases_review)
    p = phrases_sub.add_parser("accept", help="add a reviewed draft to regression.yaml")
    p.add_argument("message_id", type=int, help="the draft's message id (from phrases review)")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--ok", action="store_true", help="the draft may be sent")
    verdict.add_argument("--blocked", type=int, choices=range(1, 11), metavar="1-10",
                         help="the sentence that must block it")
    p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
    p.set_defaults(func=cmd_phrases_accept)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complaint-bot", description="Chinese complaint desk for Telegram.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the Telegram bot").set_defaults(func=cmd_run)
    sub.add_parser("console", help="chat with the bot in this terminal").set_defaults(func=cmd_console)
    sub.add_parser("doctor", help="check the set-up: token, agents' group, ids, database, phrases, webhook"
                   ).set_defaults(func=cmd_doctor, own_settings=True)
    p = sub.add_parser("health", help="exit 0 while the running bot's heartbeat is fresh (container healthcheck)")
    p.add_argument("--max-age", type=float, default=90, help="seconds since the last heartbeat (default 90)")
    p.set_defaults(func=cmd_health)
    for name, func, what in (
        ("analyze", cmd_analyze, "read a customer's message"),
        ("check", cmd_check, "check an agent's draft"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("text", nargs="?", help="the text (omit with --jsonl)")
        p.add_argument("--jsonl", action="store_true", help="one JSON line per line of standard input")
        p.add_argument("--phrases", type=Path, help="phrase directory (default: PHRASES_DIR)")
        if name == "check":
            p.add_argument("--rewrite", action="store_true",
                           help="also give the one-tap rewrite (null when none passes the guard)")
        p.set_defaults(func=func)

    _phrases_parser(sub)

    p = sub.add_parser("stats", help="the complaint hotspot map from the ticket log")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--png", type=Path, help="also draw the chart to this PNG file")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("export", help="tickets and messages as CSV files or JSON")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--since", help="only tickets created on or after this date (ISO, e.g. 2026-11-01)")
    p.add_argument("--out", type=Path, default=Path("exports"), help="folder for the CSV files")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("inbox", help="updates kept aside because they could not be read")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--failed", action="store_true", help="list them: update id, when, why")
    what.add_argument("--replay", action="store_true", help="hand them back; the bot reads them at its next start")
    p.add_argument("--payload", action="store_true", help="with --failed: print each raw update too")
    p.set_defaults(func=cmd_inbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "own_settings", False):
        return args.func(args, None)
    try:
        settings = Settings()
    except Exception as err:  # a malformed .env must read as a message, not a traceback
        print(f"settings error: {err}", file=sys.stderr)
        return 2
    from bot.tickets import LogUnusable      # not bot.tickets.log: 'check' loads no sqlite-utils

    try:
        return args.func(args, settings)
    except LogUnusable as err:      # a read-only folder, a full disk, a file that is not a ticket log
        print(err, file=sys.stderr)
        return 1
