"""The agents' side over Telegram: cards, commands, buttons, guarded replies.

Agents work in the agent chat (``AGENT_CHAT_ID``) or privately with the bot.
Commands: ``/tickets``, ``/claim N``, ``/reply N text`` (or a Telegram reply to
the ticket's card), ``/check text``, ``/suggest N``, ``/resolve N [summary]``,
``/escalate N [reason]``. The rules live in :mod:`bot.desk.agents`; this module
only turns updates into calls and :class:`~bot.agent_desk.Action` results into
messages. Only ``AGENT_IDS`` and ``SUPERVISOR_IDS`` may act.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.desk.agents import Action, Buttons, card_buttons
from bot.desk.render import render_card
from bot.handlers import jobs as deadlines
from bot.handlers.common import send, services, services_of
from bot.tickets.log import iso, utcnow

logger = logging.getLogger(__name__)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in buttons])


async def perform(application: Application, action: Action, notice_chat: int | None) -> Action:
    """Deliver the messages first, then tell the agent what really happened.

    When a reply does not reach the customer, the agents' desk undoes it
    (:meth:`~bot.agent_desk.AgentDesk.undelivered`) and the agent is told so, with a
    button to send it again. Returns the action as it finally stands.
    """
    failed = []
    for delivery in action.deliveries:
        try:
            sent = await send(application.bot, delivery.chat_id, delivery.text, reply_markup=keyboard(delivery.buttons))
        except TelegramError as err:
            logger.warning("delivery to %s failed: %s", delivery.chat_id, type(err).__name__)
            sent = None
        if sent is None:
            failed.append(delivery)
    if action.draft_id is not None and failed:
        action = services_of(application).agent_desk.undelivered(action)
    elif failed:
        action = replace(action, notice=(action.notice + "\n" if action.notice else "")
                         + f"⚠️ 有 {len(failed)} 条消息没有送达（网络问题，或对方屏蔽了机器人）。")
    if action.notice and notice_chat is not None:
        await send(application.bot, notice_chat, action.notice, reply_markup=keyboard(action.notice_buttons))
    if action.ticket is not None and action.ticket.status == "resolved":
        deadlines.arm_followup(application, action.ticket)
    return action


def _who(update: Update) -> tuple[int | None, str | None]:
    user = update.effective_user
    if user is None:
        return None, None
    return user.id, " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


def _ticket_arg(args: list[str]) -> int | None:
    if not args:
        return None
    try:
        return int(args[0].lstrip("#＃"))
    except ValueError:
        return None


async def _usage(update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str) -> None:
    await send(context.bot, update.effective_chat.id, f"用法：{usage}")


async def _staff_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for staff; a stranger gets a short refusal and nothing changes."""
    desk = services(context).agent_desk
    user_id, _ = _who(update)
    if desk.is_staff(user_id):
        return True
    await send(context.bot, update.effective_chat.id, desk.texts.not_staff)
    return False


# ---------------------------------------------------------------- commands

async def tickets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tickets: open tickets by deadline."""
    if await _staff_only(update, context):
        await send(context.bot, update.effective_chat.id, services(context).agent_desk.tickets())


async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/check text: the guard's verdict, nothing sent (staff and admins)."""
    svc = services(context)
    user_id, _ = _who(update)
    if not (svc.agent_desk.is_staff(user_id) or user_id in svc.settings.admin_ids):
        await send(context.bot, update.effective_chat.id, svc.agent_desk.texts.not_staff)
        return
    text = _rest(update, 1)
    if not text:
        return await _usage(update, context, "/check 要检查的句子")
    await send(context.bot, update.effective_chat.id, svc.agent_desk.check(text))


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/claim N."""
    await _simple(update, context, "claim", "/claim 工单号")


async def suggest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/suggest N: ready replies, one tap from the customer."""
    await _simple(update, context, "suggest", "/suggest 工单号")


async def resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resolve N [summary]."""
    await _simple(update, context, "resolve", "/resolve 工单号 [处理结果]")


async def escalate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/escalate N [reason]."""
    await _simple(update, context, "escalate", "/escalate 工单号 [原因]")


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reply N text: through the guard to the customer."""
    if not await _staff_only(update, context):
        return
    ticket_id = _ticket_arg(context.args)
    text = _rest(update, 2)
    if ticket_id is None or not text:
        return await _usage(update, context, "/reply 工单号 回复内容")
    user_id, name = _who(update)
    action = services(context).agent_desk.reply(ticket_id, user_id, name, text)
    await perform(context.application, action, update.effective_chat.id)


async def reply_to_card(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Telegram reply to a ticket's card in the agent chat is a reply to that customer."""
    msg = update.effective_message
    svc = services(context)
    ticket = svc.desk.log.ticket_by_card(msg.chat_id, msg.reply_to_message.message_id)
    if ticket is None:
        return
    if not await _staff_only(update, context):
        return
    user_id, name = _who(update)
    action = svc.agent_desk.reply(ticket.id, user_id, name, msg.text or "")
    await perform(context.application, action, msg.chat_id)


