"""What vigil's fault proxy adds to a request's latency with no fault active.

A minimal HTTP server (``benchmarks/load/trivial_server.py``) and the fault proxy in
front of it run in their own processes; one client sends sequential keep-alive GETs,
alternating blocks of requests straight to the server and through the proxy, so both
paths see the same machine state. Each request is timed from the first byte written to
the whole answer read.

    .venv/bin/python benchmarks/faults/bench_proxy_overhead.py --requests 5000 --rounds 5

With ``--pin`` (default on when taskset exists) the client runs on CPU 0 and the
server and the proxy on CPU 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "benchmarks" / "load" / "trivial_server.py"
PROXY = """
import sys, time
from vigil.faults.proxy import FaultProxy
proxy = FaultProxy("127.0.0.1", int(sys.argv[1]))
proxy.start()
print("PORT", proxy.port, flush=True)
time.sleep(float(sys.argv[2]))
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
ANSWER_END = b"\r\n\r\nok"


def spawn(args: list[str], cpu: int | None) -> tuple[subprocess.Popen[str], int]:
    command = (["taskset", "-c", str(cpu)] if cpu is not None else []) + args
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    return process, int(line[1])


def timed_requests(port: int, count: int) -> list[float]:
    """Microseconds per request over one keep-alive connection."""
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            began = time.perf_counter_ns()
            sock.sendall(REQUEST)
            answer = b""
            while not answer.endswith(ANSWER_END):
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError("closed")
                answer += chunk
            times.append((time.perf_counter_ns() - began) / 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="Per path per round.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=250, help="Requests per alternating block.")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    pin = not args.no_pin and shutil.which("taskset") is not None and os.cpu_count() >= 2
    if pin:
        os.sched_setaffinity(0, {0})
    server, server_port = spawn([sys.executable, str(SERVER)], 1 if pin else None)
    proxy, proxy_port = spawn(
        [sys.executable, "-c", PROXY, str(server_port), "3600"], 1 if pin else None
    )
    try:
        timed_requests(server_port, 500)  # warm-up
        timed_requests(proxy_port, 500)
        medians = []
        for round_no in range(args.rounds):
            direct: list[float] = []
            proxied: list[float] = []
            for _ in range(args.requests // args.block):
                direct += timed_requests(server_port, args.block)
                proxied += timed_requests(proxy_port, args.block)
            d, p = statistics.median(direct), statistics.median(proxied)
            medians.append((d, p))
            q_d, q_p = statistics.quantiles(direct, n=100), statistics.quantiles(proxied, n=100)
            print(
                f"round {round_no + 1}: direct p50 {d:.0f} µs p99 {q_d[98]:.0f} µs | "
                f"proxy p50 {p:.0f} µs p99 {q_p[98]:.0f} µs | added p50 {p - d:.0f} µs"
            )
        added = statistics.median(p - d for d, p in medians)
        ratio = statistics.median(p / d for d, p in medians)
        print(f"python {platform.python_version()}, pinned: {pin}, load {os.getloadavg()}")
        print(
            f"median over rounds: direct {statistics.median(d for d, _ in medians):.0f} µs, "
            f"proxy {statistics.median(p for _, p in medians):.0f} µs, added {added:.0f} µs "
            f"(x{ratio:.2f}); under 1 ms: {added < 1000}"
        )
    finally:
        proxy.terminate()
        server.terminate()
        proxy.wait(10)
        server.wait(10)


if __name__ == "__main__":
    main()
