"""API clients get JSON for every answer, also for a path no route matches."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/hooks/abc/", "/api/webhooks/null,null/enable/", "/api/nothing-here/"])
def test_an_unmatched_api_path_is_a_json_404(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unmatched_path_outside_the_api_keeps_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
