"""The floor for bench/telegram.py: the smallest PTB bot that answers every message once.

Same Application, same polling, same local server; it only sends a fixed reply.
"""

import os
import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply once to every message."""
    await context.bot.send_message(update.effective_chat.id, "收到")


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
