"""``python -m bot`` is the same as the ``complaint-bot`` command."""

from bot.cli import main

raise SystemExit(main())
