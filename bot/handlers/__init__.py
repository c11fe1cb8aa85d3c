"""The Telegram-facing edges: customers, agents, admins. Wiring lives in :mod:`bot.handlers.app`."""
