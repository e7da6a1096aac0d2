"""``/docs`` (Swagger UI) and ``/redoc`` served with local assets, so they work offline.

FastAPI's defaults load the JavaScript and CSS from a CDN (and ReDoc its fonts from Google).
The assets here come from the ``fastapi-offline`` package (Swagger UI 5, ReDoc standalone),
mounted as static files under ``/docs/static``; nothing on these pages names another host.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_PATH = "/docs/static"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def _assets_dir() -> str:
    return str(files("fastapi_offline") / "static")


def install(app: FastAPI, swagger_ui_parameters: dict[str, Any] | None = None) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and the static assets to an app.

    The app must be created with ``docs_url=None, redoc_url=None``.
    """
    app.mount(STATIC_PATH, StaticFiles(directory=_assets_dir()), name="docs-static")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"), title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_PATH}/favicon.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH, swagger_ui_parameters=swagger_ui_parameters)

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"), title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_PATH}/favicon.png", with_google_fonts=False)

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
