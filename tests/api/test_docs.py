"""``/docs`` and ``/redoc`` work offline: every asset they reference is served by the API itself."""

from __future__ import annotations

import re

import pytest
from apitools import Server

# src="...", href="...", url: '...', spec-url="..." in the HTML of the documentation pages
_REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_no_external_host(api: Server, page: str) -> None:
    with api.client(None) as c:
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        refs = [a or b for a, b in _REFERENCE.findall(r.text)]
        assert len(refs) >= 2, refs  # the script and the OpenAPI document at least
        assert not re.search(r"https?://|//[a-z0-9]", r.text, re.IGNORECASE), "external URL in " + page
        for ref in refs:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            asset = c.get(ref)
            assert asset.status_code == 200 and len(asset.content) > 100, (ref, asset.status_code)


def test_swagger_assets_have_their_types(api: Server) -> None:
    with api.client(None) as c:
        js = c.get("/docs/static/swagger-ui-bundle.js")
        css = c.get("/docs/static/swagger-ui.css")
        redirect = c.get("/docs/oauth2-redirect")
    assert "javascript" in js.headers["content-type"] and "SwaggerUIBundle" in js.text
    assert css.headers["content-type"].startswith("text/css")
    assert redirect.status_code == 200
