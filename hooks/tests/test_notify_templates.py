"""Notification templates: defaults for every event, save-time refusals with line and message, bounded rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from events.catalog import HOOKABLE_EVENTS
from events.errors import Invalid
from events.samples import sample_payload
from hooks.notify import defaults, templates
from hooks.notify.templates import render, validate


def envelope(event_name: str = "subtitle_downloaded", data: dict | None = None) -> dict:
    return {
        "id": "3f1c2a9e-5b7d-4e2f-9a1b-0c3d4e5f6a7b",
        "event_name": event_name,
        "version": 1,
        "timestamp": "2026-11-24T10:00:00.123456+00:00",
        "data": sample_payload(event_name) if data is None else data,
    }


@pytest.mark.parametrize("event_name", HOOKABLE_EVENTS)
def test_every_hookable_event_has_a_default_that_renders_its_sample_and_an_empty_payload(event_name):
    assert event_name in defaults.DEFAULTS
    full = render("", "", envelope(event_name))
    assert full.fallback_reason is None
    assert full.title
    assert full.body
    empty = render("", "", envelope(event_name, data={}))
    assert empty.fallback_reason is None
    assert empty.title


@pytest.mark.parametrize("event_name", HOOKABLE_EVENTS)
def test_every_default_passes_the_save_time_check_of_its_event(event_name):
    title, body = defaults.DEFAULTS[event_name]
    validate(title, body, event_names=[event_name])


def test_the_default_subtitle_downloaded_message():
    rendered = render("", "", envelope())
    assert rendered == (
        "Subtitle downloaded: The Expanse S02E05",
        "The Expanse S02E05\nLanguage: de, format: ass, score: 412\nProvider: opensubtitles",
        None,
    )


def test_a_template_sees_the_envelope_and_the_helpers():
    title = "{{ event }}|{{ event_label }}|{{ id }}|{{ timestamp }}|{{ version }}"
    body = "{{ media }} {{ data.language | upper }} {{ when.strftime('%H:%M %Z') }}"
    rendered = render(title, body, envelope(), tz=ZoneInfo("Europe/Berlin"))
    assert rendered.title.split("|") == [
        "subtitle_downloaded",
        "Subtitle downloaded",
        "3f1c2a9e-5b7d-4e2f-9a1b-0c3d4e5f6a7b",
        "2026-11-24T10:00:00.123456+00:00",
        "1",
    ]
    assert rendered.body == "The Expanse S02E05 DE 11:00 CET"
    assert rendered.fallback_reason is None


def test_a_declared_key_missing_from_the_payload_is_none_not_an_error():
    rendered = render("{{ data.movie_title is none }}", "{{ data.score or 'no score' }}", envelope(data={}))
    assert rendered == ("True", "no score", None)


def test_context_for_gives_when_in_the_asked_time_zone():
    context = templates.context_for(envelope(), tz=ZoneInfo("America/New_York"))
    assert context["when"] == datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)
    assert context["when"].utcoffset().total_seconds() == -5 * 3600


@pytest.mark.parametrize(
    ("data", "media"),
    [
        ({"series_title": "Dark", "season": 1, "episode": 3}, "Dark S01E03"),
        ({"series_title": "Dark", "season": 2, "episode": None}, "Dark S02"),
        ({"movie_title": "Heat", "series_title": None}, "Heat"),
        ({"title": "Dark", "season_episode": "S01E03"}, "Dark S01E03"),
        ({}, ""),
    ],
)
def test_media_names_what_the_event_is_about(data, media):
    assert templates.context_for({"event_name": "webhook_received", "data": data})["media"] == media


# --- refused at save, with the line and the message -----------------------------------------------------------------


def refusal(title="", body="", event_names="subtitle_downloaded") -> dict:
    with pytest.raises(Invalid) as caught:
        validate(title, body, event_names=event_names)
    return caught.value.errors


def test_a_template_that_does_not_parse_is_refused_with_its_line():
    assert refusal(body="Hello\n{{ data.score | }}\nbye") == {
        "body_template": ["line 2: expected token 'name', got 'end of print statement'"]
    }
    assert refusal(title="{% if data.score %}no end") == {
        "title_template": [
            "line 1: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or "
            "'endif'. The innermost block that needs to be closed is 'if'."
        ]
    }


def test_an_unknown_variable_is_refused_with_its_line():
    assert refusal(title="ok\n{{ subtitle }}") == {
        "title_template": [
            "line 2: unknown variable 'subtitle'; available: event, event_label, data, id, timestamp, when, media, "
            "version"
        ]
    }


def test_a_payload_key_the_event_does_not_have_is_refused():
    errors = refusal(body="{{ data.error }}")
    assert errors["body_template"][0].startswith(
        "line 1: data.error is not a payload key of subtitle_downloaded; available: episode, format,"
    )


def test_payload_keys_are_checked_against_every_subscribed_event():
    errors = refusal(title="{{ data.error }}", event_names=["subtitle_downloaded", "batch_complete"])
    assert "data.error is not a payload key of subtitle_downloaded, batch_complete" in errors["title_template"][0]
    # A key one of the events has is fine; for the others it is None.
    both = ["provider_failed", "subtitle_downloaded"]
    validate("{{ data.error or 'no error' }}", "", event_names=both)
    assert render("{{ data.error or 'no error' }}", "", envelope("subtitle_downloaded")).title == "no error"
    # '*' means every hookable event: a key any of them has is known.
    validate("{{ data.error }}", "", event_names="*")


def test_a_template_failing_on_the_sample_payload_is_refused_with_the_reason():
    assert refusal(title="{{ data.score + 'x' }}") == {
        "title_template": [
            "line 1: unsupported operand type(s) for +: 'int' and 'str' "
            "(rendering the sample subtitle_downloaded event)"
        ]
    }


def test_both_fields_are_reported_at_once_and_empty_templates_are_valid():
    assert set(refusal(title="{{ nope }}", body="{% for %}")) == {"title_template", "body_template"}
    validate("", "", event_names="*")
    validate(None, None, event_names="*")


def test_a_template_that_is_not_text_or_too_long_is_refused():
    assert refusal(title=12) == {"title_template": ["Enter text."]}
    assert refusal(body="x" * (templates.MAX_TEMPLATE_CHARS + 1)) == {
        "body_template": [f"A template may be at most {templates.MAX_TEMPLATE_CHARS} characters."]
    }
    assert "Surrogate" in refusal(body="\ud800")["body_template"][0]


# --- a template failing at render time falls back to the default -----------------------------------------------------


def test_a_render_failure_falls_back_to_the_default_and_says_why():
    rendered = render("Got {{ data.score + 'x' }}", "Custom body {{ media }}", envelope())
    assert rendered.title == "Subtitle downloaded: The Expanse S02E05"
    assert rendered.body == "Custom body The Expanse S02E05"
    assert rendered.fallback_reason == (
        "the title template failed (line 1: unsupported operand type(s) for +: 'int' and 'str'); the default was used"
    )


def test_a_template_naming_an_unknown_key_falls_back_at_render_time_too():
    rendered = render("", "{{ data.nope }}", envelope())
    assert rendered.body == templates.render("", "", envelope()).body
    assert rendered.fallback_reason == (
        "the body template failed (line 1: 'dict object' has no attribute 'nope'); the default was used"
    )


# --- the sandbox ------------------------------------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ data['__class__'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ lipsum.__globals__ }}",
    "{{ (data|attr('items'))() }}{{ data.update({'a': 1}) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused_at_save_and_harmless_at_render(source):
    errors = refusal(body=source)
    assert errors["body_template"]
    rendered = render("", source, envelope())
    assert rendered.body == render("", "", envelope()).body
    assert (rendered.fallback_reason or "").startswith("the body template failed (")
    assert "<class" not in rendered.body
    assert "function" not in rendered.body


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ range(10**9) }}", "range(): the number 1000000000 is larger than 10000"),
        ("{{ range(10**9) | list | length }}", "range(): the number 1000000000 is larger than 10000"),
        ("{{ 'x' * 10**9 }}", "'*' would build a value longer than 40000 characters"),
        ("{{ [1] * 10**9 }}", "'*' would build a value longer than 40000 characters"),
        ("{{ 2 ** 100000 }}", "the power 100000 is too large"),
        ("{{ 'x' | center(100000) }}", "the center filter: the number 100000 is larger than 10000"),
        ("{{ ((data.subtitle_path ~ '\n') * 9) | indent(9999) }}", "the indent filter would build a value longer"),
        ("{{ '%099999d' | format(1) }}", "a format with a number larger than 10000"),
        ("{{ '{:>99999}'.format(1) }}", "str.format() would be longer than 10000 characters or items"),
        ("{{ 'x'.ljust(10**6) }}", "ljust(): the number 1000000 is larger than 10000"),
        ("{{ 'x'.expandtabs(8) }}", "expandtabs() is not available in notification templates"),
        ("{{ data.subtitle_path.replace('', 'x' * 9000) }}", "replace() would build a value longer than 40000"),
        ("{{ ('x' * 9000).join(data.subtitle_path) }}", "join() would build a value longer than 40000"),
        ("{{ data.subtitle_path | join('x' * 9000) }}", "join() would build a value longer than 40000"),
        ("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", "took longer than 0.5 s"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
        ("{% for a in range(10000) %}0123456789{% endfor %}", f"longer than {templates.MAX_BODY_CHARS} characters"),
    ],
)
def test_resource_hungry_templates_are_stopped_and_fall_back(source, reason):
    rendered = render("", source, envelope())
    assert rendered.body == render("", "", envelope()).body
    assert reason in (rendered.fallback_reason or "")
    with pytest.raises(Invalid) as caught:
        validate("", source, event_names="subtitle_downloaded")
    assert reason in caught.value.errors["body_template"][0]


def test_output_is_bounded_per_part():
    long_title = render("{{ 'x' * 251 }}", "", envelope())
    assert long_title.fallback_reason == (
        f"the title template failed (the title is longer than {templates.MAX_TITLE_CHARS} characters); "
        "the default was used"
    )
    exact = render("{{ 'x' * 250 }}", "", envelope())
    assert exact.title == "x" * 250
    assert exact.fallback_reason is None


def test_ordinary_template_features_still_work():
    body = (
        "{% set ns = namespace(n=0) %}{% for p in data.paths %}{% set ns.n = ns.n + 1 %}{{ loop.index }}. {{ p }}\n"
        "{% endfor %}{{ ns.n }} path(s); {{ data.languages | join(', ') }}; {{ '%.1f' | format(data.year / 7) }}; "
        "{{ '{} of {}'.format(1, 2) }}; {{ range(3) | list }}; {{ data.release_title | truncate(20) }}"
    )
    validate("", body, event_names="webhook_received")
    rendered = render("", body, envelope("webhook_received"))
    assert rendered.fallback_reason is None
    assert rendered.body == (
        "1. /media/tv/The Expanse/Season 02/The.Expanse.S02E05.mkv\n"
        "1 path(s); English; 287.9; 1 of 2; [0, 1, 2]; The.Expanse.S02E0..."
    )
