"""Memory of a process tree, sampled from /proc while it runs (Linux only).

`tv5 bench` launches `dagster asset materialize` and wants each step's peak memory. The
multiprocess executor runs every step in its own spawned process, a child of the CLI process, and
a step may start children of its own (loader workers), so the sampler walks the whole tree on every
tick. `ru_maxrss` cannot do this: it reports one process, or the largest child, never a sum.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def parent_pids(proc: Path = PROC) -> dict[int, int]:
    """pid -> parent pid of every process visible now (a process that exits mid-read is skipped)."""
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: split after its last ')'
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def tree_pids(root: int, parents: Mapping[int, int]) -> list[int]:
    """`root` and all its descendants (children of children too), parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    order, stack = [], [root]
    while stack:
        pid = stack.pop()
        order.append(pid)
        stack.extend(children.get(pid, ()))
    return order


def rss_kb(pid: int, proc: Path = PROC) -> int | None:
    """VmRSS of `pid` in KiB; None when the process is gone (or a zombie, which has no VmRSS)."""
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def meminfo_kb(proc: Path = PROC) -> dict[str, int]:
    """/proc/meminfo as name -> KiB."""
    values: dict[str, int] = {}
    for line in (proc / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0])
    return values


def system_used_kb(proc: Path = PROC) -> int:
    """Memory in use on the whole machine (MemTotal - MemAvailable): every process, services included."""
    info = meminfo_kb(proc)
    return info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))


def subtree_sums(pids: Iterable[int], parents: Mapping[int, int], rss: Mapping[int, int]) -> dict[int, int]:
    """pid -> RSS of that process plus all its descendants, for the pids of one tree (parents first)."""
    ordered = list(pids)
    sums = {pid: rss.get(pid, 0) for pid in ordered}
    for pid in reversed(ordered):  # children before parents
        parent = parents.get(pid)
        if parent in sums and pid != parent:
            sums[parent] += sums[pid]
    return sums


@dataclass
class MemoryPeaks:
    """What the sampler saw: per-pid peaks, the tree's peak sum and the machine's peak use (KiB)."""

    root_pid: int
    interval_s: float
    samples: int = 0
    peak_rss_kb: dict[int, int] = field(default_factory=dict)
    peak_subtree_kb: dict[int, int] = field(default_factory=dict)
    peak_tree_kb: int = 0
    system_used_before_kb: int = 0
    peak_system_used_kb: int = 0

    def record(self, parents: Mapping[int, int], rss: Mapping[int, int], pids: list[int], system_kb: int) -> None:
        """Fold one sample into the peaks."""
        self.samples += 1
        for pid, kb in rss.items():
            self.peak_rss_kb[pid] = max(kb, self.peak_rss_kb.get(pid, 0))
        for pid, kb in subtree_sums(pids, parents, rss).items():
            self.peak_subtree_kb[pid] = max(kb, self.peak_subtree_kb.get(pid, 0))
        self.peak_tree_kb = max(self.peak_tree_kb, sum(rss.values()))
        self.peak_system_used_kb = max(self.peak_system_used_kb, system_kb)


class TreeSampler:
    """A daemon thread that samples the RSS of `root_pid`'s process tree every `interval_s`.

    Use as a context manager around the child's lifetime; `peaks` holds the result. One sample is
    taken on entry and one on exit, so even a short-lived tree is seen at least twice.
    """

    def __init__(self, root_pid: int, interval_s: float = 0.5, proc: Path = PROC):
        self.proc = proc
        self.peaks = MemoryPeaks(root_pid=root_pid, interval_s=interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tv5-rss-sampler", daemon=True)

    def sample(self) -> None:
        parents = parent_pids(self.proc)
        pids = tree_pids(self.peaks.root_pid, parents)
        rss = {pid: kb for pid in pids if (kb := rss_kb(pid, self.proc)) is not None}
        self.peaks.record(parents, rss, pids, system_used_kb(self.proc))

    def _loop(self) -> None:
        while not self._stop.wait(self.peaks.interval_s):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self.peaks.system_used_before_kb = system_used_kb(self.proc)
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
