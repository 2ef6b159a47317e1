"""Children that die with their parent: Linux `PR_SET_PDEATHSIG`, used at every level of a server.

`mpr up` → Reflex/granian supervisor → granian worker (Litestar app + job executor) → FFmpeg.
A process can be killed with SIGKILL (OOM killer, `kill -9`), which it cannot catch, so the
parent cannot clean up after itself; instead each child asks the kernel for SIGKILL the moment
its parent goes. The kernel ties the request to the parent *thread* that forked the child, so
start children from a thread that lives as long as the process (the main thread, or the
asyncio loop's thread). On other systems these helpers do nothing.

This module imports nothing from MPR: every layer may use it.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Callable

_PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def supported() -> bool:
    return _PRCTL is not None


def die_with(parent_pid: int, *, own_group: bool = False) -> Callable[[], None] | None:
    """A `preexec_fn`: the child gets SIGKILL when `parent_pid` (the process starting it) dies.

    If the parent died between fork and the prctl (the request would then never fire), the
    child exits at once instead of running as an orphan. `own_group` also puts the child in a
    process group of its own (a terminal's Ctrl-C then reaches only the parent; uvloop's
    subprocesses take no `process_group=` argument). None where prctl is not available.
    """
    if _PRCTL is None:
        return os.setpgrp if own_group else None

    def hook() -> None:
        if own_group:
            os.setpgrp()
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return hook


def bind_to_parent(parent_pid: int) -> bool:
    """The same request from inside a running child (one started by code we do not control, e.g.
    a granian worker): SIGKILL to this process when `parent_pid` dies. If it is already gone,
    this process kills itself now. Returns whether the request was made."""
    if _PRCTL is None:
        return False
    _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def pid_alive(pid: int) -> bool:
    """Whether `pid` names a live process; a zombie (dead, not yet reaped by its parent) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")
