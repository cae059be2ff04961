"""The security drill: admin tokens, a timing test, bad input, generated requests, secrets.

Everything is sent to the target's own base URL with explicit timeouts and a bounded
number of requests. The drill only records what it sent and read
(:class:`vigil.readiness.evidence.SecurityObservation`); the verdicts are in
:mod:`vigil.readiness.judgements`.

Generated requests come from the target's own ``/openapi.json``: the request-body and
query-parameter schemas of the configured paths are handed to hypothesis-jsonschema,
which draws a bounded, deterministic set of valid-by-schema values. The timing test
sends, interleaved in a seeded random order, admin calls with a token that is right
but for its last byte and with one that is wrong from its first byte: a comparison that
stops at the first differing byte answers the first kind measurably later.
"""

from __future__ import annotations

import os
import random
import re
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from vigil.readiness.config import SecurityDrillConfig
from vigil.readiness.evidence import Exchange, SecurityObservation, TimingSample, TlsObservation
from vigil.targets.base import TargetEndpoint

_BODY_KEEP = 4000
_SCAN_FILE_BYTES = 20_000_000
_MIN_SECRET_LENGTH = 6
_METHODS = ("get", "post", "put", "patch", "delete")


def _exchange(http: httpx.Client, label: str, method: str, path: str, **kwargs: Any) -> Exchange:
    try:
        answer = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        return Exchange(
            label=label, method=method, path=path, error=f"{type(exc).__name__}: {exc}"[:300]
        )
    headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
    return Exchange(
        label=label,
        method=method,
        path=path,
        status=answer.status_code,
        body=answer.text[:_BODY_KEEP],
        headers=headers[:_BODY_KEEP],
    )


