import re, sys, time
from pathlib import Path
HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")
def snap(pid):
    out = {"heap": 0, "big_anon": 0, "small_anon": 0, "stack_like": 0, "n_big": 0}
    cur = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        m = HEADER.match(line)
        if m:
            size = int(m.group(2), 16) - int(m.group(1), 16)
            name = m.group(3).strip()
            if name == "[heap]": cur = "heap"
            elif name: cur = None
            elif size >= 8 << 20: cur = "big_anon"; out["n_big"] += 1
            else: cur = "small_anon"
            continue
        if cur and line.startswith("Rss:"):
            out[cur] += int(line.split()[1]) // 1024
    return out
pid, path, every = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
t0 = time.monotonic()
with open(path, "w", buffering=1) as f:
    f.write("t_s,heap_mb,big_anon_mb(thread arenas),n_big,small_anon_mb\n")
    while True:
        try: s = snap(pid)
        except OSError: break
        f.write(f"{time.monotonic()-t0:.0f},{s['heap']},{s['big_anon']},{s['n_big']},{s['small_anon']}\n")
        time.sleep(every)
