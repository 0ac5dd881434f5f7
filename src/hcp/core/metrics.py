"""Prometheus metrics of the process, and the HTTP middleware that counts and times requests.

One registry per process (`REGISTRY`); domains register their own gauges and histograms on
it. Requests are labelled by route template (`/api/v1/resources/{id}`), never by raw path,
so that ids cannot blow up the label space.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hcp.core.errors import error_body

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "hcp_http_requests_total",
    "HTTP requests served, by route template, method and status",
    ["service", "method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "hcp_http_request_duration_seconds",
    "Time to serve an HTTP request, by route template",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)

log = structlog.get_logger("hcp.http")


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestMiddleware:
    """Request id, access log line, request count and latency for every HTTP request."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = False
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost handler so that the reply
            # still carries the request id the log line has.
            log.exception("unhandled error", path=scope.get("path"))
            if started:
                raise
            body = json.dumps(error_body(
                "internal_error", "internal error; the request id identifies it in the logs",
                {"request_id": request_id})).encode()
            await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
            if route not in ("/health", "/metrics"):
                fields: dict[str, Any] = {
                    "method": method, "path": scope.get("path"), "status": status,
                    "ms": round(elapsed * 1000, 2),
                }
                log.info("request", **fields)
            structlog.contextvars.unbind_contextvars("request_id")