def read_openapi(http: httpx.Client) -> dict[str, Any]:
    """The target's OpenAPI document, or an empty one when it publishes none."""
    try:
        answer = http.get("/openapi.json")
        return dict(answer.json()) if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def admin_operations(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path) of every /admin operation the document declares."""
    found = []
    for path, item in sorted(openapi.get("paths", {}).items()):
        if not path.startswith("/admin"):
            continue
        for method in _METHODS:
            if method in item:
                found.append((method.upper(), re.sub(r"\{[^}]*\}", "x", path)))
    return found


def bad_tokens(token: str) -> dict[str, dict[str, str]]:
    """Authorization headers that must all be refused, by label."""
    flipped_last = token[:-1] + ("A" if token[-1:] != "A" else "B")
    return {
        "no token": {},
        "wrong token": {"Authorization": "Bearer " + "x" * max(len(token), 8)},
        "right token but last byte": {"Authorization": f"Bearer {flipped_last}"},
        "empty bearer": {"Authorization": "Bearer"},
        "wrong scheme": {"Authorization": f"Basic {token}"},
    }


def try_bad_tokens(
    http: httpx.Client, operations: Sequence[tuple[str, str]], token: str
) -> list[Exchange]:
    """Call every admin operation with every bad token; all answers recorded.

    Args:
        http: A client of the target.
        operations: (method, path) of the admin operations.
        token: The real token, from which the near misses are made.
    """
    exchanges = []
    for method, path in operations:
        for label, headers in bad_tokens(token).items():
            body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            exchanges.append(_exchange(http, label, method, path, headers=headers, **body))
    return exchanges


def time_token_check(
    http: httpx.Client, operation: tuple[str, str], token: str, samples: int, seed: int
) -> TimingSample:
    """Latencies of `samples` calls per token variant, sent interleaved in random order.

    Args:
        http: A client of the target (one kept-alive connection).
        operation: The read-only admin call to time.
        token: The real token.
        samples: Calls per variant.
        seed: Seed of the interleaving.
    """
    method, path = operation
    right_prefix = token[:-1] + ("A" if token[-1:] != "A" else "B")
    wrong_first = ("A" if token[:1] != "A" else "B") + token[1:]
    order = ["prefix"] * samples + ["first"] * samples
    random.Random(seed).shuffle(order)
    timing = TimingSample()
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    for _ in range(10):  # warm the connection and the server's code paths first
        http.request(method, path, headers={"Authorization": f"Bearer {wrong_first}"}, **body)
    for kind in order:
        supplied = right_prefix if kind == "prefix" else wrong_first
        began = time.perf_counter()
        try:
            answer = http.request(
                method, path, headers={"Authorization": f"Bearer {supplied}"}, **body
            )
        except httpx.HTTPError:
            continue
        elapsed = (time.perf_counter() - began) * 1000.0
        timing.statuses.append(answer.status_code)
        (timing.right_prefix_ms if kind == "prefix" else timing.wrong_first_byte_ms).append(elapsed)
    return timing


def bad_input_corpus() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(label, method, path, request arguments) of requests no healthy service answers 5xx."""
    json_type = {"Content-Type": "application/json"}
    deep: Any = 0
    for _ in range(200):
        deep = {"a": deep}
    return [
        ("malformed json", "POST", "/predict", {"content": b"{not json", "headers": json_type}),
        ("empty body", "POST", "/predict", {"content": b"", "headers": json_type}),
        ("array body", "POST", "/predict", {"json": [1, 2, 3]}),
        ("null body", "POST", "/predict", {"json": None}),
        ("no features", "POST", "/predict", {"json": {}}),
        ("empty features", "POST", "/predict", {"json": {"features": {}}}),
        ("nan", "POST", "/predict", {"content": b'{"features":{"a":NaN}}', "headers": json_type}),
        ("huge number", "POST", "/predict", {"json": {"features": {"a": 1e308}}}),
        ("huge int", "POST", "/predict", {"json": {"features": {"a": 10**400}}}),
        ("long name", "POST", "/predict", {"json": {"features": {"a" * 10_000: 1}}}),
        ("nested", "POST", "/predict", {"json": {"features": deep}}),
        ("bytes not utf-8", "POST", "/predict", {"content": b"\xff\xfe\x00", "headers": json_type}),
        (
            "text body",
            "POST",
            "/predict",
            {"content": b"hello", "headers": {"Content-Type": "text/plain"}},
        ),
        ("unknown field", "POST", "/predict", {"json": {"features": {"a": 1}, "x": 1}}),
        ("bool features", "POST", "/predict", {"json": {"features": True}}),
        ("feedback unknown id", "POST", "/feedback", {"json": {"request_id": "nope", "label": 1}}),
        ("feedback bad label", "POST", "/feedback", {"json": {"request_id": "x", "label": 7}}),
        ("feedback long id", "POST", "/feedback", {"json": {"request_id": "x" * 5000, "label": 1}}),
        ("window negative", "GET", "/evaluation", {"params": {"window": "-1"}}),
        ("window text", "GET", "/evaluation", {"params": {"window": "abc"}}),
        ("window huge", "GET", "/evaluation", {"params": {"window": str(10**30)}}),
        ("since garbage", "GET", "/incidents", {"params": {"since": "yesterday'--"}}),
        ("since long", "GET", "/incidents", {"params": {"since": "9" * 5000}}),
        ("unknown path", "GET", "/../../etc/passwd", {}),
        ("odd path", "GET", "/%00%ff", {}),
        ("wrong method", "DELETE", "/predict", {}),
        ("patterns malformed", "POST", "/patterns/analyze", {"json": {"series": "x"}}),
    ]


