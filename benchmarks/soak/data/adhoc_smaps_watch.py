"""Watch where a process's resident memory sits, by kind of anonymous mapping, every few seconds.

``[heap]`` is malloc's main arena; unnamed mappings of 8 MB and more are the other arenas'
heaps (glibc reserves 64 MB per heap) and thread stacks (8 MB each, mostly not resident),
smaller unnamed ones are the small-object allocator's 1 MiB arenas and malloc's own mmapped
blocks. Writes CSV until the process ends.

Usage: python adhoc_smaps_watch.py PID out.csv EVERY_S
"""

import re
import sys
import time
from pathlib import Path

HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")
BIG = 8 << 20


def snapshot(pid: int) -> dict[str, int]:
    """Resident MB per group, and how many big unnamed mappings there are."""
    groups = {"heap": 0, "big_anon": 0, "small_anon": 0, "n_big": 0}
    current = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        header = HEADER.match(line)
        if header:
            size = int(header.group(2), 16) - int(header.group(1), 16)
            name = header.group(3).strip()
            if name == "[heap]":
                current = "heap"
            elif name:
                current = None
            elif size >= BIG:
                current = "big_anon"
                groups["n_big"] += 1
            else:
                current = "small_anon"
            continue
        if current is not None and line.startswith("Rss:"):
            groups[current] += int(line.split()[1])
    return {k: (v if k == "n_big" else v // 1024) for k, v in groups.items()}


def main() -> None:
    pid, out, every = int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    began = time.monotonic()
    with out.open("w", buffering=1) as handle:
        handle.write("t_s,heap_mb,big_anon_mb(arenas+stacks),n_big,small_anon_mb\n")
        while True:
            try:
                s = snapshot(pid)
            except OSError:
                break
            elapsed = time.monotonic() - began
            handle.write(
                f"{elapsed:.0f},{s['heap']},{s['big_anon']},{s['n_big']},{s['small_anon']}\n"
            )
            time.sleep(every)


if __name__ == "__main__":
    main()
