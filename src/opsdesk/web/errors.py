"""Domain errors and bad requests become 4xx JSON with a message and the field at fault."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsdesk.core.errors import Conflict, NotFound, OpsDeskError, PermissionDenied, TooLarge, ValidationFailed

STATUS_BY_ERROR: dict[type[OpsDeskError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    PermissionDenied: (403, "forbidden"),
    ValidationFailed: (422, "invalid"),
    Conflict: (409, "conflict"),
    TooLarge: (413, "too_large"),
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpsDeskError)
    async def _domain(request: Request, exc: OpsDeskError) -> Response:
        status, code = next(
            (v for k, v in STATUS_BY_ERROR.items() if isinstance(exc, k)), (400, "bad_request")
        )
        html_error = getattr(request.app.state, "html_error", None)
        if html_error is not None and not request.url.path.startswith("/api/"):
            response: Response = html_error(request, exc, status)
            return response
        return JSONResponse(error_body(code, exc.message, exc.field), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        html_error = getattr(request.app.state, "html_error", None)
        if html_error is not None and not request.url.path.startswith("/api/"):
            # A page: a bad id in the path names no page (404); a bad filter or form field is a 400.
            status = 404 if tuple(first.get("loc", ()))[:1] == ("path",) else 400
            problem = ValidationFailed(
                f"{_field_of(first.get('loc', ())) or 'input'}: {_validation_message(first)}"
            )
            page: Response = html_error(request, problem, status)
            return page
        body = error_body("invalid", _validation_message(first), _field_of(first.get("loc", ())))
        body["error"]["all"] = [
            {"field": _field_of(e.get("loc", ())), "message": _validation_message(e)} for e in errors
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body("http_" + str(exc.status_code), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