def send_bad_input(http: httpx.Client) -> list[Exchange]:
    """Send the bad-input corpus; every answer recorded."""
    return [_exchange(http, label, m, p, **kw) for label, m, p, kw in bad_input_corpus()]


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    """Follow local ``$ref`` pointers (``#/components/schemas/X`` or ``#/$defs/X``)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = root.get("components", {}).get("schemas", {}).get(name) or root.get(
            "$defs", {}
        ).get(name, {})
        seen += 1
    return schema


def _strategy(schema: Any, root: dict[str, Any]) -> Any:
    """A hypothesis strategy of values valid by `schema`.

    Objects are built here from fixed and free keys; every other schema goes to
    hypothesis-jsonschema. (Its own object strategy relies on a private Hypothesis
    helper whose interface changed in the locked Hypothesis 6.170, and fails there.)
    """
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or not schema:
        return from_schema({})
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return st.one_of([_strategy(option, root) for option in schema[combinator]])
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = st.fixed_dictionaries(
            {k: _strategy(v, root) for k, v in properties.items() if k in required},
            optional={k: _strategy(v, root) for k, v in properties.items() if k not in required},
        )
        extra = schema.get("additionalProperties")
        if properties or not isinstance(extra, dict):
            return fixed
        names = _resolve(schema.get("propertyNames", {"type": "string"}), root)
        low = int(schema.get("minProperties", 0))
        return st.dictionaries(
            from_schema({**names, "type": "string"}),
            _strategy(extra, root),
            min_size=low,
            max_size=max(low, min(int(schema.get("maxProperties", 8)), 8)),
        )
    return from_schema(schema)


def _draw(schema: dict[str, Any], root: dict[str, Any], examples: int) -> list[Any]:
    """`examples` values drawn from a JSON schema, deterministically (hypothesis, no database)."""
    from hypothesis import HealthCheck, Phase, given, settings

    drawn: list[Any] = []

    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(_strategy(schema, root))
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn[:examples]


def generated_requests(
    openapi: dict[str, Any], paths: Sequence[str], examples: int
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(label, method, path, request arguments) drawn from the document's schemas.

    Args:
        openapi: The target's OpenAPI document.
        paths: The paths to generate requests for (request bodies and query parameters).
        examples: Requests per operation.
    """
    requests = []
    for path in paths:
        item = openapi.get("paths", {}).get(path, {})
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "schema" in body:
                for value in _draw(body["schema"], {**openapi, **body["schema"]}, examples):
                    label = f"generated body {path}"
                    requests.append((label, method.upper(), path, {"json": value}))
                continue
            query = {
                p["name"]: p.get("schema", {})
                for p in operation.get("parameters", [])
                if p.get("in") == "query"
            }
            if query:
                schema = {"type": "object", "properties": query, "additionalProperties": False}
                for value in _draw(schema, openapi, examples):
                    params = {k: str(v) for k, v in value.items() if v is not None}
                    requests.append(
                        (f"generated query {path}", method.upper(), path, {"params": params})
                    )
    return requests


