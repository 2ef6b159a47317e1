"""Run one ffmpeg argv as an asyncio subprocess: live progress, readable errors, clean cancel.

Progress comes from `-progress pipe:1` blocks on stdout (out_time_us, fps, speed, frame,
progress=continue|end); stderr is read concurrently (last 50 lines kept) so neither pipe can
fill up and block ffmpeg. Cancelling the awaiting task sends SIGTERM (ffmpeg flushes and
exits), waits up to 5 s, then SIGKILLs, deletes the partial output and re-raises
CancelledError. `q` on stdin is never used: it exits 0, indistinguishable from success.
On Linux ffmpeg is also killed when the process that started it dies (kill -9 of MPR): an
orphan would otherwise keep encoding next to the attempt the restarted MPR runs
(`backend.lifeline`). It runs in its own process group, so a terminal's Ctrl-C reaches only MPR.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import re
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import limits
from .webp import finish_webp, is_frame_stream

log = logging.getLogger(__name__)

STDERR_LINES = 50
TERM_GRACE_SECONDS = 5.0

_PREFIX = re.compile(r"^(?:\[[^\]]+ @ (?:0x)?[0-9a-fA-F]+\]\s*)+")
# Lines that name a cause (preferred), and summaries ffmpeg prints after the cause (avoided).
_CAUSES = ("No such file", "does not contain", "Unknown encoder", "Unknown decoder", "Invalid data found",
           "Permission denied", "Cannot parse", "matches no streams", "not divisible", "Server returned",
           "moov atom not found", "No space left", "Unrecognized option", "Option not found", "not supported",
           "Unsupported", "unsupported", "Invalid argument", "Undefined constant", "partial file",
           "Could not open", "Could not find", "Too many", "Invalid", "invalid", "doesn't support")
_ERRORS = ("Error", "error", "failed", "Failed", "Cannot", "cannot", "Could not", "Unable", "unable", "empty")
_GENERIC = ("Conversion failed", "Error opening output files", "Error opening input files",
            "Error opening output file ", "Error opening input file ", "Error parsing options",
            "Error while filtering", "Error selecting an encoder", "To ignore this", "Terminating thread",
            "Exiting normally", "Task finished with error code", "Error sending frames to consumers",
            "Error muxing a packet", "Error submitting a packet", "Error while processing the decoded data",
            "Nothing was written into output file", "Error closing file")
_OPENING = re.compile(r"^Error opening (input|output) file (.+)\.$")


@dataclass
class Progress:
    out_time: float  # seconds of output written
    percent: float  # 0..100 of the expected duration
    fps: float | None = None
    speed: float | None = None  # × realtime
    eta: float | None = None  # seconds left
    frame: int | None = None


class FFmpegError(Exception):
    """ffmpeg failed; `.message` is the line a person needs, `.stderr_tail` the context."""

    def __init__(self, message: str, stderr_tail: str = "", returncode: int | None = None):
        super().__init__(message)
        self.message = message
        self.stderr_tail = stderr_tail
        self.returncode = returncode


ProgressCallback = Callable[[Progress], "Awaitable[None] | None"]


def clean_line(line: str) -> str:
    """Drop the "[h264 @ 0x55…]" context prefix ffmpeg puts on component messages."""
    return _PREFIX.sub("", line.strip())


def pick_message(lines: Sequence[str], returncode: int | None = None) -> str:
    """The stderr line a person needs: the last line naming a cause (not ffmpeg's closing
    summaries), else the last error-like line, else the last line, else the exit status."""
    raw = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("Traceback", "File \""))
           and not ln.startswith("  ")]
    cleaned = [clean_line(ln) for ln in raw]
    cleaned = [ln for ln in cleaned if ln]
    specific = [ln for ln in cleaned if not ln.startswith(_GENERIC)]
    chosen = (
        next((ln for ln in reversed(specific) if any(k in ln for k in _CAUSES)), None)
        or next((ln for ln in reversed(specific) if any(k in ln for k in _ERRORS)), None)
        or (specific[-1] if specific else None)
    )
    if chosen is None:
        if returncode is not None and returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = str(-returncode)
            return f"ffmpeg was killed by signal {name}"
        if cleaned:
            return cleaned[-1]
        return f"ffmpeg exited with code {returncode}"
    for kind in ("input", "output"):  # "Error opening input: No such file…" + which file
        if chosen.startswith(f"Error opening {kind}:"):
            for ln in cleaned:
                m = _OPENING.match(ln)
                if m and m.group(1) == kind:
                    return f"Error opening {kind} {m.group(2)}:{chosen.split(':', 1)[1]}"
    return chosen


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip().rstrip("x")
    if not value or value == "N/A":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _out_time(block: dict[str, str]) -> float | None:
    for key in ("out_time_us", "out_time_ms"):  # out_time_ms is µs too (historic ffmpeg quirk)
        v = _float(block.get(key))
        if v is not None:
            return max(0.0, v / 1_000_000)
    text = block.get("out_time")
    if text and text != "N/A":
        try:
            neg = text.startswith("-")
            h, m, s = text.lstrip("-").split(":")
            t = int(h) * 3600 + int(m) * 60 + float(s)
            return 0.0 if neg else t
        except ValueError:
            return None
    return None


def progress_from_block(block: dict[str, str], duration: float) -> Progress:
    """Turn one `-progress` block into a Progress against `duration` seconds of expected output."""
    out_time = _out_time(block) or 0.0
    percent = min(100.0, out_time / duration * 100.0) if duration > 0 else 0.0
    speed = _float(block.get("speed"))
    fps = _float(block.get("fps"))
    frame_f = _float(block.get("frame"))
    eta = None
    if speed and speed > 0 and duration > 0:
        eta = max(0.0, (duration - out_time) / speed)
    return Progress(
        out_time=round(out_time, 3), percent=round(percent, 2), fps=fps,
        speed=speed, eta=None if eta is None else round(eta, 1),
        frame=int(frame_f) if frame_f is not None else None,
    )


async def _call(cb: ProgressCallback | None, p: Progress) -> None:
    if cb is None:
        return
    try:
        result = cb(p)
        if inspect.isawaitable(result):
            await result
    except asyncio.CancelledError:
        raise
    except Exception:  # a failing progress sink must not kill the encode
        log.exception("on_progress callback failed")


async def _read_lines(stream: asyncio.StreamReader, sink: Callable[[str], Awaitable[None] | None]):
    """Split on \\n and \\r without StreamReader's line-length limit."""
    buf = b""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            break
        buf += chunk
        parts = re.split(rb"[\r\n]", buf)
        buf = parts.pop()
        for part in parts:
            if part:
                r = sink(part.decode("utf-8", "replace"))
                if inspect.isawaitable(r):
                    await r
    if buf:
        r = sink(buf.decode("utf-8", "replace"))
        if inspect.isawaitable(r):
            await r


