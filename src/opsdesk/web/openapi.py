"""The OpenAPI document states what the API really answers: the bearer token it needs, and the error
answers (one body shape, from web.errors) that every operation can give, so clients and schemathesis
can rely on it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "A stable machine-readable code"},
                "message": {"type": "string", "description": "What was wrong, for a person"},
                "field": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "The parameter or body field at fault, when there is one",
                },
                "all": {
                    "type": "array",
                    "description": "Every invalid field (validation errors only)",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "string"}}
}

# What each error answer means; which operations give it is decided in `_error_statuses`.
ERRORS: dict[str, str] = {
    "400": "The request cannot be carried out as it stands",
    "401": "No valid API token or session came with the request",
    "403": "The signed-in user may not do this",
    "404": "A resource named by the request does not exist or is not visible to the user",
    "409": "The request conflicts with the resource's current state",
    "413": "The request body or an attachment is over the size limit",
    "422": "A parameter or body field is invalid (missing, wrong type or out of bounds)",
    "429": "Too many requests; retry after the time in Retry-After",
    "503": "The server is overloaded (no database connection in time); retry after Retry-After",
}


def _error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    """Every operation may refuse (401, 403), find nothing it names or nothing yet to show (404), be
    throttled (429), shed load (503) or fail a domain rule (400). Only operations with input can be
    invalid (422); only writes conflict (409); only bodies can be too large (413)."""
    statuses = ["400", "401", "403", "404", "429", "503"]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append("422")
    if method in ("post", "put", "patch", "delete"):
        statuses.append("409")
    if "requestBody" in operation:
        statuses.append("413")
    return sorted(statuses)


def _document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description="Send an API token as `Authorization: Bearer <token>` (`opsdesk token create`).",
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An OpsDesk API token"}
    }
    doc["security"] = [{"bearerAuth": []}]
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path_item in doc.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                answer: dict[str, Any] = {"description": ERRORS[status], **ref}
                if status in ("429", "503"):
                    answer["headers"] = RETRY_AFTER
                responses[status] = answer
    return doc


def install_openapi(app: FastAPI) -> None:
    """Replaces FastAPI's generator with one that adds the security scheme and the error answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
