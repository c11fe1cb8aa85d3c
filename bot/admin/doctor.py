"""``complaint-bot doctor``: the set-up checks that need no Telegram, and the report.

Each check gives one line: ``ok``, ``warn`` or ``FAIL``, what was found and, when something is
wrong, how to fix it. The Telegram checks (token, agents' group, webhook state) are in
:mod:`bot.handlers.doctor`, the only place here that talks to Telegram::

    settings, checks = load_settings()        # a malformed setting is a failed check, not a crash
    checks += local_checks(settings)
    print(render(checks)); exit(exit_code(checks))
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pydantic import ValidationError

from bot.engine.phrases import FILES, PhraseFileError, load_phrases
from bot.settings import Settings, packaged_phrases_dir

ID_SETTINGS = ("agent_ids", "supervisor_ids", "admin_ids", "manager_ids")
WEBHOOK_PORTS = (443, 80, 88, 8443)      # the ports Telegram delivers webhooks to


@dataclass(frozen=True)
class Check:
    """One finding: ``status`` is ``ok``, ``warn`` (works, but look) or ``fail``."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}[self.status]
        text = f"{label}  {self.name}: {self.detail}"
        return f"{text} — fix: {self.fix}" if self.fix else text


def _env_name(field: str) -> str:
    return field.upper()


def _not_numbers(value: object) -> list[str]:
    parts = str(value).replace(";", ",").split(",")
    return [p.strip() for p in parts if p.strip() and not p.strip().lstrip("-").isdigit()]


def load_settings() -> tuple[Settings | None, list[Check]]:
    """The settings, with each malformed one reported as a failed check and left at its default."""
    try:
        return Settings(), []
    except ValidationError as err:
        problems = err.errors()
    checks: list[Check] = []
    bad: set[str] = set()
    for problem in problems:
        field = str(problem["loc"][0]) if problem["loc"] else ""
        bad.add(field)
        name = _env_name(field)
        if field in ID_SETTINGS:
            wrong = ", ".join(repr(p) for p in _not_numbers(problem.get("input", ""))) or repr(problem.get("input"))
            checks.append(Check(name, "fail", f"{wrong} is not a number",
                                "comma-separated numeric Telegram user ids, e.g. 123456789,987654321 "
                                "(a user sees theirs by writing to @userinfobot)"))
        elif field == "agent_chat_id":
            checks.append(Check(name, "fail", f"{problem.get('input')!r} is not a number",
                                "the agents' group id, a negative number such as -1001234567890"))
        elif field == "webhook_secret":
            checks.append(Check(name, "fail", "may hold only letters, digits, _ and - (1-256 characters)",
                                "choose a new secret, e.g. python3 -c \"import secrets; print(secrets.token_urlsafe(32))\""))
        else:
            checks.append(Check(name or "settings", "fail", problem.get("msg", "invalid"),
                                f"correct {name} in the environment or .env (see .env.example)"))
    defaults = {f: Settings.model_fields[f].get_default(call_default_factory=True) for f in bad if f in Settings.model_fields}
    try:
        return Settings(**defaults), checks
    except ValidationError:
        return None, checks


def check_ids(settings: Settings, reported: frozenset[str] = frozenset()) -> list[Check]:
    """Every id list holds user ids (positive numbers); someone can act as an agent.

    ``reported``: settings already failed by :func:`load_settings` (not numbers), not repeated.
    """
    checks = []
    for field in ID_SETTINGS:
        if _env_name(field) in reported:
            continue
        ids: frozenset[int] = getattr(settings, field)
        name = _env_name(field)
        groups = sorted(i for i in ids if i <= 0)
        if groups:
            checks.append(Check(name, "fail", f"{', '.join(map(str, groups))} is not a user id (user ids are positive; "
                                              "a negative id is a group)", f"put people's user ids in {name}, "
                                              "and the agents' group in AGENT_CHAT_ID"))
        elif ids:
            checks.append(Check(name, "ok", f"{len(ids)} user id(s)"))
        elif field == "manager_ids":
            checks.append(Check(name, "ok", "empty: level-2 escalations go to ADMIN_IDS"))
        elif field == "admin_ids":
            checks.append(Check(name, "warn", "empty: nobody can /reload, /stats or /export",
                                "add the admins' user ids to ADMIN_IDS"))
        else:
            checks.append(Check(name, "ok", "empty"))
    if not settings.staff_ids:
        checks.append(Check("agents", "fail", "AGENT_IDS and SUPERVISOR_IDS are both empty: nobody can answer a ticket",
                            "add the agents' user ids to AGENT_IDS"))
    return checks


