"""Process-local event counters that /metrics exposes (`backend.api.http.metrics`).

Code that sees an event increments a counter here with one call; nothing else. The counts live in
this process (one per web worker) and start at zero when it starts, as Prometheus counters do.
"""
from __future__ import annotations


class LabeledCounter:
    """A monotonically increasing count per label value (e.g. per HTTP status)."""

    def __init__(self) -> None:
        self._values: dict[str, float] = {}

    def inc(self, label: str = "", amount: float = 1.0) -> None:
        self._values[label] = self._values.get(label, 0.0) + amount

    def snapshot(self) -> dict[str, float]:
        return dict(self._values)

    def total(self) -> float:
        return sum(self._values.values())


CALLBACK_FAILURES = LabeledCounter()  # refused job callbacks, by the HTTP status MPR answered (401, 400, 404)
