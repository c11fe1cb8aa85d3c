"""complaint-bot: a Telegram complaint desk for Chinese customer complaints.

The engine modules (:mod:`bot.text`, :mod:`bot.phrases`, :mod:`bot.analysis`,
:mod:`bot.guard`) know nothing about Telegram; :mod:`bot.handlers` is the
Telegram-facing edge.
"""

__version__ = "0.1.0"
