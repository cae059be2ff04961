"""Latency truth: what each client reports for a server of known service time.

``trivial_server.py --service-us N`` busy-waits exactly N µs before each answer and runs pinned
to core 0. On core 1, one connection at a time, sequential requests, each client measures the
same server in turn, rounds interleaved:

* ``plain`` -- the independent instrument: a blocking socket with ``time.perf_counter()``
  around ``sendall`` and the ``recv`` that completes the answer; nothing else on the path;
* ``vigil`` -- vigil's engine (closed model, one user);
* ``vigil-aiohttp`` -- the previous aiohttp engine (``aiohttp_engine.py``);
* ``wrk`` -- ``wrk -t1 -c1 --latency``, a second third-party reference.

Prints one JSON line per run and a table of median p50/p99 with the difference to ``plain``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/load/bench_latency_truth.py --service-us 1500 200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "trivial_server.py"
SERVER_CORE, CLIENT_CORE = "0", "1"
CLIENTS = ("plain", "vigil", "vigil-aiohttp", "wrk")


def start_server(service_us: float) -> tuple[subprocess.Popen[str], int]:
    """The trivial server with the given service time, pinned to core 0, and its port."""
    process = subprocess.Popen(
        [
            "taskset",
            "-c",
            SERVER_CORE,
            sys.executable,
            str(SERVER),
            "--service-us",
            str(service_us),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 15)
    if not ready or process.stdout is None:
        process.kill()
        raise RuntimeError("the trivial server did not start within 15 s")
    return process, int(process.stdout.readline().split()[1])


def plain_client(port: int, requests: int) -> dict[str, float]:
    """The independent instrument: blocking socket, perf_counter, percentiles by sorting."""
    request = f"GET /ok HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    latencies = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(requests):
            began = time.perf_counter()
            sock.sendall(request)
            answer = b""
            while not answer.endswith(b"\r\n\r\nok"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the connection")
                answer += chunk
            latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    return {
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "requests": len(latencies),
    }


def engine_client(engine: str, port: int, requests: int) -> dict[str, float]:
    """One closed-model user of vigil's current or previous engine."""
    sys.path.insert(0, str(HERE))
    from vigil.load import LoadProfileConfig, Scenario, Step

    if engine == "vigil":
        from vigil.load import run_load
    else:
        from aiohttp_engine import run_load  # type: ignore[import-not-found]
    profile = LoadProfileConfig(users=1, duration_seconds=120, max_requests=requests)
    result = run_load(
        f"http://127.0.0.1:{port}",
        profile,
        Scenario(name="ok", steps=(Step(name="ok", path="/ok"),)),
    )
    latency = result.overall.latency
    return {"p50_ms": latency.p50_ms, "p99_ms": latency.p99_ms, "requests": result.overall.count}


def wrk_client(port: int, seconds: float) -> dict[str, float]:
    """wrk with one connection; its reported percentiles."""
    done = subprocess.run(
        [
            "taskset",
            "-c",
            CLIENT_CORE,
            "wrk",
            "-t1",
            "-c1",
            f"-d{seconds:g}s",
            "--latency",
            f"http://127.0.0.1:{port}/ok",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    figures: dict[str, float] = {}
    for line in done.stdout.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("50%", "99%"):
            value = words[1]
            for unit, factor in (("us", 1e-3), ("ms", 1.0), ("s", 1000.0)):
                if value.endswith(unit):
                    figures[f"p{words[0][:-1]}_ms"] = float(value[: -len(unit)]) * factor
                    break
    return figures


def run_client(name: str, port: int, requests: int) -> dict[str, float]:
    """One client's run in its own process pinned to core 1."""
    if name == "wrk":
        return wrk_client(port, 3.0)
    done = subprocess.run(
        [
            "taskset",
            "-c",
            CLIENT_CORE,
            sys.executable,
            __file__,
            "client",
            name,
            str(port),
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    """Run every client against each service time and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("client")
    one.add_argument("name", choices=["plain", "vigil", "vigil-aiohttp"])
    one.add_argument("port", type=int)
    one.add_argument("requests", type=int)
    parser.add_argument("--service-us", type=float, nargs="+", default=[1500.0, 200.0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.command == "client":
        if args.name == "plain":
            row = plain_client(args.port, args.requests)
        else:
            row = engine_client(args.name, args.port, args.requests)
        print(json.dumps(row))
        return
    table: list[str] = []
    for service_us in args.service_us:
        process, port = start_server(service_us)
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in CLIENTS}
        try:
            plain_client(port, 200)  # warm the server
            for repeat in range(args.repeats):
                for name in CLIENTS:
                    row = run_client(name, port, args.requests)
                    rows[name].append(row)
                    record = {"service_us": service_us, "client": name, "repeat": repeat}
                    print(json.dumps(record | row), flush=True)
        finally:
            process.terminate()
            process.wait(timeout=10)
        truth50 = statistics.median(r["p50_ms"] for r in rows["plain"])
        truth99 = statistics.median(r["p99_ms"] for r in rows["plain"])
        for name in CLIENTS:
            p50 = statistics.median(r["p50_ms"] for r in rows[name])
            p99 = statistics.median(r["p99_ms"] for r in rows[name])
            off50 = (p50 - truth50) / truth50 * 100
            off99 = (p99 - truth99) / truth99 * 100
            table.append(
                f"| {service_us / 1000:g} ms | {name} | {p50:.3f} | {p99:.3f} "
                f"| {off50:+.1f} % | {off99:+.1f} % |"
            )
    print(f"\nmedians of {args.repeats} rounds of {args.requests} sequential requests")
    print("| service time | client | p50 ms | p99 ms | p50 vs plain | p99 vs plain |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
