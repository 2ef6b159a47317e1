"""Structured logs: one JSON object a line on stderr, `job_id` on every line about a job.

Level from `MPR_LOG_LEVEL`, format from `MPR_LOG_FORMAT` (`json`, the default, or `text` for a
human-friendly console). Pass `extra={"job_id": id}` when logging about a job.

One format for every process of a server: `configure_logging` puts MPR's handler on the root
logger and hands the loggers libraries configure for themselves (uvicorn, granian, Litestar) back
to it. `mpr up` reads everything its Reflex server prints (Reflex's own JSON records, granian's,
a build tool's plain lines) and writes it again through `relay_line`, so its output is one stream
in one format.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
# loggers that libraries give handlers of their own; they are sent to the root logger instead
_ADOPTED = ("uvicorn", "uvicorn.error", "uvicorn.access", "_granian", "granian", "granian.access",
            "litestar", "piccolo")
_CORE = ("ts", "level", "logger", "msg")


def _ts(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z"


def render(entry: dict, fmt: str = "json") -> str:
    """One log line from an entry with ts, level, logger, msg (and extra fields such as job_id)."""
    if fmt == "text":
        extra = " ".join(f"{k}={v}" for k, v in entry.items() if k not in _CORE and k != "exc")
        line = f"{entry.get('ts', '')} {str(entry.get('level', 'info')).upper():<7} {entry.get('logger', '')}: {entry.get('msg', '')}"
        if extra:
            line += f"  [{extra}]"
        if entry.get("exc"):
            line += "\n" + str(entry["exc"])
        return line
    return json.dumps(entry, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    fmt = "json"

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return render(entry, self.fmt)


class TextFormatter(JsonFormatter):
    fmt = "text"


def formatter(fmt: str = "json") -> logging.Formatter:
    return TextFormatter() if fmt == "text" else JsonFormatter()


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _ADOPTED:
        adopted = logging.getLogger(name)
        adopted.handlers[:] = []
        adopted.propagate = True


def _iso_to_ts(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return _ts(parsed.timestamp())


def parse_line(line: str) -> dict | None:
    """The entry a printed line carries: MPR's own JSON, or a Reflex/granian JSON record (timestamp,
    message, exception) mapped to MPR's field names; None for any other line."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "level" not in record:
        return None
    if "msg" in record and "ts" in record:
        return record
    if "message" not in record:
        return None
    entry = {
        "ts": _iso_to_ts(str(record.get("timestamp", ""))) if record.get("timestamp") else _ts(time.time()),
        "level": str(record["level"]).lower(),
        "logger": record.get("logger") or "reflex",
        "msg": record["message"],
    }
    for key, value in record.items():
        if key not in ("timestamp", "level", "logger", "message", "location", "exception"):
            entry[key] = value
    if record.get("exception"):
        entry["exc"] = record["exception"]
    return entry


def relay_line(line: str, fmt: str = "json", logger: str = "mpr.server", level: str = "info") -> str | None:
    """A line the Reflex server printed, rewritten in MPR's format (None: nothing to write).

    Plain lines become entries of `logger` at `level` (warning for what came on stderr); in text
    mode they pass unchanged (they are MPR's own text lines or a tool's output)."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    entry = parse_line(line)
    if entry is None:
        if fmt == "text":
            return line
        entry = {"ts": _ts(time.time()), "level": level, "logger": logger, "msg": line}
    return render(entry, fmt)
