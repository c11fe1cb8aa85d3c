"""The floor for bench/telegram.py: the smallest PTB bot that answers every message once.

Same Application, same polling, same local server, the same number of messages as the
complaint bot (a reply per message, one agent-chat message per new customer); it only
sends fixed texts.
"""

import os
import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply once to every message; tell the agent chat once per new customer (as a card would)."""
    await context.bot.send_message(update.effective_chat.id, "收到")
    seen = context.bot_data.setdefault("seen", set())
    if update.effective_chat.id not in seen and os.environ.get("AGENT_CHAT_ID"):
        seen.add(update.effective_chat.id)
        await context.bot.send_message(int(os.environ["AGENT_CHAT_ID"]), f"新客户 {update.effective_chat.id}")


def main() -> int:
    builder = ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"]).base_url(os.environ["TELEGRAM_API_URL"])
    if os.environ.get("RATE_LIMITER", "true").lower() == "true":
        from telegram.ext import AIORateLimiter

        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
