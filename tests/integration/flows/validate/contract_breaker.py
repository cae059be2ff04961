"""A real HTTP service that breaks the target contract on purpose.

It serves predictions and accepts feedback, but loses every other label (the
evaluation count does not rise by what was sent) and answers malformed JSON
with a 500. The integration suite must catch both.

Run as ``python contract_breaker.py PORT``.
"""

from __future__ import annotations

import itertools
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

ids = itertools.count(1)
labelled: set[str] = set()
served: set[str] = set()
counted = 0


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "model_version": "v1", "components": {}})


async def metrics(_: Request) -> PlainTextResponse:
    return PlainTextResponse("# TYPE requests_total counter\nrequests_total 1\n")


async def predict(request: Request) -> JSONResponse:
    body = json.loads(await request.body())  # malformed JSON raises: a 500, on purpose
    if not isinstance(body.get("features"), dict):
        return JSONResponse({"detail": "features must be a mapping"}, status_code=422)
    request_id = f"r{next(ids)}"
    served.add(request_id)
    return JSONResponse(
        {"request_id": request_id, "prediction": 1, "score": 0.7, "model_version": "v1"}
    )


async def feedback(request: Request) -> JSONResponse:
    global counted
    body = await request.json()
    request_id = body.get("request_id")
    if request_id not in served:
        return JSONResponse({"detail": "unknown request"}, status_code=404)
    if request_id in labelled:
        return JSONResponse({"detail": "already labelled"}, status_code=409)
    labelled.add(request_id)
    if len(labelled) % 2:  # every other label is silently lost
        counted += 1
    return JSONResponse({"request_id": request_id, "status": "accepted"}, status_code=202)


async def evaluation(_: Request) -> JSONResponse:
    quality = {"count": counted, "accuracy": 0.5, "log_loss": 0.69}
    return JSONResponse({"model_version": "v1", "window": quality, "total": quality})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/metrics", metrics),
        Route("/predict", predict, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
        Route("/evaluation", evaluation),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
