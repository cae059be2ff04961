"""Throughput of load generators side by side: wrk, Locust FastHttpUser, vigil (old and new).

nginx (``nginx.conf``: one worker, 127.0.0.1 only, a 23-byte answer) runs pinned to core 0;
every generator runs in its own process pinned to core 1 with ``taskset``, for the same
duration, at each connection count, repeated, tools interleaved within each repetition so all
see the same neighbours. Prints one JSON line per run and a table of medians with the ratio of
each tool to Locust and to wrk.

``CPU µs/req`` is the generator process's user + system CPU time over its requests: much less
sensitive than req/s to other jobs sharing the machine (it includes Locust's start-up and
spawning, which its req/s also pays for).

Usage (from the repository root)::

    .venv/bin/python benchmarks/load/bench_generators.py --seconds 10 --repeats 3 \\
        --connections 50 1000

``client`` is the subcommand the benchmark runs for vigil's engines (one run, JSON out).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
NGINX_CONF = HERE / "nginx.conf"
NGINX_PORT = 18080
SERVER_CORE, CLIENT_CORE = "0", "1"
TOOLS = ("wrk", "locust", "vigil-aiohttp", "vigil")


def start_nginx(workdir: Path) -> subprocess.Popen[bytes]:
    """Start nginx on core 0 with the benchmark's configuration and wait until it answers."""
    (workdir / "tmp").mkdir(exist_ok=True)
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, "nginx", "-p", str(workdir), "-c", str(NGINX_CONF)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{NGINX_PORT}/ok", timeout=1) as answer:
                if answer.read() == b"vigil benchmark ok 23b\n":
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nginx did not answer on 127.0.0.1:{NGINX_PORT} within 10 s")


def _children_cpu_seconds() -> float:
    """User + system CPU of every finished child process so far (the generator's own cost)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pinned(command: list[str]) -> list[str]:
    return ["taskset", "-c", CLIENT_CORE, *command]


def run_wrk(url: str, connections: int, seconds: float) -> dict[str, float]:
    """One wrk run (one thread); its own req/s and latency percentiles."""
    done = subprocess.run(
        _pinned(
            [
                *("wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"),
                *("--latency", "--timeout", "10s", url),
            ]
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    figures: dict[str, float] = {}
    for line in done.stdout.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(words[1])
        elif len(words) == 2 and words[0] in ("50%", "99%"):
            figures[f"p{words[0][:-1]}_ms"] = _wrk_ms(words[1])
        elif "requests in" in line:
            figures["requests"] = float(words[0])
    return figures


def _wrk_ms(text: str) -> float:
    for unit, factor in (("us", 1e-3), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def run_locust(url: str, connections: int, seconds: float) -> dict[str, float]:
    """One headless Locust run of FastHttpUser with no wait (all users spawned at once)."""
    with tempfile.TemporaryDirectory() as folder:
        prefix = str(Path(folder) / "run")
        subprocess.run(
            _pinned(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "--only-summary",
                    "-u",
                    str(connections),
                    "-r",
                    str(connections),
                    "-t",
                    f"{seconds:g}s",
                    "--host",
                    url.rsplit("/", 1)[0],
                    "--csv",
                    prefix,
                    "--loglevel",
                    "ERROR",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 120,
        )
        with open(f"{prefix}_stats.csv", newline="") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return {
        "rps": float(row["Requests/s"]),
        "requests": float(row["Request Count"]),
        "errors": float(row["Failure Count"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


def run_vigil(engine: str, url: str, connections: int, seconds: float) -> dict[str, float]:
    """One run of vigil's current engine or of the old aiohttp one, in a pinned process."""
    done = subprocess.run(
        _pinned(
            [
                *(sys.executable, __file__, "client", "--engine", engine, "--url", url),
                *("--users", str(connections), "--seconds", str(seconds)),
            ]
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    return json.loads(done.stdout.splitlines()[-1])


def client(engine: str, url: str, users: int, seconds: float) -> None:
    """The ``client`` subcommand: one closed-model run with no think time, JSON on stdout."""
    sys.path.insert(0, str(HERE))
    from vigil.load import LoadProfileConfig, Scenario, Step

    base, path = url.rsplit("/", 1)
    profile = LoadProfileConfig(users=users, duration_seconds=seconds, request_timeout_seconds=10)
    scenario = Scenario(name="ok", steps=(Step(name="ok", path=f"/{path}"),))
    if engine == "vigil":
        from vigil.load import run_load
    else:
        from aiohttp_engine import run_load  # type: ignore[import-not-found]
    result = run_load(base, profile, scenario)
    print(
        json.dumps(
            {
                "rps": result.overall.throughput_rps,
                "requests": result.overall.count,
                "errors": result.overall.error_count,
                "p50_ms": result.overall.latency.p50_ms,
                "p99_ms": result.overall.latency.p99_ms,
            }
        )
    )


def main() -> None:
    """Run the comparison and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("client")
    one.add_argument("--engine", choices=["vigil", "vigil-aiohttp"], required=True)
    one.add_argument("--url", required=True)
    one.add_argument("--users", type=int, required=True)
    one.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[50, 1000])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    args = parser.parse_args()
    if args.command == "client":
        client(args.engine, args.url, args.users, args.seconds)
        return
    if shutil.which("nginx") is None or shutil.which("wrk") is None:
        raise SystemExit("nginx and wrk must be installed")
    url = f"http://127.0.0.1:{NGINX_PORT}/ok"
    rows: dict[tuple[str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        nginx = start_nginx(Path(workdir))
        try:
            for repeat in range(args.repeats):
                for connections in args.connections:
                    for tool in args.tools:
                        before = _children_cpu_seconds()
                        if tool == "wrk":
                            row = run_wrk(url, connections, args.seconds)
                        elif tool == "locust":
                            row = run_locust(url, connections, args.seconds)
                        else:
                            row = run_vigil(tool, url, connections, args.seconds)
                        cpu = _children_cpu_seconds() - before
                        row["cpu_us_per_request"] = round(cpu / max(row["requests"], 1) * 1e6, 2)
                        rows.setdefault((tool, connections), []).append(row)
                        record = {"tool": tool, "connections": connections, "repeat": repeat}
                        print(json.dumps(record | row), flush=True)
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    print(f"\nmedians of {args.repeats} runs of {args.seconds:g} s; nginx core 0, client core 1")
    print("| tool | connections | req/s | x Locust | x wrk | CPU µs/req | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for connections in args.connections:
        medians = {
            tool: statistics.median(r["rps"] for r in rows[(tool, connections)])
            for tool in args.tools
        }
        for tool in args.tools:
            measured = rows[(tool, connections)]
            locust, wrk = medians.get("locust"), medians.get("wrk")
            versus_locust = f"{medians[tool] / locust:.2f}" if locust else "-"
            versus_wrk = f"{medians[tool] / wrk:.3f}" if wrk else "-"
            p50 = statistics.median(r.get("p50_ms") or 0 for r in measured)
            p99 = statistics.median(r.get("p99_ms") or 0 for r in measured)
            cpu = statistics.median(r["cpu_us_per_request"] for r in measured)
            print(
                f"| {tool} | {connections} | {medians[tool]:.0f} | {versus_locust} "
                f"| {versus_wrk} | {cpu:.1f} | {p50:.2f} | {p99:.2f} |"
            )


if __name__ == "__main__":
    main()
