"""Domain errors and bad requests become 4xx JSON with a message and the field at fault under `/api`,
and an HTML error page everywhere else (a person reads a page, a program reads the API)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsdesk.core.errors import (
    Conflict,
    NotFound,
    OpsDeskError,
    PermissionDenied,
    SignatureRejected,
    Throttled,
    TooLarge,
    ValidationFailed,
)

STATUS_BY_ERROR: dict[type[OpsDeskError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    PermissionDenied: (403, "forbidden"),
    SignatureRejected: (401, "bad_signature"),
    ValidationFailed: (422, "invalid"),
    Conflict: (409, "conflict"),
    TooLarge: (413, "too_large"),
    Throttled: (429, "too_many_requests"),
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _validation_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "json_invalid":
        return "the request body is not valid JSON: " + str(err.get("ctx", {}).get("error", "parse error"))
    if kind == "extra_forbidden":
        return f"unknown field {_field_of(err.get('loc', ()))!r}"
    if kind == "missing":
        return f"{_field_of(err.get('loc', ())) or 'body'} is required"
    return str(err.get("msg", "invalid value"))


def _html_error(request: Request, status: int, message: str) -> Response | None:
    """The HTML error page for a page's URL, or None under `/api` (and before pages are installed)."""
    html_error = getattr(request.app.state, "html_error", None)
    if html_error is None or request.url.path.startswith("/api/"):
        return None
    response: Response = html_error(request, status, message)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpsDeskError)
    async def _domain(request: Request, exc: OpsDeskError) -> Response:
        status, code = next(
            (v for k, v in STATUS_BY_ERROR.items() if isinstance(exc, k)), (400, "bad_request")
        )
        response = _html_error(request, status, exc.message) or JSONResponse(
            error_body(code, exc.message, exc.field), status_code=status
        )
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        # On a page, a path that names no record (``/customers/abc``) is a page that does not exist; a
        # bad filter or form field is a 400 naming the field.
        if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
            page = _html_error(request, 404, f"There is no page at {request.url.path}.")
        else:
            field = _field_of(first.get("loc", ())) or "input"
            page = _html_error(request, 400, f"{field}: {_validation_message(first)}")
        if page is not None:
            return page
        body = error_body("invalid", _validation_message(first), _field_of(first.get("loc", ())))
        body["error"]["all"] = [
            {"field": _field_of(e.get("loc", ())), "message": _validation_message(e)} for e in errors
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        unnamed = exc.status_code == 404 and exc.detail == "Not Found"  # Starlette's: no route matched
        message = f"There is no page at {request.url.path}." if unnamed else str(exc.detail)
        page = _html_error(request, exc.status_code, message)
        if page is not None:
            if headers:
                page.headers.update(headers)
            return page
        return JSONResponse(
            error_body("http_" + str(exc.status_code), str(exc.detail)),
            status_code=exc.status_code,
            headers=headers,
        )
