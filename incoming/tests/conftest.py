from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    """A fixture file: ``about`` (which source file and version it follows), ``content_type``, ``body``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_names(prefix: str) -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob(f"{prefix}_*.json"))


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def post_fixture(client: Any, url: str, name: str, **extra: Any) -> Any:
    """Post a fixture the way its app does: JSON or text/plain body, or the JSON in a multipart field."""
    fixture = load(name)
    content_type = fixture["content_type"]
    text = json.dumps(fixture["body"])
    if content_type == "multipart/form-data":
        field = "payload" if name.startswith("plex") else "data"
        return client.post(url, data={field: text}, **extra)
    return client.post(url, data=text, content_type=content_type, **extra)


@pytest.fixture
def make_source(db):
    """Create a source through the service; return (source, key)."""
    from incoming import services

    def make(name: str = "sonarr", kind: str = "sonarr", **fields: Any):
        return services.source_create(name=name, kind=kind, source="api", **fields)

    return make


@pytest.fixture
def accepted_events():
    """Envelopes of webhook_received accepted during the test (sent at once, inside the request's transaction)."""
    from events.signals import event_accepted

    seen: list[dict] = []

    def receiver(sender: str, envelope: dict, **kwargs: Any) -> None:
        if sender == "webhook_received":
            seen.append(envelope)

    event_accepted.connect(receiver, dispatch_uid="incoming-tests-accepted", weak=False)
    yield seen
    event_accepted.disconnect(dispatch_uid="incoming-tests-accepted")
