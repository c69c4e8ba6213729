"""The API documentation page works with no network and under a strict CSP, and the OpenAPI document it
shows states the security scheme, the error answers and the bounds of every parameter."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer

CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
MAX_ID = 2**31 - 1


def _document(server: LiveServer) -> dict[str, Any]:
    with server.client() as client:
        response = client.get("/api/v1/openapi.json", timeout=60)  # built on first use: slow on a busy box
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


@pytest.mark.browser
def test_docs_page_renders_every_operation_offline_under_csp(browser: Any, live_server: LiveServer) -> None:
    doc = _document(live_server)
    page = browser.new_page()
    outside: list[str] = []
    violations: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort("internetdisconnected")
            return
        if route.request.url.endswith("/api/v1/docs"):  # the CSP the pages will be served with
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})
            return
        route.continue_()

    page.route("**/*", only_loopback)
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() == len(_operations(doc))
    assert page.locator(".information-container .title").inner_text().startswith("OpsDesk")
    assert outside == []
    assert violations == []
    page.close()


def test_document_declares_bearer_security_and_error_answers(live_server: LiveServer) -> None:
    doc = _document(live_server)
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An OpsDesk API token",
    }
    assert doc["security"] == [{"bearerAuth": []}]
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, method, op in _operations(doc):
        answers = op["responses"]
        for status in ("400", "401", "403", "404", "429", "503"):
            assert answers[status]["content"]["application/json"]["schema"] == error_ref, (path, method)
        assert "Retry-After" in answers["429"]["headers"]
        if op.get("parameters") or "requestBody" in op:
            assert "422" in answers, (path, method)
        if method != "get":
            assert "409" in answers, (path, method)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_document_states_the_bounds_of_every_parameter(live_server: LiveServer) -> None:
    """Every integer parameter has both bounds (ids at most 2^31-1), every text parameter a length."""
    doc = _document(live_server)
    unbounded = []
    for path, method, op in _operations(doc):
        for param in op.get("parameters", []):
            schemas = param["schema"].get("anyOf", [param["schema"]])
            for schema in schemas:
                kind = schema.get("type")
                name = f"{method.upper()} {path} {param['name']}"
                if kind == "integer" and ("minimum" not in schema or "maximum" not in schema):
                    unbounded.append(name)
                if kind == "integer" and param["name"].endswith("id") and schema.get("maximum", 0) > MAX_ID:
                    unbounded.append(name + " (id above 2^31-1)")
                free_text = kind == "string" and not {"format", "enum", "maxLength"} & schema.keys()
                if free_text:
                    unbounded.append(name)
    assert unbounded == []