def check_tls(base_url: str, ca_file: Path | None, timeout_s: float) -> TlsObservation | None:
    """Handshake with verification, then a plaintext request on the same port (None: http).

    Args:
        base_url: The target's base URL; only ``https`` URLs are checked.
        ca_file: CA bundle to verify with; None uses the system's (and SSL_CERT_FILE).
        timeout_s: Bound on each connection.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        return None
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    seen = TlsObservation()
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if ca_file is None and os.environ.get("SSL_CERT_FILE"):
        context.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            seen.verified = True
            seen.protocol = tls.version()
            seen.not_after = str((tls.getpeercert() or {}).get("notAfter", "")) or None
    except ssl.SSLError as exc:
        seen.error = f"{type(exc).__name__}: {getattr(exc, 'verify_message', '') or exc}"[:300]
    except OSError as exc:
        seen.error = f"cannot connect: {exc}"[:300]
    request = f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            raw.sendall(request)
            answer = raw.recv(4096)
    except OSError as exc:
        answer = b""
        seen.plaintext_detail = f"{type(exc).__name__}"
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    if match:
        seen.plaintext_status = int(match.group(1))
    seen.plaintext_detail = seen.plaintext_detail or answer[:120].decode("latin-1")
    return seen


def secrets_to_hide(token: str | None, env: dict[str, str], names: Iterable[str]) -> list[str]:
    """The values that must never appear: the admin token, the named variables, URL passwords.

    Args:
        token: The admin token, if the target has one.
        env: The environment the named variables are read from.
        names: Names of variables holding secrets (database URLs and the like).
    """
    found = [token] if token else []
    for name in names:
        value = env.get(name)
        if not value:
            continue
        found.append(value)
        password = urlsplit(value).password if "://" in value else None
        if password:
            found.append(password)
    return sorted({s for s in found if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)


def scan_for_secrets(
    secrets: Sequence[str], exchanges: Sequence[Exchange], files: Sequence[Path]
) -> tuple[list[str], list[str]]:
    """Where any secret appears, and what was scanned; a leak names the place, never the value.

    Args:
        secrets: The values to look for.
        exchanges: Answers the drill received.
        files: Files to read (the target's log, report files).
    """
    leaks: list[str] = []
    scanned: list[str] = [f"{len(exchanges)} responses"]
    for exchange in exchanges:
        for secret in secrets:
            if secret in exchange.body or secret in exchange.headers:
                leaks.append(f"the answer to {exchange.method} {exchange.path} [{exchange.label}]")
                break
    for path in files:
        if not path.is_file():
            continue
        scanned.append(str(path))
        with path.open("rb") as source:
            content = source.read(_SCAN_FILE_BYTES)
        for secret in secrets:
            if secret.encode() in content:
                leaks.append(f"file {path}")
                break
    return leaks, scanned


def files_to_scan(log_files: Sequence[Path], report_dir: Path) -> list[Path]:
    """The target's logs and every report file that exists so far."""
    files = [p for p in log_files if p.is_file()]
    if report_dir.is_dir():
        files += sorted(p for p in report_dir.rglob("*") if p.is_file())
    return files


def run_security_drill(
    endpoint: TargetEndpoint,
    config: SecurityDrillConfig,
    *,
    log_files: Sequence[Path],
    report_dir: Path,
    seed: int,
    env: dict[str, str],
) -> SecurityObservation:
    """Run every security probe against the target and scan what came back.

    Args:
        endpoint: The target.
        config: How many timed calls, generated requests, which secrets.
        log_files: The target's own log files vigil captured.
        report_dir: The run's report folder (every file in it is scanned).
        seed: Seed of the timing test's order.
        env: vigil's environment (where the named secrets are read).
    """
    seen = SecurityObservation(started_at=datetime.now(UTC))
    token = endpoint.admin_token.resolve().get_secret_value() if endpoint.admin_token else None
    timeout = httpx.Timeout(endpoint.request_timeout_s)
    with httpx.Client(base_url=endpoint.base_url, timeout=timeout) as http:
        openapi = read_openapi(http)
        operations = admin_operations(openapi)
        if not operations:
            seen.error = "the target's /openapi.json lists no /admin operation"
        if token is None:
            seen.admin_token_configured = False
            token = "vigil-has-no-token-for-this-target"
        seen.refusals = try_bad_tokens(http, operations, token)
        # A read-only call, so that a target which wrongly accepts the token changes nothing.
        timed = next((op for op in operations if op[0] == "GET"), None)
        if timed is not None:
            seen.timing = time_token_check(http, timed, token, config.timing_samples, seed)
        seen.bad_input = send_bad_input(http)
        seen.generated = [
            _exchange(http, label, method, path, **kwargs)
            for label, method, path, kwargs in generated_requests(
                openapi, config.fuzz_paths, config.fuzz_examples
            )
        ]
        seen.tls = check_tls(endpoint.base_url, config.tls_ca_file, endpoint.request_timeout_s)
        health = _exchange(http, "health after", "GET", endpoint.health_path)
        seen.healthy_after = health.status == 200
        surface = [
            _exchange(http, "surface", "GET", path)
            for path in ("/health", "/metrics", "/openapi.json", "/evaluation", "/incidents")
        ]
        if seen.admin_token_configured:
            authorised = {"Authorization": f"Bearer {token}"}
            surface += [
                _exchange(http, "authorised", m, p, headers=authorised)
                for m, p in operations
                if m == "GET"
            ]
    secrets = secrets_to_hide(
        token if seen.admin_token_configured else None, env, config.secret_env
    )
    every = [*seen.refusals, *seen.bad_input, *seen.generated, health, *surface]
    seen.leaks, seen.scanned = scan_for_secrets(
        secrets, every, files_to_scan(log_files, report_dir)
    )
    seen.finished_at = datetime.now(UTC)
    return seen
