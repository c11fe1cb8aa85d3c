"""The project's own Bot API server on 127.0.0.1, for end-to-end tests and benchmarks.

Not part of the installed package: tests and ``bench/`` import it from the checkout.
"""

from botapi.server import FakeTelegram

__all__ = ["FakeTelegram"]
