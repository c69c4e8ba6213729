"""The API documentation page: Swagger UI served from the `swagger-ui-py` package installed with OpsDesk,
so the page works without internet and under a strict Content-Security-Policy (no CDN, no inline
script: the start-up code is static/api-docs.js)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def swagger_ui_assets() -> Path:
    """The package's asset folder, found without importing the package (its import pulls in YAML and
    framework glue that the page does not need)."""
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("swagger-ui-py is not installed; reinstall OpsDesk (pip install -e .)")
    return Path(spec.origin).parent / "static"


def install_api_docs(app: FastAPI, *, docs_url: str, openapi_url: str) -> None:
    assets = f"{docs_url}/assets"
    app.mount(assets, StaticFiles(directory=swagger_ui_assets()), name="swagger-ui")
    page = PAGE.format(title=app.title, assets=assets, openapi_url=openapi_url)

    @app.get(docs_url, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page)
