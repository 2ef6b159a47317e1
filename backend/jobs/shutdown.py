"""The process-wide stop request that the executors obey, set by the entry points' signal handlers.

First SIGTERM or Ctrl-C (`request_stop`): claim nothing new; running attempts get up to
`MPR_SHUTDOWN_GRACE` seconds to finish. Second one (`hurry`): stop their FFmpeg now. Either way
an attempt cut short goes back to the queue with the reason "server stopped", without spending an
attempt (`lifecycle.requeue_unspent`). Plain flags, safe to set from a signal handler or another
thread; the executors poll them.
"""
from __future__ import annotations

import threading

_requested = threading.Event()
_hurried = threading.Event()


def request_stop() -> None:
    _requested.set()


def hurry() -> None:
    _requested.set()
    _hurried.set()


def stop_requested() -> bool:
    return _requested.is_set()


def hurried() -> bool:
    return _hurried.is_set()


def reset() -> None:
    """Forget a stop request (a runtime started again in the same process, tests)."""
    _requested.clear()
    _hurried.clear()
