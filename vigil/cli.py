"""The `vigil` command.

Exit codes (the contract CI relies on):

    0  every criterion passed
    1  a criterion failed, or one was not evaluated (the verdict is incomplete)
    2  invalid configuration or usage; nothing ran
    3  infrastructure error: the target would not start, the store is unreachable, ...
  130  interrupted (Ctrl-C or SIGTERM); the target was stopped, the run marked incomplete

Heavy libraries (Prefect, Great Expectations) are imported only by the
commands that need them, so `--help` and `config check` answer at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError, RunError, VigilError
from vigil.load import command as load_command

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INFRA, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Validate a continuous-learning service: load, faults, learning, readiness.",
        epilog="Exit codes: 0 passed, 1 failed or incomplete, 2 bad configuration or usage, "
        "3 infrastructure error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"vigil {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("validate", help="run the profile's suites and judge the criteria")
    _config_options(run)
    run.add_argument("--report-dir", type=Path, help="reports folder (default: from the config)")
    run.add_argument(
        "--suite",
        action="append",
        dest="suites",
        metavar="SUITE",
        help="run only this suite (repeatable)",
    )

    config = commands.add_parser("config", help="inspect the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_commands.add_parser("check", help="validate and print the merged configuration")
    check.add_argument("file", nargs="?", type=Path, help="vigil.yaml (default: ./vigil.yaml)")
    check.add_argument(
        "--profile", default="development", help="profile to merge (default: %(default)s)"
    )

    runs = commands.add_parser("runs", help="list and show recorded runs")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = runs_commands.add_parser("list", help="the most recent runs")
    _config_options(listing)
    listing.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    show = runs_commands.add_parser("show", help="one run's verdict, criteria and checks")
    _config_options(show)
    show.add_argument("run_id", help="run id (a unique prefix is enough)")
    show.add_argument("--json", action="store_true", help="print report.json's content")

    report = commands.add_parser("report", help="write a recorded run's reports again")
    _config_options(report)
    report.add_argument("run_id", help="run id (a unique prefix is enough)")
    report.add_argument("--report-dir", type=Path, help="folder to write into")

    _soak_parser(commands)

    target = commands.add_parser("target", help="the built-in reference service")
    target_commands = target.add_subparsers(dest="target_command", required=True, metavar="ACTION")
    serve = target_commands.add_parser(
        "serve", help="run the reference service in the foreground (python -m reference)"
    )
    serve.add_argument("args", nargs=argparse.REMAINDER, help="passed to python -m reference")
    load_command.add_parser(commands)
    return parser


def _config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="vigil.yaml (default: ./vigil.yaml if present)")
    parser.add_argument("--profile", default="development", help="profile (default: %(default)s)")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vigil")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "config":
            return _config_check(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "report":
            return _report(args)
        if args.command == "target":
            return _serve(args)
        if args.command == "load":
            return load_command.run(args)
        if args.command == "soak":
            return _soak(args)
    except ConfigError as exc:
        print(f"vigil: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as exc:
        print(f"vigil: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INFRA
    except VigilError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return EXIT_INFRA
    return EXIT_USAGE


def _config_check(args: argparse.Namespace) -> int:
    import yaml

    from vigil.config import load_config

    config = load_config(args.file, args.profile)
    print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
    print(f"# configuration valid (profile {config.profile})", file=sys.stderr)
    return EXIT_OK


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every `finally` (target stop) runs."""

    def _raise(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, _raise)


