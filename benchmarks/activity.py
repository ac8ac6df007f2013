"""How much of the machine other processes used while the suite ran: the report's "Machine quiet" line and
the plot's title depend on it, since timings on a busy machine are noisy."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

__all__ = ["MachineActivity", "activity_line"]


class MachineActivity:
    """How much CPU other processes used while the suite ran: the machine's busy time (/proc/stat) minus
    this process's and its children's (the Keras workers). A machine is called quiet when the others
    used under 5 % of it."""

    QUIET_SHARE = 0.05

    def __init__(self):
        self.start, self.busy, self.own = time.monotonic(), _busy_seconds(), _own_seconds()
        self.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    def finish(self) -> dict:
        elapsed = time.monotonic() - self.start
        cpus = os.cpu_count() or 1
        result = {"seconds": elapsed, "load_at_start": self.load}
        busy = _busy_seconds()
        if busy is not None and self.busy is not None and elapsed > 0:
            others = max(0.0, (busy - self.busy) - (_own_seconds() - self.own))
            result["others_share"] = others / (elapsed * cpus)
            result["quiet"] = result["others_share"] < self.QUIET_SHARE
        return result


def _busy_seconds():
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def activity_line(activity: dict | None) -> str:
    if not activity or "others_share" not in activity:
        return "- Machine quiet: unknown (no /proc/stat here)"
    verdict = (
        "**yes**"
        if activity["quiet"]
        else "**no** (timings are noisy; ratios of interleaved runs hold better)"
    )
    load = (
        f"; load average {activity['load_at_start']:.2f} at the start"
        if activity.get("load_at_start")
        else ""
    )
    return (
        f"- Machine quiet: {verdict} — other processes used {100 * activity['others_share']:.0f} % of the CPUs "
        f"during the {activity['seconds'] / 60:.0f}-minute run{load}"
    )
