"""A small real service with the target contract, which can break readiness on purpose.

Run as ``python drill_target.py PORT WORKDIR [--break MODE[,MODE...]]``; the admin token
comes from ``DRILL_ADMIN_TOKEN``. Its model is the exact SEA rule (``x0 + x1 > 8``), a
"corrupt" deploy inverts it. Labels live in ``WORKDIR/data.json`` (so wiping the workdir
destroys them) and backups in ``WORKDIR/backups``. Modes:

* ``drop-during-deploy``: /health and /predict answer 503 for 1.5 s after a deploy.
* ``open-admin``: the admin endpoints never look at the token.
* ``leak-token``: /health shows the admin token.
* ``early-exit``: the token is compared byte by byte, slowly, stopping at the first mismatch.
* ``restore-anything``: backups carry no checksum and any file is restored as it is.
* ``crash-on-bad-json``: malformed JSON gets a 500 with a stack trace.
* ``no-rollback``: rollbacks answer 500.
* ``no-error-metric``: /metrics never counts the 5xx the fault hook causes.
* ``stuck-errors``: once a fault was injected, /metrics counts errors for ever.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import math
import os
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("workdir", type=Path)
parser.add_argument("--break", dest="modes", default="")
args = parser.parse_args()
MODES = set(filter(None, args.modes.split(",")))
TOKEN = os.environ.get("DRILL_ADMIN_TOKEN", "")
DATA = args.workdir / "data.json"
BACKUPS = args.workdir / "backups"

ids = itertools.count(1)
served: dict[str, float] = {}
state = {"feedback": [], "versions": [{"name": "v1", "corrupt": False}], "active": "v1"}
dropping_until = [0.0]
failing_until = [0.0]
errors = [0]
if DATA.exists():
    state = json.loads(DATA.read_text())


def save() -> None:
    DATA.write_text(json.dumps(state))


def active() -> dict:
    return next(v for v in state["versions"] if v["name"] == state["active"])


def authorised(request: Request) -> bool:
    if "open-admin" in MODES:
        return True
    header = request.headers.get("authorization", "")
    supplied = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    if supplied is None:
        return False
    if "early-exit" in MODES:
        for mine, theirs in zip(TOKEN, supplied, strict=False):
            if mine != theirs:
                return False
            time.sleep(0.0003)  # a slow per-byte comparison makes the leak measurable
        return len(TOKEN) == len(supplied)
    return supplied == TOKEN


def refuse() -> JSONResponse:
    return JSONResponse({"detail": "missing or wrong admin token"}, status_code=401)


def dropping() -> bool:
    return time.monotonic() < dropping_until[0]


async def health(_: Request) -> JSONResponse:
    if dropping():
        return JSONResponse({"status": "down"}, status_code=503)
    body = {"status": "ok", "model_version": state["active"], "components": {}}
    if "leak-token" in MODES:
        body["debug"] = {"admin_token": TOKEN}
    return JSONResponse(body)


async def read_json(request: Request) -> dict | JSONResponse:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        if "crash-on-bad-json" in MODES:
            return PlainTextResponse(traceback.format_exc(), status_code=500)
        return JSONResponse({"detail": "malformed JSON"}, status_code=422)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "send an object"}, status_code=422)
    return body


async def predict(request: Request) -> JSONResponse:
    if dropping():
        return JSONResponse({"detail": "deploying"}, status_code=503)
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    features = body.get("features")
    if not isinstance(features, dict):
        return JSONResponse({"detail": "features must be an object"}, status_code=422)
    try:
        positive = float(features.get("x0", 0)) + float(features.get("x1", 0)) > 8.0
    except (TypeError, ValueError):
        return JSONResponse({"detail": "numbers only"}, status_code=422)
    if time.monotonic() < failing_until[0]:
        if "no-error-metric" not in MODES:
            errors[0] += 1
        return JSONResponse({"detail": "injected fault"}, status_code=500)
    if active()["corrupt"]:
        positive = not positive
    request_id = f"r{next(ids)}-{os.getpid()}"
    score = 0.9 if positive else 0.1
    served[request_id] = score
    return JSONResponse(
        {
            "request_id": request_id,
            "prediction": int(positive),
            "score": score,
            "model_version": state["active"],
        }
    )


async def feedback(request: Request) -> JSONResponse:
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    request_id, label = body.get("request_id"), body.get("label")
    if request_id not in served or label not in (0, 1, True, False):
        return JSONResponse({"detail": "unknown request or bad label"}, status_code=404)
    state["feedback"].append({"score": served[request_id], "label": int(label)})
    save()
    return JSONResponse({"request_id": request_id, "status": "accepted"}, status_code=202)


async def evaluation(_: Request) -> JSONResponse:
    rows = state["feedback"]
    n = len(rows)
    correct = sum(int(r["score"] > 0.5) == r["label"] for r in rows)
    loss = sum(-math.log(r["score"] if r["label"] else 1 - r["score"]) for r in rows)
    window = {"size": 1, "count": min(n, 1), "accuracy": None, "log_loss": None}
    total = {
        "count": n,
        "accuracy": correct / n if n else None,
        "log_loss": loss / n if n else None,
    }
    return JSONResponse({"model_version": state["active"], "window": window, "total": total})


async def metrics(_: Request) -> PlainTextResponse:
    if "stuck-errors" in MODES and failing_until[0]:
        errors[0] += 1
    return PlainTextResponse(
        "# TYPE up gauge\nup 1\n# TYPE reference_errors counter\n"
        f'reference_errors_total{{endpoint="/predict"}} {errors[0]}\n'
    )


async def fault_errors(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    failing_until[0] = time.monotonic() + float(body.get("seconds", 1))
    return JSONResponse({"detail": "failing"})


async def openapi(_: Request) -> JSONResponse:
    token_free = {"responses": {"200": {"description": "ok"}}}
    body = {
        "type": "object",
        "properties": {"features": {"type": "object", "additionalProperties": {"type": "number"}}},
        "required": ["features"],
    }
    return JSONResponse(
        {
            "openapi": "3.1.0",
            "paths": {
                "/predict": {
                    "post": {"requestBody": {"content": {"application/json": {"schema": body}}}}
                },
                "/admin/models": {"get": token_free},
                "/admin/models/deploy": {"post": token_free},
                "/admin/models/rollback": {"post": token_free},
                "/admin/backup": {"post": token_free},
                "/admin/restore": {"post": token_free},
            },
        }
    )


async def models(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    return JSONResponse({"active": state["active"], "versions": state["versions"]})


async def deploy(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    name = f"v{len(state['versions']) + 1}"
    state["versions"].append({"name": name, "corrupt": bool(body.get("corrupt"))})
    state["active"] = name
    save()
    if "drop-during-deploy" in MODES:
        dropping_until[0] = time.monotonic() + 1.5
    return JSONResponse({"name": name})


async def rollback(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    if "no-rollback" in MODES:
        return JSONResponse({"detail": "rollback is broken"}, status_code=500)
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    state["active"] = body.get("to") or "v1"
    save()
    return JSONResponse({"name": state["active"]})


async def backup(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    BACKUPS.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    backup_id = created.strftime("%Y%m%dT%H%M%S%f")
    path = BACKUPS / f"{backup_id}.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(json.dumps({"versions": state["versions"], "active": state["active"]}) + "\n")
        for row in state["feedback"]:
            out.write(json.dumps(row) + "\n")
    answer = {
        "backup_id": backup_id,
        "path": str(path),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "feedback_count": len(state["feedback"]),
    }
    if "restore-anything" not in MODES:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest = {"bytes": path.stat().st_size, "sha256": digest}
        path.with_name(f"{backup_id}.manifest.json").write_text(json.dumps(manifest))
        answer |= manifest
    return JSONResponse(answer)


async def restore(request: Request) -> JSONResponse:
    if not authorised(request):
        return refuse()
    body = await read_json(request)
    if not isinstance(body, dict):
        return body
    path = BACKUPS / f"{body.get('backup_id')}.jsonl.gz"
    if not path.is_file():
        return JSONResponse({"detail": "no such backup"}, status_code=404)
    if "restore-anything" not in MODES:
        manifest_path = path.with_name(f"{body['backup_id']}.manifest.json")
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if hashlib.sha256(path.read_bytes()).hexdigest() != manifest.get("sha256"):
            return JSONResponse({"detail": "backup does not match its manifest"}, status_code=422)
    with gzip.open(path, "rt") as source:
        lines = [json.loads(line) for line in source]
    state["versions"], state["active"] = lines[0]["versions"], lines[0]["active"]
    state["feedback"] = lines[1:]
    save()
    return JSONResponse({"backup_id": body["backup_id"], "feedback_count": len(lines) - 1})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/metrics", metrics),
        Route("/predict", predict, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
        Route("/evaluation", evaluation),
        Route("/openapi.json", openapi),
        Route("/admin/models", models),
        Route("/admin/models/deploy", deploy, methods=["POST"]),
        Route("/admin/models/rollback", rollback, methods=["POST"]),
        Route("/admin/backup", backup, methods=["POST"]),
        Route("/admin/restore", restore, methods=["POST"]),
        Route("/admin/faults/errors", fault_errors, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    args.workdir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
