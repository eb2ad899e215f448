"""docs/NOTIFICATIONS.md says what the code does: the defaults table, the examples, the bounds, the services."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from events.catalog import HOOKABLE_EVENTS
from events.samples import sample_payload
from hooks.notify import templates, urls
from hooks.notify.templates import render, validate

DOC = (Path(__file__).resolve().parents[2] / "docs" / "NOTIFICATIONS.md").read_text()


def sample(event_name: str) -> dict:
    return {
        "id": "x",
        "event_name": event_name,
        "version": 1,
        "timestamp": "2026-11-24T10:00:00+00:00",
        "data": sample_payload(event_name),
    }


@pytest.mark.parametrize("event_name", HOOKABLE_EVENTS)
def test_the_defaults_table_shows_what_each_default_renders(event_name):
    rendered = render("", "", sample(event_name))
    row = f"| `{event_name}` | {rendered.title} | {rendered.body.replace(chr(10), ' ⏎ ')} |"
    assert row in DOC


@pytest.mark.parametrize("example", re.findall(r"```jinja\n(.*?)```", DOC, flags=re.S))
def test_every_template_example_is_accepted_for_every_event(example):
    validate("", example, event_names="*")
    for event_name in HOOKABLE_EVENTS:
        assert render("", example, sample(event_name)).fallback_reason is None


def test_the_limits_table_matches_the_code():
    assert f"| title / body length | {templates.MAX_TITLE_CHARS} / {templates.MAX_BODY_CHARS} characters |" in DOC
    assert f"| render time | {templates.RENDER_SECONDS} s per title or body |" in DOC
    assert f"| template length | {templates.MAX_TEMPLATE_CHARS} characters |" in DOC


def test_every_supported_scheme_is_documented():
    for scheme in urls.SUPPORTED:
        assert f"`{scheme}://" in DOC, scheme