def _remove(output: Path | None) -> None:
    if output is None:
        return
    for path in (output, output.with_name(output.name + ".tmp-webp")):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, wait up to TERM_GRACE_SECONDS, then SIGKILL."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), TERM_GRACE_SECONDS)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def run_ffmpeg(
    argv: Sequence[str],
    *,
    duration: float,
    output: Path | str | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = 0.5,
    timeout: float | None = None,
    memory_bytes: int | None = None,
) -> str:
    """Run ffmpeg; return the stderr tail on success, raise FFmpegError on failure.

    `duration` is the expected output length in seconds (percent is measured against it).
    `on_progress` (sync or async) is called at most every `progress_interval` s while running,
    and once with percent 100 after a successful exit. A WebP animation written as PPM frames
    by `command.build_command` is turned into the final .webp here before returning.
    Bounded (backend.media.limits): `timeout` defaults to `limits.encode_timeout(duration)`,
    the address space to `memory_bytes` or the encode limit, and the child's environment
    carries none of the server's secrets.
    """
    if timeout is None:
        timeout = limits.encode_timeout(duration)
    output = Path(output) if output is not None else None
    tail: deque[str] = deque(maxlen=STDERR_LINES)
    state = {"last_emit": time.monotonic(), "last": None}  # first event after one interval, not at once
    block: dict[str, str] = {}

    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=limits.child_env(),
        # its own process group: a Ctrl-C typed at `mpr api`/`mpr worker` reaches MPR, which stops
        # FFmpeg itself after the shutdown grace, instead of reaching FFmpeg directly mid-encode
        preexec_fn=limits.child_preexec(os.getpid(), memory_bytes or limits.LIMITS.encode_memory_bytes,
                                        own_group=True),
    )

    async def on_stdout(line: str) -> None:
        key, sep, value = line.partition("=")
        if not sep:
            return
        key, value = key.strip(), value.strip()
        if key != "progress":
            block[key] = value
            return
        p = progress_from_block(block, duration)
        block.clear()
        prev: Progress | None = state["last"]
        if prev is not None and p.out_time < prev.out_time:  # N/A blocks: never go backwards
            p = Progress(prev.out_time, prev.percent, p.fps or prev.fps, p.speed or prev.speed,
                         prev.eta, p.frame if p.frame is not None else prev.frame)
        state["last"] = p
        if value == "end":
            return  # the final 100 % event is sent after a successful exit
        now = time.monotonic()
        if now - state["last_emit"] >= progress_interval:
            state["last_emit"] = now
            await _call(on_progress, p)

    readers = [
        asyncio.create_task(_read_lines(proc.stdout, on_stdout)),
        asyncio.create_task(_read_lines(proc.stderr, tail.append)),
    ]
    try:
        try:
            gathered = asyncio.gather(*readers)
            # a reader cancelled below after an interruption ends the gather with CancelledError,
            # which no one awaits any more: read it here, or asyncio logs "never retrieved"
            gathered.add_done_callback(lambda f: f.cancelled() or f.exception())
            await asyncio.wait_for(gathered, timeout)
        except asyncio.TimeoutError:
            await _stop(proc)
            _remove(output)
            raise FFmpegError(f"ffmpeg took longer than {timeout:g} s and was stopped",
                              "\n".join(tail), proc.returncode) from None
        rc = await proc.wait()
    except asyncio.CancelledError:
        try:
            await asyncio.shield(_stop(proc))  # a second cancel cannot interrupt the stop itself
        finally:
            _remove(output)
        raise
    finally:
        for task in readers:
            task.cancel()
        if proc.returncode is None:  # any other exception: never leave ffmpeg running
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    text = "\n".join(tail)
    if rc != 0:
        _remove(output)
        raise FFmpegError(pick_message(list(tail), rc), text, rc)
    if output is not None and output.suffix.lower() == ".webp" and is_frame_stream(output):
        finish_webp(output, duration)
    last: Progress | None = state["last"]
    final = Progress(
        out_time=last.out_time if last else round(max(duration, 0.0), 3),
        percent=100.0, fps=last.fps if last else None, speed=last.speed if last else None,
        eta=0.0, frame=last.frame if last else None,
    )
    await _call(on_progress, final)
    return text
