"""``python -m reference``: run the reference continuous-learning service.

Every setting of :class:`reference.settings.ServiceSettings` is a flag (``data_dir``
is ``--data-dir``); the database URL may also come from ``REFERENCE_DATABASE_URL``
and the admin token only comes from ``REFERENCE_ADMIN_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import ValidationError

from reference.settings import ServiceSettings

ENV_DATABASE_URL = "REFERENCE_DATABASE_URL"
ENV_ADMIN_TOKEN = "REFERENCE_ADMIN_TOKEN"
FROM_ENVIRONMENT = {"admin_token"}


def build_parser() -> argparse.ArgumentParser:
    """One flag per setting, documented by the setting's description."""
    parser = argparse.ArgumentParser(
        prog="python -m reference",
        description="Reference continuous-learning HTTP service (vigil's built-in target).",
    )
    for name, info in ServiceSettings.model_fields.items():
        if name in FROM_ENVIRONMENT:
            continue
        flag = "--" + name.replace("_", "-")
        default = info.default
        parser.add_argument(
            flag,
            dest=name,
            default=None,
            metavar=name.split("_")[-1].upper(),
            help=f"{info.description} (default: {default})",
        )
    return parser


def parse_settings(argv: list[str]) -> ServiceSettings:
    """Settings from flags and environment; exits with a readable message when invalid."""
    args = vars(build_parser().parse_args(argv))
    values = {name: value for name, value in args.items() if value is not None}
    if "database_url" not in values and os.environ.get(ENV_DATABASE_URL):
        values["database_url"] = os.environ[ENV_DATABASE_URL]
    values["admin_token"] = os.environ.get(ENV_ADMIN_TOKEN) or None
    try:
        return ServiceSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in error['loc']).replace('_', '-')}: {error['msg']}"
            for error in exc.errors()
        )
        sys.exit(f"python -m reference: invalid settings: {problems}")


def main(argv: list[str] | None = None) -> int:
    """Run the supervisor until SIGTERM/SIGINT."""
    settings = parse_settings(sys.argv[1:] if argv is None else argv)
    from reference.settings import configure_logging
    from reference.supervisor import Supervisor, prepare_data_dir

    prepare_data_dir(settings)
    configure_logging(settings.log_level)
    try:
        supervisor = Supervisor(settings)
    except OSError as exc:
        sys.exit(f"python -m reference: cannot listen on {settings.host}:{settings.port}: {exc}")
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
