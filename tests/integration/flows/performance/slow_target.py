"""The load engine's test server with a known delay and error share on /predict and /feedback.

Run as ``python slow_target.py --delay-ms 200 --fail-every 0`` (binds 127.0.0.1 on a free port
and prints ``PORT <n>`` once it listens). It serves every endpoint of
``tests/integration/vigil/load/load_target_server.py``; on top, each ``/predict`` and ``/feedback``
waits ``--delay-ms`` before it is handled, and every ``--fail-every``-th of them is answered 500.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
from pathlib import Path

import uvloop
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "vigil" / "load"))
from load_target_server import build_app  # that directory is not a package

SLOWED = ("/predict", "/feedback")


def build_slow_app(delay_ms: float, fail_every: int) -> web.Application:
    """The load target's app behind a middleware that delays and fails on purpose."""
    app = build_app()
    counter = itertools.count(1)

    @web.middleware
    async def slow(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.path not in SLOWED:
            return await handler(request)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
        if fail_every and next(counter) % fail_every == 0:
            await request.read()
            return web.json_response({"detail": "injected failure"}, status=500)
        return await handler(request)

    app.middlewares.insert(0, slow)
    return app


async def serve(delay_ms: float, fail_every: int) -> None:
    """Listen on 127.0.0.1 at a free port until the process is terminated."""
    runner = web.AppRunner(build_slow_app(delay_ms, fail_every), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--fail-every", type=int, default=0)
    args = parser.parse_args()
    try:
        uvloop.run(serve(args.delay_ms, args.fail_every))
    except (KeyboardInterrupt, web.GracefulExit):
        sys.exit(0)
