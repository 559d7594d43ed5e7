"""Where the cores went during a measurement: CPU seconds of process trees and the share of the
machine busy (Linux, psutil). Benchmarks print these beside their rates because on a shared
2-core machine CPU per unit of work is the figure that compares code versions."""

from __future__ import annotations

from typing import Any

import psutil


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process `pid` and its live descendants."""
    total = 0.0
    root = psutil.Process(pid)
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def machine_busy(before: Any, after: Any) -> float:
    """Share of all cores busy between two `psutil.cpu_times()` samples (0..1)."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    return round((total - idle) / max(total, 1e-9), 2)


class CpuShares:
    """CPU seconds of named process trees (and of the whole machine) between two moments; the
    calling process counts as "bots" without its children (the servers it started)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before = self._sample()

    def _sample(self) -> tuple[dict[str, float], Any]:
        own = psutil.Process().cpu_times()
        return ({name: tree_cpu(pid) for name, pid in self.pids.items()} | {"bots": own.user + own.system},
                psutil.cpu_times())

    def per_unit(self, count: int) -> tuple[dict[str, float], float]:
        """(µs of CPU per unit of work by process, share of all cores busy meanwhile)."""
        (before, machine), (after, machine_after) = self.before, self._sample()
        used = {name: round((after[name] - before[name]) / count * 1e6, 1) for name in after}
        return used, machine_busy(machine, machine_after)
