"""Entry point of a worker process, kept import-light for the supervisor.

The supervisor only needs this function's name to start a worker; the heavy
imports (uvicorn, FastAPI, river) happen in the worker, or once in the fork
server that preloads them.
"""

from __future__ import annotations

import socket
import time

from reference.settings import ServiceSettings, configure_logging
from reference.shared_state import SharedState, SlotField


def run_worker(
    settings: ServiceSettings, state: SharedState, slot: int, sock: socket.socket
) -> None:
    """Serve HTTP on the inherited listening socket until told to stop."""
    import uvicorn

    from reference.app import create_app
    from reference.worker import WorkerRuntime

    configure_logging(settings.log_level)
    state.set(slot, SlotField.HEARTBEAT, time.monotonic())
    runtime = WorkerRuntime(settings, state, slot)
    config = uvicorn.Config(
        create_app(runtime),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=3,
        backlog=2048,
        timeout_keep_alive=30,
        proxy_headers=False,
        server_header=False,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
    )
    uvicorn.Server(config).run(sockets=[sock])
