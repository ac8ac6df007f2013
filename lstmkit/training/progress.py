"""The progress display of fit/evaluate/predict, in Keras 3's format.

verbose=1, on a live display (a terminal or Jupyter): one line redrawn in place with ``\\r``, at most
every 0.05 s, ending as ``30/30 ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - loss: 0.0123``. Written to a file or
a pipe, the same line is printed once, when the epoch ends: no carriage returns, no colour codes.
verbose=2: one line per epoch, ``30/30 - 1s - 35ms/step - loss: 0.0123 - val_loss: 0.0150``.

Values are read from ``logs`` only when a line is about to be drawn: reading a metric synchronises
with the device, so the throttle is also what keeps the training loop asynchronous.
"""

from __future__ import annotations

import math
import os
import sys
import time

__all__ = ["Progbar", "format_logs", "format_value"]


def format_value(value: float) -> str:
    """Keras's number format: 4 decimals, or scientific notation below 1e-3 in magnitude."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_logs(logs) -> str:
    return "".join(f" - {name}: {format_value(float(logs[name]))}" for name in logs)


def _format_step_time(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _format_eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def is_live_display(stream) -> bool:
    """True where ``\\r`` redraws a line: a terminal, or a Jupyter/IPython kernel's output."""
    if "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ:
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def can_encode(stream, text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if encoding is None:  # an in-memory text stream holds any character
        return True
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


class Progbar:
    """A progress line for ``target`` steps (None if unknown). ``update(current, logs)`` after each step."""

    def __init__(
        self,
        target: int | None,
        verbose: int = 1,
        width: int = 20,
        interval: float = 0.05,
        unit_name: str = "step",
        stream=None,
    ):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream if stream is not None else sys.stdout
        self.live = is_live_display(self.stream)
        self.colour = self.live and bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar_char = "━" if can_encode(self.stream, "━") else "="
        self._start = time.perf_counter()
        self._last_draw = float("-inf")
        self._previous_width = 0
        self.current = 0

    def _time_per_step(self, current: int, now: float) -> float:
        return (now - self._start) / current if current else 0.0

    def update(self, current: int, logs=None, finalize: bool = False) -> None:
        """Record progress; draw if due. ``logs`` is a mapping read only when drawing."""
        self.current = current
        if self.verbose != 1 or not self.live or finalize:
            if finalize:
                self._finish(current, logs)
            return
        now = time.perf_counter()
        if now - self._last_draw < self.interval:
            return
        self._last_draw = now
        self._draw_live(current, logs or {}, now, final=False)

    def _bar(self, current: int) -> str:
        if not self.target:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1
        count = f"{current:{digits}d}/{self.target}"
        done = int(self.width * min(current, self.target) / self.target)
        if self.colour:
            return (
                f"\x1b[1m{count}\x1b[0m \x1b[32m{self.bar_char * done}\x1b[0m"
                f"\x1b[37m{self.bar_char * (self.width - done)}\x1b[0m"
            )
        return f"{count} {self.bar_char * done}{' ' * (self.width - done)}"

    def _draw_live(self, current, logs, now, final: bool) -> None:
        elapsed = now - self._start
        per_step = self._time_per_step(current, now)
        if final or not self.target:
            timing = f" {elapsed:.0f}s"
        else:
            timing = f" {_format_eta(per_step * (self.target - current))}"
        line = (
            self._bar(current)
            + timing
            + " "
            + _format_step_time(per_step, self.unit_name)
            + format_logs(logs)
        )
        visible = len(line)
        padding = " " * max(0, self._previous_width - visible)
        self._previous_width = visible
        self.stream.write("\r" + line + padding + ("\n" if final else ""))
        self.stream.flush()

    def _finish(self, current, logs) -> None:
        logs = logs or {}
        now = time.perf_counter()
        if self.target is None:
            self.target = current
        if self.verbose == 1 and self.live:
            self._draw_live(current, logs, now, final=True)
        elif self.verbose == 1:
            # A file or pipe: the finished line once, no carriage return, no colour.
            per_step = self._time_per_step(current, now)
            self.stream.write(
                self._bar(current)
                + f" {now - self._start:.0f}s "
                + _format_step_time(per_step, self.unit_name)
                + format_logs(logs)
                + "\n"
            )
            self.stream.flush()
        elif self.verbose == 2:
            digits = int(math.log10(max(self.target, 1))) + 1
            per_step = self._time_per_step(current, now)
            self.stream.write(
                f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s - "
                + _format_step_time(per_step, self.unit_name)
                + format_logs(logs)
                + "\n"
            )
            self.stream.flush()
