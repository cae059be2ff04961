"""Where a process's resident memory is, by kind of mapping (/proc/PID/smaps).

Anonymous mappings without a name are the small-object allocator's arenas, large blocks
that malloc maps on its own, and thread stacks; ``[heap]`` is malloc's main arena; ``file``
is code and data mapped from files. Usage: python adhoc_smaps_groups.py PID
"""

import collections
import re
import sys
from pathlib import Path

HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")


def main() -> None:
    groups: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    current: list[int] | None = None
    for line in Path(f"/proc/{sys.argv[1]}/smaps").read_text().splitlines():
        header = HEADER.match(line)
        if header:
            name = header.group(3).strip()
            if not name:
                key = "anon (pymalloc arenas, mmapped blocks, stacks)"
            else:
                key = "file" if name.startswith("/") else name
            current = groups[key]
            current[0] += 1
            current[3] += int(header.group(2), 16) - int(header.group(1), 16)
            continue
        field, _, value = line.partition(":")
        if current is not None and field in ("Rss", "Anonymous"):
            current[1 if field == "Rss" else 2] += int(value.split()[0])
    ranked = sorted(groups.items(), key=lambda item: -item[1][1])
    for key, (count, rss, anon, size) in ranked[:4]:
        print(
            f"{key:48s} n={count:5d} size={size / 2**20:9.1f} MB "
            f"rss={rss / 1024:8.1f} MB anon={anon / 1024:8.1f} MB"
        )


if __name__ == "__main__":
    main()
