"""A small real HTTP server the load engine is tested and benchmarked against.

Run as ``python load_target_server.py`` (binds 127.0.0.1 on a free port and prints
``PORT <n>`` on stdout once it listens). Endpoints:

* ``GET|POST /delay?ms=N&status=S`` -- waits N ms, answers status S (default 200).
* ``GET /spin?us=N`` -- busy-waits N µs (exact, unlike a timer) and answers 200; it holds the
  server's only thread, so concurrent requests queue behind it.
* ``GET /stall?ms=N`` -- blocks the whole server for N ms (a server-wide stall: every
  connection waits), then answers 200.
* ``GET /ok`` -- answers 200 at once (the throughput benchmark's target).
* ``GET /hang`` -- never answers within a test's time (sleeps up to 10 minutes).
* ``GET /close`` -- closes the connection without answering.
* ``GET /notjson`` -- answers 200 with a body that is not JSON.
* ``POST /predict`` -- answers a prediction with a fresh ``request_id``.
* ``POST /feedback`` -- 202 for a known ``request_id`` (once), 404 unknown, 409 repeated.
* ``GET /stats`` -- how many requests each path received and the labels fed back.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter

import uvloop
from aiohttp import web

HANG_SECONDS = 600.0


def build_app() -> web.Application:
    """The application with its in-memory counters."""
    received: Counter[str] = Counter()
    predictions: dict[str, bool] = {}
    labels: Counter[str] = Counter()

    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if request.path != "/stats":
            received[request.path] += 1
        return await handler(request)

    async def delay(request: web.Request) -> web.Response:
        ms = float(request.query.get("ms", "0"))
        status = int(request.query.get("status", "200"))
        await request.read()
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)
        return web.json_response({"slept_ms": ms}, status=status)

    async def spin(request: web.Request) -> web.Response:
        until = time.perf_counter() + float(request.query.get("us", "0")) / 1e6
        while time.perf_counter() < until:
            pass
        return web.Response(text="spun")

    async def stall(request: web.Request) -> web.Response:
        time.sleep(float(request.query.get("ms", "0")) / 1000.0)  # blocks the loop on purpose
        return web.Response(text="stalled")

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(HANG_SECONDS)
        return web.Response(text="late")

    async def close(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(1.0)
        return web.Response(text="never sent")

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>not json</html>", content_type="text/html")

    async def predict(request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body.get("features"), dict):
            return web.json_response({"detail": "features must be an object"}, status=422)
        request_id = uuid.uuid4().hex
        predictions[request_id] = False
        return web.json_response(
            {"request_id": request_id, "prediction": 1, "score": 0.75, "model_version": "t1"}
        )

    async def feedback(request: web.Request) -> web.Response:
        body = await request.json()
        request_id = body.get("request_id")
        if request_id not in predictions:
            return web.json_response({"detail": "unknown request_id"}, status=404)
        if predictions[request_id]:
            return web.json_response({"detail": "already labelled"}, status=409)
        predictions[request_id] = True
        labels[str(body.get("label"))] += 1
        return web.json_response({"request_id": request_id, "status": "accepted"}, status=202)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"received": dict(received), "labels": dict(labels)})

    app = web.Application(middlewares=[count])
    app.router.add_route("*", "/delay", delay)
    app.router.add_get("/ok", ok)
    app.router.add_get("/spin", spin)
    app.router.add_get("/stall", stall)
    app.router.add_get("/hang", hang)
    app.router.add_get("/close", close)
    app.router.add_get("/notjson", not_json)
    app.router.add_post("/predict", predict)
    app.router.add_post("/feedback", feedback)
    app.router.add_get("/stats", stats)
    return app


async def serve() -> None:
    """Listen on 127.0.0.1 at a free port until the process is terminated."""
    runner = web.AppRunner(build_app(), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        uvloop.run(serve())
    except (KeyboardInterrupt, web.GracefulExit):
        sys.exit(0)
