"""complaint-bot: a Telegram complaint desk for Chinese customer complaints.

The engine modules (:mod:`bot.engine.text`, :mod:`bot.engine.phrases`, :mod:`bot.engine.analysis`,
:mod:`bot.engine.guard`) know nothing about Telegram; :mod:`bot.handlers` is the
Telegram-facing edge.
"""

__version__ = "0.1.0"
