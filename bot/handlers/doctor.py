"""``complaint-bot doctor``: the Telegram side of the set-up checks.

Asks the Bot API at ``TELEGRAM_API_URL``: ``getMe`` (the token works), ``getChatMember`` and
``getChat`` (the bot is in ``AGENT_CHAT_ID`` and may post there) and ``getWebhookInfo`` (the
webhook matches the chosen mode). Changes nothing. The checks that need no Telegram are in
:mod:`bot.admin.doctor`; :func:`run` prints all of them, one line each, and returns 1 when any
failed. The token is never printed: PTB quotes it in its InvalidToken message, so every line
goes through :func:`bot.admin.doctor.render`, which removes it.
"""

from __future__ import annotations

import asyncio

from telegram import Bot, ChatMember
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.admin.doctor import Check, exit_code, load_settings, local_checks, render
from bot.settings import Settings

POSTING = {ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER}


async def _agent_chat(bot: Bot, settings: Settings) -> Check:
    chat_id = settings.agent_chat_id
    name = f"@{bot.username}" if bot.username else "the bot"
    add = (f"add {name} to the agents' group and put the group's id in AGENT_CHAT_ID (a negative number; "
           "forward a group message to @userinfobot to see it)")
    if chat_id is None:
        return Check("agent chat", "fail", "AGENT_CHAT_ID is not set: ticket cards go nowhere", add)
    try:
        member = await bot.get_chat_member(chat_id, bot.id)
    except (BadRequest, Forbidden) as err:
        return Check("agent chat", "fail", f"Telegram refuses chat {chat_id} to this bot ({err.message})", add)
    if member.status not in POSTING and member.status != ChatMember.RESTRICTED:
        return Check("agent chat", "fail", f"the bot is not a member of {chat_id} (status: {member.status})", add)
    if member.status == ChatMember.RESTRICTED and not getattr(member, "can_send_messages", False):
        return Check("agent chat", "fail", f"the bot is restricted in {chat_id} and may not send messages",
                     f"lift the restriction on {name} in the group's member settings, or make it an administrator")
    if member.status == ChatMember.MEMBER:
        chat = await bot.get_chat(chat_id)
        if chat.permissions is not None and chat.permissions.can_send_messages is False:
            return Check("agent chat", "fail", f"members may not send messages in {chat.title or chat_id}",
                         f"make {name} an administrator of the group, or allow members to send messages")
    return Check("agent chat", "ok", f"the bot is a {member.status} of {chat_id} and may post there")


async def _webhook(bot: Bot, settings: Settings) -> Check:
    info = await bot.get_webhook_info()
    if settings.mode == "polling":
        if info.url:
            return Check("webhook", "fail", f"Telegram still posts updates to {info.url}, so polling gets none",
                         "complaint-bot run (polling) removes it at start-up; if this bot should use that webhook, "
                         f"set WEBHOOK_URL={info.url} and WEBHOOK_SECRET instead — and make sure no other "
                         "deployment uses this token")
        return Check("webhook", "ok", "none set: the bot polls for updates")
    if info.url and info.url != settings.webhook_url:
        return Check("webhook", "fail", f"Telegram posts updates to {info.url}, not to WEBHOOK_URL {settings.webhook_url}",
                     "complaint-bot run sets WEBHOOK_URL at start-up; make sure no other deployment uses this token")
    if info.last_error_message:
        when = f" at {info.last_error_date:%Y-%m-%d %H:%M} UTC" if info.last_error_date else ""
        return Check("webhook", "fail", f"Telegram could not deliver to {info.url}{when}: {info.last_error_message}"
                                        f" ({info.pending_update_count} update(s) waiting)",
                     "WEBHOOK_URL must reach this bot over HTTPS with a valid certificate, and the proxy must "
                     f"forward to {settings.webhook_listen}:{settings.webhook_port}")
    if not info.url:
        return Check("webhook", "ok", "not set yet: complaint-bot run sets WEBHOOK_URL at start-up")
    return Check("webhook", "ok", f"Telegram posts updates to {info.url} ({info.pending_update_count} waiting)")


async def telegram_checks(settings: Settings) -> list[Check]:
    """Token, agents' group and webhook state, asked of the Bot API (nothing is changed)."""
    if not settings.telegram_bot_token:
        return [Check("token", "fail", "TELEGRAM_BOT_TOKEN is not set",
                      "put the token @BotFather gave you in TELEGRAM_BOT_TOKEN (in .env, see .env.example)"),
                Check("agent chat", "skip", "needs a working token"), Check("webhook", "skip", "needs a working token")]
    request = HTTPXRequest(connect_timeout=5, read_timeout=10, write_timeout=10, pool_timeout=5)
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_url, request=request)
    try:
        try:
            await bot.initialize()            # getMe
        except InvalidToken:
            return [Check("token", "fail", f"{settings.telegram_api_url} rejects the token",
                          "copy the token again from @BotFather (/mybots → API Token) into TELEGRAM_BOT_TOKEN"),
                    Check("agent chat", "skip", "needs a working token"),
                    Check("webhook", "skip", "needs a working token")]
        except NetworkError as err:
            return [Check("token", "fail", f"cannot reach {settings.telegram_api_url} ({err.message})",
                          "check the network (or TELEGRAM_API_URL, when you run your own Bot API server)"),
                    Check("agent chat", "skip", "needs the Bot API"), Check("webhook", "skip", "needs the Bot API")]
        checks = [Check("token", "ok", f"@{bot.username} (id {bot.id}) answers at {settings.telegram_api_url}")]
        for name, step in (("agent chat", _agent_chat), ("webhook", _webhook)):
            try:
                checks.append(await step(bot, settings))
            except TelegramError as err:
                checks.append(Check(name, "fail", f"the Bot API answered {err.message}",
                                    "run complaint-bot doctor again; if it persists, check TELEGRAM_API_URL"))
            except Exception as err:  # an answer PTB cannot read is a finding too, never a traceback
                checks.append(Check(name, "fail", f"unexpected answer ({type(err).__name__}: {err})",
                                    "check TELEGRAM_API_URL points at a Bot API server"))
        return checks
    finally:
        await bot.shutdown()


def run() -> int:
    """``complaint-bot doctor``: every check, one line each; 1 when any failed."""
    settings, checks = load_settings()
    if settings is None:
        print(render(checks))
        return 1
    token = settings.telegram_bot_token
    header = f"complaint-bot doctor ({settings.mode} mode, Bot API {settings.telegram_api_url})"
    print(header.replace(token, "<token>") if token else header)
    reported = frozenset(c.name for c in checks)
    checks = [*checks, *local_checks(settings, reported), *asyncio.run(telegram_checks(settings))]
    print(render(checks, token))
    return exit_code(checks)