async def _simple(update: Update, context: ContextTypes.DEFAULT_TYPE, verb: str, usage: str) -> None:
    if not await _staff_only(update, context):
        return
    ticket_id = _ticket_arg(context.args)
    if ticket_id is None:
        return await _usage(update, context, usage)
    user_id, name = _who(update)
    desk = services(context).agent_desk
    rest = _rest(update, 2)
    action = {
        "claim": lambda: desk.claim(ticket_id, user_id, name),
        "suggest": lambda: desk.suggest(ticket_id, user_id),
        "resolve": lambda: desk.resolve(ticket_id, user_id, rest),
        "escalate": lambda: desk.escalate(ticket_id, user_id, rest),
    }[verb]()
    await perform(context.application, action, update.effective_chat.id)


def _rest(update: Update, skip: int) -> str:
    """The message text after the command and ``skip - 1`` arguments, spacing kept."""
    parts = (update.effective_message.text or "").split(maxsplit=skip)
    return parts[skip].strip() if len(parts) > skip else ""


# ---------------------------------------------------------------- buttons

async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every inline button: card actions and drafts (staff), ratings (the ticket's customer)."""
    query = update.callback_query
    svc = services(context)
    desk = svc.agent_desk
    user_id, name = _who(update)
    verb, _, arg = (query.data or "").partition(":")
    try:
        if verb == "rate":
            ticket_id, _, value = arg.partition(":")
            action = desk.rate(int(ticket_id), user_id, int(value))
            await query.answer(action.notice if not action.ok else None)
            if action.ok:
                await _edit_quietly(query, action.notice)
            return
        if not desk.is_staff(user_id):
            await query.answer(desk.texts.not_staff, show_alert=True)
            return
        number = int(arg)
    except ValueError:
        await query.answer("这个按钮已经失效了。")
        return
    action = {
        "claim": lambda: desk.claim(number, user_id, name),
        "suggest": lambda: desk.suggest(number, user_id),
        "escalate": lambda: desk.escalate(number, user_id, "客服点了升级"),
        "resolve": lambda: desk.resolve(number, user_id),
        "send": lambda: desk.send_draft(number, user_id, name),
        "cancel": lambda: desk.cancel_draft(number, user_id),
    }.get(verb, lambda: Action(False, "这个按钮已经失效了。"))()
    await query.answer()
    if verb in ("send", "cancel") and action.ok and query.message is not None:
        # deliver first; then the message with the buttons says how it went (and loses them)
        final = await perform(context.application, replace(action, notice=""), None)
        note = action.notice if final.ok else final.notice
        await _edit_quietly(query, f"{query.message.text_html}\n\n{note}", keyboard(final.notice_buttons))
        return
    await perform(context.application, action, query.message.chat_id if query.message else user_id)


async def _edit_quietly(query, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace a button message's text and buttons (ignore 'message is not modified')."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as err:
        logger.info("could not edit a button message: %s", err)


# ---------------------------------------------------------------- cards

async def post_card(application: Application, ticket_id: int) -> None:
    """Post a ticket's card with its buttons to the agent chat and remember where it is."""
    svc = services_of(application)
    chat_id = svc.settings.agent_chat_id
    if chat_id is None:
        return
    log = svc.desk.log
    ticket = log.ticket(ticket_id)
    if ticket.card_message_id is not None:
        return
    text = _card_text(svc, ticket)
    try:
        sent = await send(application.bot, chat_id, text, reply_markup=keyboard(card_buttons(ticket)))
    except TelegramError as err:
        logger.warning("card for ticket %s not posted (%s); will retry", ticket_id, type(err).__name__)
        return
    if sent is not None:
        log.card_posted(ticket_id, chat_id, sent.message_id)


async def redraw_card(application: Application, ticket_id: int) -> None:
    """Edit a posted card in place to show the ticket as it is now."""
    svc = services_of(application)
    log = svc.desk.log
    ticket = log.ticket(ticket_id)
    if ticket.card_message_id is None:
        return
    drawn_at = iso(utcnow())
    try:
        await application.bot.edit_message_text(
            _card_text(svc, ticket), chat_id=ticket.card_chat_id, message_id=ticket.card_message_id,
            reply_markup=keyboard(card_buttons(ticket)),
        )
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            logger.warning("card %s not redrawn: %s", ticket_id, err)
    except TelegramError as err:
        logger.warning("card %s not redrawn (%s); will retry", ticket_id, type(err).__name__)
        return
    log.card_drawn(ticket_id, drawn_at)


def _card_text(svc, ticket) -> str:
    log = svc.desk.log
    return render_card(ticket, log.messages(ticket.id, role="customer", limit=3), utcnow(),
                       log.emotion_triggers(ticket.id), zone=svc.settings.zone)


async def post_missing_cards(application: Application, limit: int = 3) -> None:
    """Post cards for tickets without one, then redraw changed cards; ``limit`` each per call,
    so a tick stays short under the agent group's flood limit (20 messages a minute)."""
    svc = services_of(application)
    if svc.settings.agent_chat_id is None:
        return
    async with svc.card_lock:
        for ticket in svc.desk.log.tickets_without_card()[:limit]:
            await post_card(application, ticket.id)
        for ticket in svc.desk.log.stale_cards()[:limit]:
            await redraw_card(application, ticket.id)


async def cards_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue: post new cards and redraw changed ones."""
    await post_missing_cards(context.application)
