#!/usr/bin/env python3
"""Run a command and sample the resident memory of its whole process tree once a second (issue 22).

    python scripts/rss_tree.py [--interval S] [--log FILE] -- COMMAND ...

Reads /proc (Linux only, no psutil): every INTERVAL seconds the VmRSS of the command and of all its descendants
is summed. At the end it prints, on stderr, the peak of that sum and the largest single process's peak, with the
command's exit status passed through. ``--log`` writes one line per sample (seconds, total MB, largest MB, the
commands of the processes below). ``/usr/bin/time -v`` reports only the largest single process; a study that
converts in child processes needs both figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB; (0, 0) for a process that is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:100]
    except OSError:
        return "?"


def tree(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--log")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    started = time.monotonic()
    proc = subprocess.Popen(command)
    peak_total = peak_single = 0
    peak_who = ""
    log = open(args.log, "w") if args.log else None
    while True:
        done = proc.poll() is not None
        pids = tree(proc.pid) if not done else []
        sizes = [(_rss_kb(p), p) for p in pids]
        total = sum(rss for (rss, _), _ in sizes)
        if sizes:
            (_, hwm), pid = max(sizes, key=lambda s: s[0][1])
            if hwm > peak_single:
                peak_single, peak_who = hwm, _comm(pid)
            peak_total = max(peak_total, total)
            if log:
                big = max(sizes, key=lambda s: s[0][0])
                kids = " | ".join(_comm(p)[-60:] for p in pids[1:])
                log.write(f"{time.monotonic() - started:.1f}\t{total / 1024:.0f}\t{big[0][0] / 1024:.0f}\t"
                          f"{kids}\n")
                log.flush()
        if done:
            break
        time.sleep(args.interval)
    rc = proc.wait()
    print(f"rss_tree: {time.monotonic() - started:.1f} s; peak total RSS of the process tree (sampled every "
          f"{args.interval:g} s) {peak_total / 1024:.0f} MB; largest single process peak (VmHWM, sampled) "
          f"{peak_single / 1024:.0f} MB ({peak_who})", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
