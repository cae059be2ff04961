"""The HTTP surface of a worker: FastAPI routes, input guards and request metrics."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference import metrics, patterns
from reference.api_models import (
    AdminConfigRequest,
    AdminConfigResponse,
    BackupResponse,
    DeployRequest,
    ErrorFaultRequest,
    ErrorResponse,
    EvaluationResponse,
    FaultResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    IncidentsResponse,
    MemoryFaultRequest,
    ModelsResponse,
    ModelVersionBody,
    PredictRequest,
    PredictResponse,
    RestoreRequest,
    RestoreResponse,
    RollbackRequest,
)
from reference.incidents import parse_iso
from reference.patterns import PatternRequest, PatternResponse, decoys
from reference.settings import MAX_WORKERS
from reference.shared_state import ControlField, SlotField
from reference.storage import BackupInvalidError, file_sha256, iso_utc
from reference.worker import FeedbackOutcome, ModelNotReadyError, WorkerRuntime
from reference.writer import UNAVAILABLE_ERRORS

logger = logging.getLogger("reference.app")

BodyModel = TypeVar("BodyModel", bound=BaseModel)

BULK_TIMEOUT_S = 600.0
"""Bound on a backup or a restore, which copy whole tables."""

PATTERN_MAX_BODY_BYTES = 32 * 1_048_576
"""/patterns/analyze carries long metric series, so it gets a larger body limit."""

KNOWN_ENDPOINTS = frozenset(
    {
        "/health",
        "/predict",
        "/feedback",
        "/evaluation",
        "/metrics",
        "/incidents",
        "/patterns/analyze",
        "/openapi.json",
        "/docs",
        "/admin/config",
        "/admin/models",
        "/admin/models/deploy",
        "/admin/models/rollback",
        "/admin/backup",
        "/admin/restore",
        "/admin/faults/memory",
        "/admin/faults/errors",
    }
)

MONITORING_ENDPOINTS = frozenset({"/health", "/metrics", "/incidents", "/openapi.json", "/docs"})

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 409, 413, 415, 422, 503)
}
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorResponse},
}


class RequestGuardMiddleware:
    """Rejects oversized and non-JSON bodies and records every request's metrics.

    Pure ASGI so it can count body bytes as they stream in (chunked uploads have
    no Content-Length to check up front).
    """

    def __init__(self, app: ASGIApp, runtime: WorkerRuntime, max_body_bytes: int) -> None:
        self.app = app
        self.runtime = runtime
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        endpoint = path if path in KNOWN_ENDPOINTS else "unmatched"
        limit = PATTERN_MAX_BODY_BYTES if path == "/patterns/analyze" else self.max_body_bytes
        started = time.perf_counter()
        status = [500]

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            rejection = _reject_body(scope, limit)
            if rejection is not None:
                await _send_error(send_recording, *rejection)
                return
            received = [0]

            async def receive_bounded() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    received[0] += len(message.get("body", b""))
                    if received[0] > limit:
                        raise HTTPException(413, _too_large(limit))
                return message

            await self.app(scope, receive_bounded, send_recording)
        finally:
            code = status[0]
            labels = {"endpoint": endpoint, "method": method, "status": str(code)}
            metrics.REQUESTS.labels(**labels).inc()
            metrics.LATENCY.labels(**labels).observe(time.perf_counter() - started)
            if code >= 500:
                metrics.ERRORS.labels(endpoint=endpoint).inc()
            if endpoint not in MONITORING_ENDPOINTS:
                # The supervisor's 5xx rate is about the service's work; polling
                # /health or /metrics must not dilute it.
                slot = self.runtime.slot
                self.runtime.state.add(slot, SlotField.REQUESTS)
                if code >= 500:
                    self.runtime.state.add(slot, SlotField.ERRORS_5XX)


def _too_large(limit: int) -> str:
    return f"request body exceeds the limit of {limit} bytes; send a smaller body"


def _reject_body(scope: Scope, limit: int) -> tuple[int, str] | None:
    """(status, message) when a request must be refused before its body is read."""
    if scope["method"] not in ("POST", "PUT", "PATCH"):
        return None
    headers = dict(scope["headers"])
    length_text = headers.get(b"content-length")
    chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
    length = 0
    if length_text is not None:
        try:
            length = int(length_text)
        except ValueError:
            return 400, f"Content-Length {length_text.decode(errors='replace')!r} is not a number"
        if length > limit:
            return 413, _too_large(limit)
    if length == 0 and not chunked:
        return None
    content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
    if content_type != "application/json" and not content_type.endswith("+json"):
        shown = content_type or "none"
        return 415, f"content type {shown!r} is not supported; send application/json"
    return None


async def _send_error(send: Send, status: int, message: str) -> None:
    response = JSONResponse({"detail": message}, status_code=status)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(runtime: WorkerRuntime) -> FastAPI:
    """Build the FastAPI application served by one worker."""
    settings = runtime.settings
    token = settings.admin_token

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="reference continuous-learning service",
        version="1.0.0",
        description=(
            "Online binary classifier (river) with feedback learning, prequential "
            "evaluation and self-healing. vigil's built-in system under test."
        ),
        lifespan=lifespan,
        # Nothing consumes OpenTelemetry here; checking for providers on every
        # request is measurable CPU on the hot path.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(
        RequestGuardMiddleware, runtime=runtime, max_body_bytes=settings.max_body_bytes
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
            for error in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"]) or "body"
        return JSONResponse(
            {"detail": f"invalid request at {where}: {first['msg']}", "errors": errors},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(ModelNotReadyError)
    async def model_not_ready(_request: Request, exc: ModelNotReadyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    def require_admin(request: Request) -> None:
        if not token:
            raise HTTPException(
                401,
                "admin API disabled: REFERENCE_ADMIN_TOKEN is not configured on the server; "
                "set it and restart",
            )
        header = request.headers.get("authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.encode(), token.encode()):
            raise HTTPException(
                401,
                "missing or wrong admin token; send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    admin = [Depends(require_admin)]

    # -- the public contract -------------------------------------------------

    @app.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
    async def health() -> JSONResponse:
        """Overall and per-component health; 503 when the service cannot predict."""
        body = _health(runtime)
        return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)

    # The two hot endpoints validate the raw body with pydantic's JSON parser and
    # answer with pre-serialised JSON: it skips FastAPI's Python-side decoding and
    # response re-validation, which dominate a request's CPU time here.
    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body(PredictRequest),
    )
    async def predict(request: Request) -> Response:
        """Score one example with the serving model."""
        body = await _validated(request, PredictRequest)
        if runtime.should_inject_error():
            raise HTTPException(500, "injected fault: /predict failure (test hook)")
        return _json_response(await runtime.predict(body.features), 200)

    @app.post(
        "/feedback",
        status_code=202,
        response_model=FeedbackResponse,
        responses=ERROR_RESPONSES,
        openapi_extra=_json_body(FeedbackRequest),
    )
    async def feedback(request: Request) -> Response:
        """Send the true label of an earlier prediction; 202 once it is durable."""
        body = await _validated(request, FeedbackRequest)
        outcome = await runtime.feedback(body.request_id, int(body.label))
        if outcome == FeedbackOutcome.UNKNOWN:
            raise HTTPException(
                404,
                f"no prediction with request_id {body.request_id!r}; "
                "send the request_id returned by /predict",
            )
        if outcome == FeedbackOutcome.DUPLICATE:
            raise HTTPException(
                409, f"prediction {body.request_id!r} is already labelled; labels are final"
            )
        return _json_response({"request_id": body.request_id, "status": "accepted"}, 202)

    @app.get("/evaluation", response_model=EvaluationResponse, responses=ERROR_RESPONSES)
    async def evaluation(
        window: int = Query(1000, ge=1, le=1_000_000, description="Newest labelled predictions."),
    ) -> dict[str, Any]:
        """Prequential accuracy and log loss, over a window and in total."""
        try:
            recent, total = await asyncio.gather(
                runtime.db(runtime.database.evaluation, window),
                runtime.db(runtime.database.evaluation, None),
            )
        except UNAVAILABLE_ERRORS as exc:
            raise HTTPException(
                503, "database unavailable; evaluation resumes when it is back"
            ) from exc

        def figures(counts: Any) -> dict[str, Any]:
            n = counts.count
            return {
                "count": n,
                "accuracy": counts.correct / n if n else None,
                "log_loss": counts.log_loss_sum / n if n else None,
            }

        return {
            "model_version": runtime.model_version or "none",
            "window": {"size": window, **figures(recent)},
            "total": figures(total),
        }

    @app.get("/metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition of every process's metrics."""
        content, content_type = await asyncio.to_thread(metrics.render)
        return Response(content, media_type=content_type)

    @app.get("/incidents", response_model=IncidentsResponse, responses=ERROR_RESPONSES)
    async def incidents(
        since: str | None = Query(None, max_length=64, description="ISO-8601; default all."),
    ) -> dict[str, Any]:
        """Incidents the self-healing detected, oldest first."""
        moment = None
        if since is not None:
            try:
                moment = parse_iso(since)
            except ValueError as exc:
                raise HTTPException(
                    422, f"since={since!r} is not ISO-8601; send e.g. 2026-01-31T14:00:00Z"
                ) from exc
        found = await asyncio.to_thread(runtime.incidents.read, moment)
        return {"incidents": found}

    @app.post("/patterns/analyze", response_model=PatternResponse, responses=ERROR_RESPONSES)
    async def patterns_analyze(body: PatternRequest) -> PatternResponse:
        """Detect patterns in metric series and recommend actions."""
        # The broken modes answer in the same shapes, so only scoring can tell them apart.
        analyzer = {
            "analyze": patterns.analyze,
            "none": decoys.nothing_found,
            "random": decoys.random_findings,
        }[settings.patterns_mode]
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(analyzer, body), timeout=settings.pattern_timeout_s
            )
        except TimeoutError as exc:
            raise HTTPException(
                503,
                f"pattern analysis took longer than {settings.pattern_timeout_s:g} s; "
                "send fewer or shorter series",
            ) from exc
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc

    # -- administration ------------------------------------------------------

    @app.post(
        "/admin/config",
        response_model=AdminConfigResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_config(body: AdminConfigRequest | None = None) -> dict[str, Any]:
        """Change workers, cache size or learning rate at run time."""
        state = runtime.state
        if body is not None:
            if body.workers is not None:
                state.write(ControlField.DESIRED_WORKERS, body.workers)
            if body.cache_size is not None:
                state.write(ControlField.CACHE_SIZE, body.cache_size)
            if body.learning_rate is not None:
                state.write(ControlField.LEARNING_RATE, body.learning_rate)
                state.write(
                    ControlField.CONFIG_GENERATION, state.read(ControlField.CONFIG_GENERATION) + 1
                )
        return {
            "workers": int(state.read(ControlField.DESIRED_WORKERS)),
            "cache_size": int(state.read(ControlField.CACHE_SIZE)),
            "learning_rate": state.read(ControlField.LEARNING_RATE),
        }

    @app.get(
        "/admin/models",
        response_model=ModelsResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_models() -> dict[str, Any]:
        """Every model version and which one serves."""
        try:
            versions = await runtime.db(runtime.database.list_versions)
            found = await runtime.db(runtime.database.active_version)
        except UNAVAILABLE_ERRORS as exc:
            raise HTTPException(503, "database unavailable; retry when it is back") from exc
        active = found[0].name if found else None
        return {"active": active, "versions": [_version_body(v, active) for v in versions]}

    @app.post(
        "/admin/models/deploy",
        response_model=ModelVersionBody,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_deploy(body: DeployRequest | None = None) -> dict[str, Any]:
        """Deploy a new version derived from the serving one (``corrupt`` is a test hook)."""
        body = body or DeployRequest()
        try:
            name = await asyncio.to_thread(
                runtime.deploy, body.version, body.learning_rate, body.corrupt
            )
        except UNAVAILABLE_ERRORS as exc:
            raise HTTPException(503, "database unavailable; deploy when it is back") from exc
        except Exception as exc:
            if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
                raise HTTPException(
                    409, f"model version {body.version!r} exists; choose another name"
                ) from exc
            raise
        version = await runtime.db(runtime.database.get_version, name)
        return _version_body(version, name)

    @app.post(
        "/admin/models/rollback",
        response_model=ModelVersionBody,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_rollback(body: RollbackRequest | None = None) -> dict[str, Any]:
        """Serve an earlier version again: `to`, or the serving version's parent."""
        body = body or RollbackRequest()
        found = await runtime.db(runtime.database.active_version)
        current = found[0] if found else None
        target = body.to or (current.parent if current else None)
        if target is None:
            raise HTTPException(409, "the serving version has no parent; name one with 'to'")
        version = await runtime.db(runtime.database.get_version, target)
        if version is None:
            raise HTTPException(404, f"no model version {target!r}; see GET /admin/models")
        await runtime.db(runtime.database.set_active, target)
        return _version_body(version, target)

    @app.post(
        "/admin/backup",
        response_model=BackupResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_backup() -> dict[str, Any]:
        """Copy every table to a file under <data-dir>/backups."""
        backup_dir = settings.data_dir.resolve() / "backups"
        backup_dir.mkdir(parents=True, exist_ok=True)
        created = datetime.now(UTC)
        backup_id = created.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        path = backup_dir / f"{backup_id}.jsonl.gz"
        partial = path.with_suffix(".partial")
        try:
            digests = await runtime.db(
                runtime.database.export_to, partial, timeout_s=BULK_TIMEOUT_S
            )
        except UNAVAILABLE_ERRORS as exc:
            partial.unlink(missing_ok=True)
            raise HTTPException(503, "database unavailable; back up when it is back") from exc
        manifest = {
            "backup_id": backup_id,
            "created_at": iso_utc(created),
            "file": path.name,
            "bytes": partial.stat().st_size,
            "sha256": await asyncio.to_thread(file_sha256, partial),
            "tables": {name: digest.as_manifest() for name, digest in digests.items()},
        }
        # The manifest is written first and the data file renamed into place last, so a
        # backup visible under its id always has the manifest that vouches for it.
        _write_atomically(_manifest_path(path), json.dumps(manifest, indent=1))
        os.replace(partial, path)
        return {
            "backup_id": backup_id,
            "path": str(path),
            "created_at": manifest["created_at"],
            "feedback_count": digests["feedback"].rows,
            "bytes": manifest["bytes"],
            "sha256": manifest["sha256"],
            "tables": manifest["tables"],
        }

    @app.post(
        "/admin/restore",
        response_model=RestoreResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def admin_restore(body: RestoreRequest) -> dict[str, Any]:
        """Replace the database content with a backup that matches its manifest."""
        path = settings.data_dir.resolve() / "backups" / f"{body.backup_id}.jsonl.gz"
        if not path.is_file():
            raise HTTPException(
                404, f"no backup {body.backup_id!r} in {path.parent}; see POST /admin/backup"
            )
        try:
            manifest = json.loads(_manifest_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HTTPException(
                422,
                f"backup {body.backup_id!r} has no readable manifest ({type(exc).__name__}); "
                "it cannot be verified, so it is not restored",
            ) from exc
        try:
            count = await runtime.db(
                runtime.database.import_from, path, manifest, timeout_s=BULK_TIMEOUT_S
            )
            found = await runtime.db(runtime.database.active_version)
            if found:
                # A fresh change time makes every worker reload from the restored state.
                await runtime.db(runtime.database.set_active, found[0].name)
        except BackupInvalidError as exc:
            logger.error("restore refused: %s", exc)
            raise HTTPException(422, f"{exc}; nothing was restored") from exc
        except UNAVAILABLE_ERRORS as exc:
            raise HTTPException(503, "database unavailable; restore when it is back") from exc
        return {
            "backup_id": body.backup_id,
            "feedback_count": count,
            "model_version": found[0].name if found else None,
        }

    @app.post(
        "/admin/faults/memory",
        response_model=FaultResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def fault_memory(body: MemoryFaultRequest) -> dict[str, Any]:
        """Test hook: allocate and hold memory in the worker that answers."""
        for _ in range(body.megabytes):
            block = bytearray(1_048_576)
            # Touch every page so the allocation is resident, not just reserved.
            block[::4096] = b"\x01" * 256
            runtime.memory_ballast.append(block)
            # Yield between megabytes so the loop and the heartbeat keep running.
            await asyncio.sleep(0)
        held = sum(len(b) for b in runtime.memory_ballast) // 1_048_576
        return {"worker_pid": os.getpid(), "detail": f"holding {held} MiB of test ballast"}

    @app.post(
        "/admin/faults/errors",
        response_model=FaultResponse,
        dependencies=admin,
        responses=ADMIN_RESPONSES,
    )
    async def fault_errors(body: ErrorFaultRequest) -> dict[str, Any]:
        """Test hook: make a fraction of /predict calls in the answering worker fail with 500."""
        runtime.fault_error_rate = body.rate
        runtime.fault_error_until = time.monotonic() + body.seconds
        return {
            "worker_pid": os.getpid(),
            "detail": f"/predict fails at rate {body.rate:g} for {body.seconds:g} s",
        }

    return app


def _manifest_path(backup: Path) -> Path:
    """Where the manifest of a backup file lives (beside it)."""
    return backup.with_name(backup.name.removesuffix(".jsonl.gz") + ".manifest.json")


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request-body entry for an endpoint that validates its body itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _validated(request: Request, model: type[BodyModel]) -> BodyModel:
    """The request body parsed and validated as `model`; 422 with the reasons otherwise."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(errors) from exc


def _json_response(content: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(content), status_code=status, media_type="application/json")


def _version_body(version: Any, active: str | None) -> dict[str, Any]:
    return {
        "name": version.name,
        "parent": version.parent,
        "reason": version.reason,
        "learning_rate": version.learning_rate,
        "corrupt": version.corrupt,
        "created_at": iso_utc(version.created_at),
        "active": version.name == active,
    }


def _health(runtime: WorkerRuntime) -> dict[str, Any]:
    state = runtime.state
    now = time.monotonic()
    hang_bound = runtime.settings.hang_timeout_s
    expected = int(state.read(ControlField.DESIRED_WORKERS)) or 1
    alive = 0
    pids = []
    for slot in range(MAX_WORKERS):
        pid = int(state.get(slot, SlotField.PID))
        if pid <= 0:
            continue
        pids.append(pid)
        if now - state.get(slot, SlotField.HEARTBEAT) <= hang_bound:
            alive += 1
    workers_ok = alive >= expected
    degraded = runtime.database_degraded
    detail = (
        runtime.writer.status.last_error or "marked unavailable by the supervisor's probe"
        if degraded
        else "connected"
    )
    database = {
        "status": "unavailable" if degraded else "ok",
        "detail": detail,
        "mode": "degraded" if degraded else "direct",
        "buffered_feedback": runtime.buffer.pending_feedback,
        "backend": "sqlite" if runtime.database.is_sqlite else "postgresql",
    }
    model = {"status": "ok" if runtime.learner else "down", "version": runtime.model_version}
    workers = {
        "status": "ok" if workers_ok else "degraded",
        "expected": expected,
        "alive": alive,
        "restarts": int(state.read(ControlField.RESTARTS)),
    }
    if runtime.learner is None:
        status = "down"
    elif degraded or not workers_ok:
        status = "degraded"
    else:
        status = "ok"
    return {
        "status": status,
        "model_version": runtime.model_version,
        "components": {"model": model, "database": database, "workers": workers},
        "worker_pids": pids,
        "supervisor_pid": int(state.read(ControlField.SUPERVISOR_PID)),
        # What POST /admin/config last applied, so a caller can see its change took hold.
        "config": {
            "workers": int(state.read(ControlField.DESIRED_WORKERS)),
            "cache_size": int(state.read(ControlField.CACHE_SIZE)),
            "learning_rate": state.read(ControlField.LEARNING_RATE),
        },
    }