def check_database(settings: Settings) -> Check:
    """The ticket log's folder exists (or can be made) and a file can be written there."""
    path = Path(settings.database_path)
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    where = folder.resolve()
    if not probe.is_dir():
        return Check("database", "fail", f"{probe} is not a folder", f"point DATABASE_PATH into a writable folder")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        return Check("database", "fail", f"cannot write in {probe.resolve()} ({err.strerror})",
                     f"make {where} writable for user {_user()} (a container: mount a volume there)")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return Check("database", "fail", f"{path.resolve()} exists but is not readable and writable",
                     f"give user {_user()} read and write access to {path.resolve()}")
    state = "exists" if path.exists() else "will be created" + ("" if folder.exists() else " with its folder")
    return Check("database", "ok", f"{path.resolve()} ({state}; folder writable)")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def check_phrases(settings: Settings) -> Check:
    directory = Path(settings.phrases_dir)
    shipped = directory.resolve() == packaged_phrases_dir().resolve()
    try:
        phrases = load_phrases(directory)
    except PhraseFileError as err:
        lines = err.lines()
        shown = "; ".join(lines[:3]) + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else "")
        return Check("phrase files", "fail", f"{directory}: {shown}",
                     f"complaint-bot phrases check --phrases {directory} lists every problem with its line")
    where = "the files shipped with the package" if shipped else str(directory.resolve())
    return Check("phrase files", "ok", f"{len(FILES)} files load from {where} "
                                       f"({phrases.counts().get('forbidden.yaml', 0)} guard rules)")


def check_webhook_settings(settings: Settings, reported: frozenset[str] = frozenset()) -> Check | None:
    """In webhook mode: an HTTPS URL on a port Telegram delivers to, and a secret."""
    if settings.mode != "webhook" or "WEBHOOK_SECRET" in reported:
        return None
    url = urlparse(settings.webhook_url)
    if url.scheme != "https" or not url.hostname:
        return Check("webhook settings", "fail", f"WEBHOOK_URL {settings.webhook_url!r} is not an https:// URL",
                     "Telegram delivers webhooks over HTTPS only: put the public https:// address of this bot "
                     "(its TLS proxy) in WEBHOOK_URL")
    port = url.port or 443
    if port not in WEBHOOK_PORTS:
        return Check("webhook settings", "fail", f"WEBHOOK_URL uses port {port}",
                     f"Telegram delivers only to ports {', '.join(map(str, WEBHOOK_PORTS))}")
    if not settings.webhook_secret:
        return Check("webhook settings", "fail", "WEBHOOK_SECRET is empty: anyone who finds the URL could post updates",
                     "set WEBHOOK_SECRET, e.g. python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return Check("webhook settings", "ok", f"{settings.webhook_url} with a secret; listening on "
                                           f"{settings.webhook_listen}:{settings.webhook_port}")


def local_checks(settings: Settings, reported: frozenset[str] = frozenset()) -> list[Check]:
    checks = [*check_ids(settings, reported), check_database(settings), check_phrases(settings)]
    webhook = check_webhook_settings(settings, reported)
    if webhook is not None:
        checks.append(webhook)
    return checks


def render(checks: list[Check], token: str = "") -> str:
    """One line per check; the token never appears, whatever an error message quoted."""
    failed = sum(c.status == "fail" for c in checks)
    lines = [c.line() for c in checks]
    lines.append(f"{failed} check(s) failed" if failed else "all checks passed")
    text = "\n".join(lines)
    return text.replace(token, "<token>") if token else text


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == "fail" for c in checks) else 0
