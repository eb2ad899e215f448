"""The Swagger UI at /api/docs/ loads every script and stylesheet from this server (works offline, versions pinned)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import urllib3

import testsupport

pytestmark = pytest.mark.slow

SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist"


class _AssetLinks(HTMLParser):
    """Collect the URLs of a page's scripts and linked resources (stylesheets, icon)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def test_swagger_ui_assets_are_served_by_this_server(start_server, proc_env):
    # As ./run and the README's scale-out steps do before serving: whitenoise serves what collectstatic gathered.
    collected = testsupport.manage("collectstatic", "--no-input", "-v0", env=proc_env)
    assert collected.returncode == 0, collected.stderr
    server = start_server()

    page = urllib3.request("GET", f"{server.url}/api/docs/")
    links = _AssetLinks()
    links.feed(page.data.decode())

    assert page.status == 200
    assert sorted(links.urls) == [
        f"{SIDECAR}/favicon-32x32.png",
        f"{SIDECAR}/swagger-ui-bundle.js",
        f"{SIDECAR}/swagger-ui-standalone-preset.js",
        f"{SIDECAR}/swagger-ui.css",
    ]
    for url in links.urls:
        assert urllib3.request("GET", f"{server.url}{url}").status == 200, url
