"""The layers hold: only bot/handlers/ imports telegram, only bot/tickets/ speaks SQL, no import cycle."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
SQL = re.compile(r"\b(select\s+[\w*,\s]+\s+from\s+\w|insert\s+(or\s+\w+\s+)?into\s|update\s+\[?\w+\]?\s+set\s|"
                 r"delete\s+from\s|create\s+(table|index)\s|pragma\s+\w)", re.IGNORECASE)


def modules() -> dict[str, Path]:
    found = {}
    for path in BOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_handlers_import_telegram():
    outside = [name for name, path in modules().items() if not name.startswith("bot.handlers")
               and any(i == "telegram" or i.startswith("telegram.") for i in imports(path))]
    assert outside == []


def test_only_the_ticket_log_speaks_sql():
    outside = [name for name, path in modules().items() if not name.startswith("bot.tickets")
               and SQL.search(path.read_text(encoding="utf-8"))]
    assert outside == []
    assert SQL.search((BOT / "tickets" / "log.py").read_text(encoding="utf-8"))      # the rule sees SQL


def test_the_core_does_not_reach_up_into_the_edge():
    rules = {"bot.engine": ("bot.tickets", "bot.desk", "bot.admin", "bot.handlers"),
             "bot.tickets": ("bot.engine", "bot.desk", "bot.admin", "bot.handlers"),
             "bot.desk": ("bot.admin", "bot.handlers")}
    broken = [(name, i) for name, path in modules().items() for layer, banned in rules.items()
              if name.startswith(layer) for i in imports(path) if i.startswith(banned)]
    assert broken == []


def test_no_import_cycle():
    mods = modules()
    graph = {name: {i for i in imports(path) if i in mods and i != name} for name, path in mods.items()}

    def visit(node, stack, done):
        if node in stack:
            raise AssertionError(" -> ".join([*stack[stack.index(node):], node]))
        if node in done:
            return
        for nxt in graph[node]:
            visit(nxt, [*stack, node], done)
        done.add(node)

    done: set[str] = set()
    for name in graph:
        visit(name, [], done)


def test_shipped_code_and_benchmarks_do_not_import_the_tests():
    paths = list(BOT.rglob("*.py")) + list((ROOT / "bench").glob("*.py"))
    assert [p.name for p in paths if any(i == "tests" or i.startswith("tests.") for i in imports(p))] == []
