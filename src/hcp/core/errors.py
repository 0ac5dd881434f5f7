"""One JSON error envelope for every failure: `{"error": {"code", "message", "details"}}`.

Domain code raises `HCPError` subclasses; the handlers here turn them, validation failures,
unknown routes and unexpected exceptions into that envelope, never a stack trace.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class HCPError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class NotFound(HCPError):
    status_code = 404
    code = "not_found"


class Conflict(HCPError):
    status_code = 409
    code = "conflict"


class Unauthorized(HCPError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HCPError):
    status_code = 403
    code = "forbidden"


class InvalidInput(HCPError):
    """Input that passed the schema but breaks a rule only the service can check."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details=[{"field": field, "message": message}])


class Unavailable(HCPError):
    status_code = 503
    code = "unavailable"


class TooManyRequests(HCPError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable: not_found, validation_error, budget_exceeded, ...")
    message: str = Field(description="for people: what went wrong, naming the field where one did")
    details: Any = None


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "units", 0, "power_w") -> "units[0].power_w"; the "body"/"query" part is noise.
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = err.get("loc", ())
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
        details.append({"field": _field_name(loc), "in": where, "message": err.get("msg", "invalid")})
    return details


def validation_response(errors: list[Any]) -> JSONResponse:
    details = validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid input"}
    message = f"{first['field']}: {first['message']}"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return JSONResponse(error_body("validation_error", message, details), status_code=422)


async def _hcp_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HCPError)
    headers = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
    )


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    return validation_response(list(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route"
    return JSONResponse(
        error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = request.scope.get("state", {}).get("request_id")
    log.exception("unhandled error", path=request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "internal error; the request id identifies it in the logs",
                   {"request_id": request_id}),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HCPError, _hcp_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
