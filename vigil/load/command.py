"""``vigil load URL``: drive HTTP load at one URL from the shell, like wrk, with exact statistics.

Closed model with ``--users N`` (the default, 50 users), open model with ``--rate R`` arrivals per
second (``--users`` is then the in-flight cap). ``--workers N`` runs N processes and merges their
HDR histograms exactly. Live progress goes to stderr each second on a terminal (or with
``--progress``); the summary goes to stdout, as text or, with ``--json``, as one JSON object.

This module must stay light: it imports neither Prefect nor Great Expectations.

Exit codes: 0 the run completed (whatever the target answered), 2 bad arguments or a target
outside the allowed hosts (nothing was sent), 3 the run itself failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from pydantic import ValidationError

from vigil.errors import ConfigError, RunError
from vigil.load.config import LOOPBACK_HOSTS, LoadProfileConfig, check_target_allowed

if TYPE_CHECKING:  # the parser is built for every `vigil` command: keep numpy out of it
    from vigil.load.scenario import Scenario
    from vigil.load.statistics import LoadProgress, LoadResult

EXIT_OK, EXIT_USAGE, EXIT_RUN_FAILED = 0, 2, 3
DEFAULT_USERS = 50


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``load`` on the `vigil` command's subparsers and return its parser.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="send HTTP load to one URL and print wrk-like statistics",
        description="Send HTTP load to URL (loopback only unless --allow-host) and report "
        "throughput and latency percentiles measured at microsecond resolution.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (also used by ``python -m vigil.load.command``)."""
    parser.add_argument("url", help="the URL to load, e.g. http://127.0.0.1:8080/predict")
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--users",
        type=int,
        help=f"closed model: concurrent users, one keep-alive connection each (default "
        f"{DEFAULT_USERS})",
    )
    model.add_argument("--rate", type=float, help="open model: requests started per second")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=None,
        help="open model: most requests in flight (default 1000)",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds to run (default %(default)s)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes, histograms merged (default 1)"
    )
    parser.add_argument(
        "--method",
        default="GET",
        choices=["GET", "POST", "PUT", "PATCH", "DELETE"],
        help="HTTP method (default GET)",
    )
    parser.add_argument("--body", help="JSON body to send with every request")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="request timeout in seconds (default 10)"
    )
    parser.add_argument("--max-requests", type=int, default=None, help="stop after this many")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds not measured")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also allow this host name or IP network (loopback is always allowed)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="live progress on stderr each second (default: when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``vigil load`` with parsed arguments; returns the exit code.

    Args:
        args: The namespace :func:`add_arguments` defined.
    """
    try:
        base_url, scenario, profile = _plan(args)
    except ConfigError as exc:
        print(f"vigil load: {exc}", file=sys.stderr)
        return EXIT_USAGE
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    progress = _ProgressPrinter(sys.stderr) if show_progress else None
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        result = _execute(base_url, profile, scenario, args.workers, stop, progress)
    except ConfigError as exc:
        print(f"vigil load: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as exc:
        print(f"vigil load: the run failed: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps(summary_of(result, args.url, args.workers)))
    else:
        print(format_summary(result, args.url, args.workers))
    return EXIT_OK


def _plan(args: argparse.Namespace) -> tuple[str, Scenario, LoadProfileConfig]:
    """Validate the arguments into a base URL, a one-step scenario and a profile."""
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"URL {args.url!r} is not an http(s) URL; give e.g. http://127.0.0.1:8080/"
        )
    base_url = f"{parts.scheme}://{parts.netloc}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    allow = (*LOOPBACK_HOSTS, *args.allow_host)
    check_target_allowed(base_url, allow)
    body = None
    if args.body is not None:
        try:
            body = json.loads(args.body)
        except ValueError as exc:
            raise ConfigError(f"--body is not JSON: {exc}") from exc
    if not 1 <= args.workers <= 64:
        raise ConfigError(f"--workers must be between 1 and 64, got {args.workers}")
    fields: dict[str, Any] = {
        "duration_seconds": args.duration,
        "request_timeout_seconds": args.timeout,
        "warmup_seconds": args.warmup,
        "progress_interval_seconds": 1.0,
        "allow_hosts": allow,
    }
    if args.max_requests is not None:
        fields["max_requests"] = args.max_requests
    if args.rate is not None:
        fields["arrival_rate"] = args.rate
        fields["users"] = args.in_flight or 1000
    else:
        if args.in_flight is not None:
            raise ConfigError("--in-flight applies to the open model only; add --rate R")
        fields["users"] = DEFAULT_USERS if args.users is None else args.users
    try:
        profile = LoadProfileConfig.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid arguments: {problems}") from exc
    if args.workers > profile.users:
        raise ConfigError(
            f"--workers ({args.workers}) exceeds the users ({profile.users}); use fewer workers"
        )
    from vigil.load.scenario import Scenario, Step

    step = Step(
        name="request",
        method=args.method,
        path=path,
        json_body=None if body is None else (lambda _iteration: body),
    )
    return base_url, Scenario(name="load", steps=(step,)), profile


def _execute(
    base_url: str,
    profile: LoadProfileConfig,
    scenario: Scenario,
    workers: int,
    stop: threading.Event,
    progress: _ProgressPrinter | None,
) -> LoadResult:
    from vigil.load.engine import run_load
    from vigil.load.shards import run_load_sharded

    if workers == 1:
        return run_load(base_url, profile, scenario, stop_event=stop, progress=progress)
    return run_load_sharded(
        base_url,
        profile,
        lambda _shard: scenario,
        shards=workers,
        stop_event=stop,
        progress=progress,
    )


class _ProgressPrinter:
    """Writes one line per progress report: elapsed, req/s, p95, errors."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, report: LoadProgress) -> None:
        p95 = "-" if report.interval_p95_ms is None else f"{report.interval_p95_ms:.3f} ms"
        late = ""
        if report.late_sends or report.dropped_sends:
            late = f"  late {report.late_sends}  dropped {report.dropped_sends}"
        print(
            f"[{report.elapsed_seconds:7.1f} s] {report.interval_rps:10.1f} req/s  p95 {p95}  "
            f"requests {report.requests}  errors {report.errors}{late}",
            file=self._stream,
            flush=True,
        )


def summary_of(result: LoadResult, url: str, workers: int) -> dict[str, Any]:
    """The JSON summary of a run (what ``--json`` prints)."""
    overall = result.overall
    latency = overall.latency
    return {
        "url": url,
        "model": result.model.value,
        "users": result.users,
        "workers": workers,
        "duration_seconds": result.measured_seconds,
        "stop_reason": result.stop_reason.value,
        "requests": overall.count,
        "errors": overall.error_count,
        "error_kinds": overall.errors,
        "status_codes": overall.status_codes,
        "throughput_rps": overall.throughput_rps,
        "p50_ms": latency.p50_ms,
        "p90_ms": latency.p90_ms,
        "p95_ms": latency.p95_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
        "min_ms": latency.min_ms,
        "mean_ms": latency.mean_ms,
        "late_sends": result.late_sends,
        "dropped_sends": result.dropped_sends,
        "cancelled": result.cancelled,
        "histogram": overall.histogram,
    }


def format_summary(result: LoadResult, url: str, workers: int) -> str:
    """A wrk-like text summary of a run."""
    overall = result.overall
    latency = overall.latency

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}ms"

    mode = (
        f"{result.users} users (closed model)"
        if result.model.value == "closed"
        else f"open model, at most {result.users} in flight"
    )
    share = overall.error_count / overall.count * 100 if overall.count else 0.0
    statuses = ", ".join(f"{code}: {n}" for code, n in overall.status_codes.items()) or "-"
    lines = [
        f"{result.measured_seconds:.2f}s load @ {url}",
        f"  {mode}, {workers} worker{'s' if workers != 1 else ''}, stopped by "
        f"{result.stop_reason.value}",
        "  Latency     p50        p90        p95        p99        max",
        f"           {ms(latency.p50_ms):>10} {ms(latency.p90_ms):>10} {ms(latency.p95_ms):>10} "
        f"{ms(latency.p99_ms):>10} {ms(latency.max_ms):>10}",
        f"  {overall.count} requests in {result.measured_seconds:.2f}s, "
        f"{overall.error_count} errors ({share:.2f}%)",
        f"  Status codes: {statuses}",
    ]
    if overall.errors:
        lines.append("  Errors: " + ", ".join(f"{k}: {n}" for k, n in overall.errors.items()))
    if result.model.value == "open":
        lines.append(f"  Late sends: {result.late_sends}  Dropped sends: {result.dropped_sends}")
    if result.cancelled:
        lines.append(f"  Cancelled at the stop: {result.cancelled}")
    lines.append(f"Requests/sec: {overall.throughput_rps:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m vigil.load.command URL ...``: the same command without the `vigil` CLI."""
    parser = argparse.ArgumentParser(prog="vigil load", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
