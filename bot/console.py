"""``complaint-bot console``: the complaint desk in a terminal, no Telegram needed.

You are the customer. Every line you type goes through the same desk, engine and
ticket log (``DATABASE_PATH``) as a Telegram message, and you see the bot's reply
and the card agents would see::

    $ complaint-bot console
    你：你们发货太慢了，我非常失望！
    客服助手：您一直信任我们，却遇到这样的事……

Customer commands: /status, /new, /help, /quit. You are also an agent: /tickets,
/claim N, /reply N text, /check text, /suggest N, /send DRAFT (a suggestion or a
confirmed draft), /resolve N [summary], /escalate N [reason], /rate N 1-5 (as the
customer). Input may also be piped in, one message a line.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.desk.agents import Action, AgentDesk
from bot.desk.render import render_card
from bot.desk.conversation import Desk, Incoming
from bot.engine.store import EngineStore
from bot.engine.phrases import PhraseFileError
from bot.settings import Settings
from bot.engine.text import html_to_text
from bot.tickets.log import TicketLog, utcnow

CONSOLE_USER = 0
CONSOLE_AGENT = 1
INTRO = ("你现在是客户：直接输入投诉内容，回车发送。/status 查看工单，/new 开始新问题，/help 帮助，/quit 退出。\n"
         "你也是客服：/tickets /claim 号 /reply 号 内容 /check 句子 /suggest 号 /send 草稿号 /resolve 号 /escalate 号 /rate 号 分数")


def run_console(settings: Settings, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    try:
        store = EngineStore(settings.phrases_dir)
    except PhraseFileError as err:
        print("\n".join(err.lines()), file=sys.stderr)
        return 1
    log = TicketLog(settings.database_path)
    desk = Desk(store, log, sla_minutes=settings.sla_minutes)
    agents = AgentDesk(store, log, staff_ids=frozenset({CONSOLE_AGENT}), supervisor_ids=frozenset(),
                       zone=settings.zone)
    interactive = stdin.isatty()

    def say(who: str, text: str) -> None:
        print(f"{who}：{html_to_text(text)}", file=stdout, flush=True)

    print(INTRO, file=stdout)
    try:
        while True:
            if interactive:
                print("你：", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            text = line.rstrip("\n")
            command = text.strip().split(" ")[0].lower()
            if command in ("/quit", "/exit"):
                break
            if command == "/status":
                say("客服助手", desk.status(CONSOLE_USER))
            elif command == "/new":
                say("客服助手", desk.new(CONSOLE_USER))
            elif command in ("/help", "/start"):
                say("客服助手", desk.help())
            elif command in AGENT_COMMANDS:
                agent_command(agents, command, text, say)
            else:
                outcome = desk.receive(Incoming(None, CONSOLE_USER, CONSOLE_USER, "控制台客户", text))
                for reply in outcome.replies:
                    say("客服助手", reply.text)
                desk.replied(outcome.message_id, outcome.ticket.id, outcome.ticket.chat_id, outcome.replies)
                if outcome.new_ticket:
                    ticket = log.ticket(outcome.ticket.id)
                    card = render_card(ticket, log.messages(ticket.id, role="customer", limit=3), utcnow(),
                                       log.emotion_triggers(ticket.id))
                    print("\n[客服群看到的工单卡片]\n" + html_to_text(card) + "\n", file=stdout, flush=True)
    except KeyboardInterrupt:
        print(file=stdout)
    finally:
        log.close()
    return 0


AGENT_COMMANDS = ("/tickets", "/claim", "/reply", "/check", "/suggest", "/send", "/resolve", "/escalate", "/rate")


def agent_command(agents: AgentDesk, command: str, text: str, say) -> None:
    """The agents' commands in the console: the same rules as in the agent chat."""
    parts = text.strip().split(maxsplit=2)
    number = None
    if len(parts) > 1:
        try:
            number = int(parts[1].lstrip("#"))
        except ValueError:
            number = None
    rest = parts[2] if len(parts) > 2 else ""
    if command == "/tickets":
        return say("客服台", agents.tickets())
    if command == "/check":
        return say("客服台", agents.check(text.strip()[len("/check"):].strip()))
    if number is None:
        return say("客服台", f"用法：{command} 工单号")
    action: Action = {
        "/claim": lambda: agents.claim(number, CONSOLE_AGENT, "控制台客服"),
        "/reply": lambda: agents.reply(number, CONSOLE_AGENT, "控制台客服", rest),
        "/suggest": lambda: agents.suggest(number, CONSOLE_AGENT),
        "/send": lambda: agents.send_draft(number, CONSOLE_AGENT, "控制台客服"),
        "/resolve": lambda: agents.resolve(number, CONSOLE_AGENT, rest),
        "/escalate": lambda: agents.escalate(number, CONSOLE_AGENT, rest),
        "/rate": lambda: agents.rate(number, CONSOLE_USER, int(rest) if rest.isdigit() else 0),
    }[command]()
    if action.notice:
        buttons = [f"{label} → /{data.replace(':', ' ')}" for row in action.notice_buttons or [] for label, data in row]
        say("客服台", action.notice + ("\n" + "\n".join(buttons) if buttons else ""))
    for delivery in action.deliveries:
        if delivery.chat_id == CONSOLE_USER:
            say("客服助手", delivery.text)
