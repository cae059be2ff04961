"""How many requests per second the load generator can drive on this machine, vs httpx.

Starts ``trivial_server.py`` in its own process (so the server is not what limits), then runs
closed-model users with no think time against it, repeatedly, with:

* ``vigil``: :func:`vigil.load.run_load` (aiohttp + uvloop + HDR histograms), and
* ``httpx``: the same loop of users written over one ``httpx.AsyncClient`` on uvloop.

Prints one JSON line per repetition and a median table. Usage::

    .venv/bin/python benchmarks/load/bench_generator.py --repeats 5 --requests 20000 --users 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import uvloop

from vigil.load import LoadProfileConfig, Scenario, Step, run_load
from vigil.load.statistics import LatencySummary, new_histogram, record_latency

SERVER = Path(__file__).with_name("trivial_server.py")


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start the trivial server and return it with its base URL."""
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 15)
    if not ready or process.stdout is None:
        process.kill()
        raise RuntimeError("the trivial server did not start within 15 s")
    port = int(process.stdout.readline().split()[1])
    return process, f"http://127.0.0.1:{port}"


def run_vigil(base_url: str, users: int, requests: int) -> dict[str, float]:
    """One repetition with vigil's engine."""
    profile = LoadProfileConfig(
        users=users, duration_seconds=120, max_requests=requests, request_timeout_seconds=10
    )
    result = run_load(base_url, profile, Scenario(name="ok", steps=(Step(name="ok", path="/ok"),)))
    return {
        "requests": result.overall.count,
        "errors": result.overall.error_count,
        "seconds": result.measured_seconds,
        "rps": result.overall.throughput_rps,
        "p50_ms": result.overall.latency.p50_ms or 0.0,
        "p99_ms": result.overall.latency.p99_ms or 0.0,
    }


async def _httpx_run(base_url: str, users: int, requests: int) -> dict[str, float]:
    histogram = new_histogram()
    sent = 0
    errors = 0
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as client:

        async def user() -> None:
            nonlocal sent, errors
            while sent < requests:
                sent += 1
                start = time.perf_counter()
                try:
                    response = await client.get(f"{base_url}/ok")
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                record_latency(histogram, (time.perf_counter() - start) * 1e6)

        began = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(user() for _ in range(users))), timeout=300)
        seconds = time.perf_counter() - began
    summary = LatencySummary.of(histogram)
    count = histogram.get_total_count()
    return {
        "requests": count,
        "errors": errors,
        "seconds": round(seconds, 3),
        "rps": round(count / seconds, 3),
        "p50_ms": summary.p50_ms or 0.0,
        "p99_ms": summary.p99_ms or 0.0,
    }


def run_httpx(base_url: str, users: int, requests: int) -> dict[str, float]:
    """One repetition with the httpx baseline."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_httpx_run(base_url, users, requests))


def main() -> None:
    """Run the comparison and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--httpx-requests", type=int, default=None, help="default: --requests")
    args = parser.parse_args()
    process, base_url = start_server()
    rows: dict[str, list[dict[str, float]]] = {"vigil": [], "httpx": []}
    me = psutil.Process()
    try:
        for repeat in range(args.repeats):
            for engine in ("vigil", "httpx"):
                cpu_before = sum(me.cpu_times()[:2])
                if engine == "vigil":
                    row = run_vigil(base_url, args.users, args.requests)
                else:
                    row = run_httpx(base_url, args.users, args.httpx_requests or args.requests)
                cpu = sum(me.cpu_times()[:2]) - cpu_before
                row["client_cpu_us_per_request"] = round(cpu / max(row["requests"], 1) * 1e6, 1)
                rows[engine].append(row)
                print(json.dumps({"engine": engine, "repeat": repeat, **row}), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"\nmedians over {args.repeats} repetitions, {args.users} users, no think time")
    print("| engine | req/s | client CPU µs/request | p50 ms | p99 ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for engine, measured in rows.items():
        print(
            f"| {engine} | {statistics.median(r['rps'] for r in measured):.0f} "
            f"| {statistics.median(r['client_cpu_us_per_request'] for r in measured):.0f} "
            f"| {statistics.median(r['p50_ms'] for r in measured):.2f} "
            f"| {statistics.median(r['p99_ms'] for r in measured):.2f} "
            f"| {sum(r['errors'] for r in measured):.0f} |"
        )


if __name__ == "__main__":
    main()