def _prefect_defaults() -> None:
    """Settings for Prefect's temporary server that suit a busy CI machine with no internet."""
    # The default 20 s start-up budget is often too short on a loaded 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _validate(args: argparse.Namespace) -> int:
    from vigil.config import load_config
    from vigil.suites import check_suite_names

    # Validate before anything starts: a bad file or suite name costs no server start-up.
    config = load_config(args.config, args.profile)
    suites = check_suite_names(args.suites) if args.suites else None
    print(
        f"vigil: validating target {config.target.name!r} ({config.target.kind}) with profile "
        f"{config.profile}; starting Prefect...",
        file=sys.stderr,
        flush=True,
    )
    _interrupt_on_sigterm()
    _prefect_defaults()
    from flows.validate import validate

    try:
        state = validate(
            profile=config.profile,
            config_path=str(args.config) if args.config else None,
            report_dir=str(args.report_dir) if args.report_dir else None,
            suites=suites,
            config=config,
            return_state=True,
        )
    except KeyboardInterrupt:
        print(
            "vigil: interrupted; the target was stopped and the run marked incomplete",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    summary = state.result(raise_on_failure=False)
    if isinstance(summary, BaseException):
        raise summary
    from vigil.criteria import EXIT_CODES
    from vigil.report.model import build_run_report
    from vigil.report.summary import render_summary
    from vigil.store import open_store

    print("\n" + render_summary(build_run_report(open_store(config.store), summary.run_id)))
    print(f"Reports: {summary.report_dir}")
    return EXIT_CODES[summary.verdict]


def _open_store(args: argparse.Namespace) -> Any:
    from vigil.config import load_config
    from vigil.store import open_store

    config = load_config(args.config, args.profile, check_secrets=False)
    store = open_store(config.store)
    store.reap_abandoned()
    return store, config


def _runs(args: argparse.Namespace) -> int:
    store, _ = _open_store(args)
    if args.runs_command == "list":
        runs = store.list_runs(limit=args.limit)
        if not runs:
            print("no runs recorded yet; `vigil validate` makes one")
            return EXIT_OK
        print(f"{'run id':<24} {'profile':<12} {'status':<11} {'verdict':<11} started (UTC)")
        for run in runs:
            print(
                f"{run.id:<24} {run.profile:<12} {run.status:<11} {run.verdict or '-':<11} "
                f"{run.started_at:%Y-%m-%d %H:%M:%S}"
            )
        return EXIT_OK
    from vigil.report.model import build_run_report
    from vigil.report.summary import render_summary
    from vigil.store import SoakCheckpoints

    run_id = store.get_run(args.run_id).id
    report = build_run_report(store, run_id)
    if args.json:
        print(report.model_dump_json(indent=2))
        return EXIT_OK
    checkpoints = SoakCheckpoints(store)
    if checkpoints.get(run_id) is not None:
        # A soak: its progress first, as `vigil soak status` shows it (it may still be running).
        _soak_status(checkpoints, run_id)
        print()
    print(render_summary(report, all_checks=True))
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from vigil.report import write_reports

    store, config = _open_store(args)
    run = store.get_run(args.run_id)
    folder = args.report_dir or Path(run.report_dir or config.reports.dir / run.id)
    for path in write_reports(store, run.id, folder):
        print(path)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    extra = [a for a in args.args if a != "--"]
    os.execv(sys.executable, [sys.executable, "-m", "reference", *extra])
    return EXIT_OK  # not reached: execv replaces this process


def _soak_parser(commands: Any) -> None:
    soak = commands.add_parser(
        "soak", help="run (or resume) a soak: cycles of load and faults for hours"
    )
    _config_options(soak)
    soak.add_argument("--duration", help="soak length, e.g. 90s, 30m, 72h (default: profile's)")
    soak.add_argument("--soak-id", help="resume the soak with this id (default: a new soak)")
    soak_commands = soak.add_subparsers(dest="soak_command", required=False, metavar="ACTION")
    status = soak_commands.add_parser("status", help="progress and latest figures of a soak")
    _config_options(status)
    status.add_argument("soak_id", help="soak id")


def _duration_s(text: str) -> float:
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise ConfigError(
            f"--duration {text!r} is not a duration; write e.g. 90s, 30m, 72h or 3d"
        ) from None


def _restart_with_system_malloc(argv: Sequence[str]) -> None:
    """Run this soak again in a fresh interpreter on glibc's malloc instead of Python's own.

    Python's small-object allocator frees a 1 MiB arena only once every object in it is gone, and
    over a soak a few long-lived objects hold more and more of them open: +5.6 MB/h under
    ``vigil soak``, against +0.75 MB/h with ``PYTHONMALLOC=malloc`` in the same run
    (``benchmarks/soak/RESULTS.md``, run 8). The variable only works from the interpreter's
    start, hence the restart (same process id, same arguments). A ``PYTHONMALLOC`` already set,
    to any value, is left alone: ``PYTHONMALLOC=pymalloc`` keeps Python's allocator.
    """
    from vigil.soak.heap import VIGIL_ONLY_MARK, forget_vigil_only_allocator, glibc_malloc

    if forget_vigil_only_allocator():
        return  # restarted: the target and Prefect's server get the user's environment back
    if "PYTHONMALLOC" in os.environ or not glibc_malloc():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the working folder does not go first on sys.path, as with the `vigil` script.
    os.execve(
        sys.executable,
        [sys.executable, "-P", "-m", "vigil", *argv],
        {**os.environ, "PYTHONMALLOC": "malloc", VIGIL_ONLY_MARK: "PYTHONMALLOC"},
    )


def _soak(args: argparse.Namespace) -> int:
    from vigil.config import load_config
    from vigil.store import SoakCheckpoints, open_store

    if args.soak_command == "status":
        config = load_config(args.config, args.profile, check_secrets=False)
        return _soak_status(SoakCheckpoints(open_store(config.store)), args.soak_id)
    config = load_config(args.config, args.profile)
    duration_s = _duration_s(args.duration) if args.duration else None
    if duration_s is not None:
        from pydantic import ValidationError

        from vigil.soak.config import SoakSuiteConfig

        try:
            SoakSuiteConfig.model_validate(
                {**config.suites.soak.model_dump(), "duration_s": duration_s}
            )
        except ValidationError as exc:
            raise ConfigError(f"--duration {args.duration}: {exc.errors()[0]['msg']}") from None
    _restart_with_system_malloc(args.argv)
    from vigil.run import new_run_id

    soak_id = args.soak_id or new_run_id()
    settings = config.suites.soak
    print(
        f"vigil: soak {soak_id}: {duration_s or settings.duration_s:g} s in cycles of "
        f"{settings.cycle_s:g} s against {config.target.name!r}; starting Prefect...",
        file=sys.stderr,
        flush=True,
    )
    _interrupt_on_sigterm()
    # Before Prefect starts its threads, so that they share the soak's two malloc arenas too.
    from vigil.soak.heap import tune_malloc

    tune_malloc()
    _prefect_defaults()
    from flows.soak_run import soak_run

    try:
        state = soak_run(
            profile=config.profile,
            soak_id=soak_id,
            duration_s=duration_s,
            config=config,
            return_state=True,
        )
    except KeyboardInterrupt:
        print(f"vigil: interrupted; resume with --soak-id {soak_id}", file=sys.stderr)
        return EXIT_INTERRUPTED
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    from vigil.results import Status
    from vigil.suites import SUITES

    for check in result.checks:
        print(f"  {check.status.value:<14} {check.name}: {check.message}")
    for measurement in result.measurements:
        unit = SUITES["soak"].measure(measurement.name)
        print(f"  {measurement.name} = {measurement.value:.6g} {unit.unit if unit else ''}")
    print(f"soak {soak_id}: {result.status.value}")
    return EXIT_OK if result.status is Status.PASSED else EXIT_FAILED


def _soak_status(checkpoints: Any, soak_id: str) -> int:
    from vigil.results import utc_now
    from vigil.soak.config import SoakSuiteConfig
    from vigil.soak.judge import CycleFigures, progress_line

    record = checkpoints.get(soak_id)
    if record is None:
        raise ConfigError(f"no soak {soak_id!r} in the store; `vigil runs list` shows the runs")
    settings = SoakSuiteConfig.model_validate(record.config)
    cycles = checkpoints.cycles(soak_id)
    active = checkpoints.faults(soak_id, active_only=True)
    print(
        f"soak {soak_id}: {record.status}, {len(cycles)} of {record.planned_cycles} cycles "
        f"checkpointed, attempt {record.attempts}, pid {record.pid} on {record.host}, "
        f"last checkpoint {record.updated_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    if cycles:
        latest = CycleFigures.model_validate(cycles[-1].figures)
        # A finished soak's elapsed time ends at its last checkpoint, not now.
        now = utc_now() if record.status == "running" else record.updated_at
        print(progress_line(settings, record.started_at, now, latest))
    print(f"active faults: {len(active)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
