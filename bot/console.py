"""``complaint-bot console``: the complaint desk in a terminal, no Telegram needed.

You are the customer. Every line you type goes through the same services (desk,
agents' desk, engine, ticket log at ``DATABASE_PATH``) as a Telegram message, and the
desk's decisions are carried out the same way: replies, escalations (a severe threat
escalates at once, and you see what the supervisors would read), cards::

    $ complaint-bot console
    你：你们发货太慢了，我非常失望！
    客服助手：您一直信任我们，却遇到这样的事……

Customer commands: /status, /new, /help, /quit. You are also an agent: /tickets,
/claim N, /reply N text, /check text, /suggest N, /send DRAFT (a suggestion or a
confirmed draft), /cancel DRAFT, /resolve N [summary], /escalate N [reason],
/rate N 1-5 (as the customer). Input may also be piped in, one message a line.
Timers (reminders, deadline escalations, follow-ups) need a running clock and are
left to the Telegram bot.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from bot.desk.actions import VERBS, Action, ticket_number
from bot.desk.conversation import Incoming, Outcome
from bot.desk.render import html_to_text
from bot.engine.phrases import PhraseFileError
from bot.services import Services
from bot.settings import Settings
from bot.tickets.schema import utcnow

CONSOLE_USER = 0
CONSOLE_AGENT = 1
INTRO = ("你现在是客户：直接输入投诉内容，回车发送。/status 查看工单，/new 开始新问题，/help 帮助，/quit 退出。\n"
         "你也是客服：/tickets /claim 号 /reply 号 内容 /check 句子 /suggest 号 /send 草稿号 /resolve 号 /escalate 号 "
         "/rate 号 分数")

Say = Callable[[str, str], None]


def run_console(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    try:
        services = Services.build(settings, staff_ids=frozenset({CONSOLE_AGENT}))
    except PhraseFileError as err:
        print("\n".join(err.lines()), file=sys.stderr)
        return 1

    def say(who: str, text: str) -> None:
        print(f"{who}：{html_to_text(text)}", file=stdout, flush=True)

    print(INTRO, file=stdout)
    try:
        while True:
            if stdin.isatty():
                print("你：", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            if not line.strip():
                continue                            # nothing typed: nothing to log
            if not handle_line(services, line.rstrip("\n"), say):
                break
    except KeyboardInterrupt:
        print(file=stdout)
    finally:
        services.close()
    return 0


def handle_line(services: Services, text: str, say: Say) -> bool:
    """One line from the person at the terminal; False to stop."""
    command = text.strip().split(" ")[0].lower()
    desk = services.desk
    if command in ("/quit", "/exit"):
        return False
    if command == "/status":
        say("客服助手", desk.status(CONSOLE_USER))
    elif command == "/new":
        say("客服助手", desk.new(CONSOLE_USER))
    elif command == "/start":
        say("客服助手", desk.greeting("控制台客户"))
    elif command == "/help":
        say("客服助手", desk.help())
    elif command in ("/tickets", "/check", "/rate") or command[1:] in VERBS:
        agent_command(services, command, text, say)
    else:
        outcome = desk.receive(Incoming(None, CONSOLE_USER, CONSOLE_USER, "控制台客户", text))
        carry_out(services, outcome, say)
    return True


def carry_out(services: Services, outcome: Outcome, say: Say) -> None:
    """What the Telegram outbox does with a customer message's outcome, in the terminal."""
    for reply in outcome.replies:
        say("客服助手", reply.text)
    services.desk.replied(outcome.message_id, outcome.ticket.id, outcome.ticket.chat_id, outcome.replies)
    for action in outcome.actions:
        show(action, say)
    if outcome.new_ticket:
        log, ticket = services.log, services.log.ticket(outcome.ticket.id)
        card = services.agents.render.card(ticket, log.messages(ticket.id, role="customer", limit=3), utcnow(),
                                           log.triggers(ticket.id))
        say("\n[客服群看到的工单卡片]", "\n" + card + "\n")


def agent_command(services: Services, command: str, text: str, say: Say) -> None:
    """The agents' commands in the console: the same verb table as in the agent chat."""
    agents = services.agents
    parts = text.strip().split(maxsplit=2)
    if command == "/tickets":
        return say("客服台", agents.tickets())
    if command == "/check":
        return say("客服台", agents.check(text.strip()[len("/check"):].strip()))
    number = ticket_number(parts[1]) if len(parts) > 1 else None
    rest = parts[2] if len(parts) > 2 else ""
    if number is None:
        return say("客服台", f"用法：{VERBS.get(command[1:], command + ' 工单号')}")
    if command == "/rate":
        action = agents.rate(number, CONSOLE_USER, int(rest) if rest.isdigit() else 0)
    else:
        action = agents.act(command[1:], number, CONSOLE_AGENT, "控制台客服", rest)
    show(action, say)


def show(action: Action, say: Say) -> None:
    """An action's notice, buttons as commands, and every delivery with whom it is for."""
    if action.notice:
        buttons = [f"{label} → /{data.replace(':', ' ')}" for row in action.notice_buttons or [] for label, data in row]
        say("客服台", action.notice + ("\n" + "\n".join(buttons) if buttons else ""))
    for delivery in action.deliveries:
        say("客服助手" if delivery.chat_id == CONSOLE_USER else f"[发给 {delivery.chat_id}]", delivery.text)
