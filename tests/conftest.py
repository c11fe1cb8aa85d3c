"""Shared fixtures: the real engine (built once), a private copy of the phrase files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.engine.store import Engine

ROOT = Path(__file__).resolve().parent.parent
PHRASES = ROOT / "bot" / "phrases"
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The engine compiled from the shipped phrase files (jieba loads once per test run)."""
    return Engine.load(PHRASES)


@pytest.fixture(scope="session")
def rules(engine) -> "Analyzer":
    """The shipped analyser without its learned reader: what the phrase files' rules read alone."""
    from bot.engine.analysis import Analyzer

    return Analyzer(engine.phrases, reader=None)


@pytest.fixture
def phrases_dir(tmp_path: Path) -> Path:
    """A copy of bot/phrases/ that a test may break without touching the real files."""
    target = tmp_path / "phrases"
    shutil.copytree(PHRASES, target)
    return target


@pytest.fixture
def telegram():
    """The project's own Bot API server on 127.0.0.1."""
    from botapi import FakeTelegram

    with FakeTelegram() as server:
        yield server


@pytest.fixture
def bot(telegram, tmp_path):
    """The real bot (``python -m bot run``) polling the local server; stopped after the test."""
    from tests.botprocess import BotProcess

    process = BotProcess(telegram, tmp_path).start()
    yield process
    process.kill()


@pytest.fixture
def fresh_db(tmp_path):
    """A new ticket log file for this test only."""
    from bot.tickets.log import TicketLog

    log = TicketLog(tmp_path / "tickets.db")
    yield log
    log.close()


AGENT, SUPERVISOR, MANAGER, STRANGER = 5001, 6001, 7001, 9999
AGENT_CHAT = -100


def make_settings(**overrides):
    """Settings for in-process tests: no .env, the shipped phrases, the ids above."""
    from bot.settings import Settings

    values = dict(_env_file=None, phrases_dir=PHRASES, agent_ids=frozenset({AGENT}),
                  supervisor_ids=frozenset({SUPERVISOR}), manager_ids=frozenset({MANAGER}),
                  admin_ids=frozenset({MANAGER}), agent_chat_id=AGENT_CHAT, sla_minutes=60)
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def store():
    """The engine store over the shipped phrases (built once per test run)."""
    from bot.engine.store import EngineStore

    return EngineStore(PHRASES)


@pytest.fixture
def services(fresh_db, store):
    """Everything :mod:`bot.services` builds, over a fresh log."""
    from bot.services import Services

    return Services.build(make_settings(), log=fresh_db, store=store)


@pytest.fixture
def desk(services):
    """The conversation rules over a fresh log and the shipped phrases."""
    return services.desk


@pytest.fixture
def agent_desk(services):
    """The agents' rules over the same fresh log as ``desk``."""
    return services.agents
