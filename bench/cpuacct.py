"""CPU accounting for benchmarks on Linux: CPU seconds used by a process tree and by PostgreSQL,
read from /proc (utime + stime), so a figure can be turned into CPU time per request."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces
    return [raw[:raw.index(" ")], raw[raw.index("(") + 1:raw.rindex(")")], *raw[raw.rindex(")") + 2:].split()]


Procs = list[tuple[int, int, str, float]]


def snapshot() -> Procs:
    """(pid, ppid, comm, cpu seconds) of every process: read once, then ask several questions of it."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = _stat(int(d))
            if f is not None:
                # own user + system time, plus that of children already reaped (a backend that exited)
                out.append((int(d), int(f[3]), f[1], sum(int(x) for x in f[13:17]) / TICK))
    return out


def tree_cpu(root: int, procs: Procs) -> float:
    """CPU seconds of a process and all its descendants (alive now)."""
    kids: dict[int, list[int]] = {}
    for pid, ppid, _c, _t in procs:
        kids.setdefault(ppid, []).append(pid)
    cpu = {pid: t for pid, _p, _c, t in procs}
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(kids.get(p, []))
    return total


def postgres_cpu(procs: Procs) -> float:
    """CPU seconds of the PostgreSQL server processes on this machine (backends, background workers, and
    through the postmaster's reaped-children time, backends that exited). The bench machine runs one
    cluster; on a machine with several, this counts them all."""
    return sum(t for _p, _pp, comm, t in procs if comm.startswith("postgres"))
