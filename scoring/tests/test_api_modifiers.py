from __future__ import annotations

import pytest

from scoring.models import ProviderScoreModifier

pytestmark = pytest.mark.django_db

URL = "/api/scoring/modifiers/"
NAME_RULE = "Must be 1-64 characters of lowercase letters, digits, '_' and '-'."


def stored() -> dict[str, int]:
    return dict(ProviderScoreModifier.objects.values_list("provider_name", "modifier"))


def test_list_set_change_and_delete(staff_client, user_client, config_events, django_capture_on_commit_callbacks):
    assert user_client.get(URL).json() == []
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(URL, {"provider_name": "opensubtitles", "modifier": 20}, format="json")
    assert response.status_code == 200
    assert response.json() == {"provider_name": "opensubtitles", "modifier": 20}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(f"{URL}podnapisi/", {"modifier": -15}, format="json")
    assert response.json() == {"provider_name": "podnapisi", "modifier": -15}
    assert user_client.get(URL).json() == [
        {"provider_name": "opensubtitles", "modifier": 20},
        {"provider_name": "podnapisi", "modifier": -15},
    ]
    assert user_client.get(f"{URL}podnapisi/").json() == {"provider_name": "podnapisi", "modifier": -15}
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.delete(f"{URL}opensubtitles/").status_code == 204
    assert staff_client.delete(f"{URL}opensubtitles/").status_code == 404
    assert user_client.get(f"{URL}opensubtitles/").status_code == 404
    assert stored() == {"podnapisi": -15}
    assert [event["changed_keys"] for event in config_events] == [
        ["scoring.modifiers.opensubtitles"],
        ["scoring.modifiers.podnapisi"],
        ["scoring.modifiers.opensubtitles"],
    ]
    assert {event["source"] for event in config_events} == {"api"}


@pytest.mark.parametrize(
    ("method", "path", "body", "errors"),
    [
        ("post", "", {"provider_name": "Open Subs", "modifier": 1}, {"provider_name": [NAME_RULE]}),
        ("post", "", {"provider_name": "x" * 65, "modifier": 1}, {"provider_name": [NAME_RULE]}),
        ("post", "", {"provider_name": "", "modifier": 1}, {"provider_name": [NAME_RULE]}),
        ("post", "", {"provider_name": 7, "modifier": 1}, {"provider_name": [NAME_RULE]}),
        ("post", "", {"modifier": 1}, {"provider_name": ["This field is required."]}),
        (
            "post",
            "",
            {"provider_name": "ok", "modifier": 1001},
            {"modifier": ["Must be between -1000 and 1000, not 1001."]},
        ),
        ("post", "", {"provider_name": "ok", "modifier": True}, {"modifier": ["Must be an integer, not a boolean."]}),
        ("post", "", {"provider_name": "ok", "modifier": 0.5}, {"modifier": ["Must be an integer, not a float."]}),
        (
            "post",
            "",
            {"provider_name": "ok", "modifier": 1, "weight": 2},
            {"weight": ["Unknown field. Allowed: provider_name, modifier."]},
        ),
        ("put", "ok/", {"modifier": -1001}, {"modifier": ["Must be between -1000 and 1000, not -1001."]}),
        ("put", "ok/", {"modifier": "5"}, {"modifier": ["Must be an integer, not str."]}),
        ("put", "Bad.Name/", {"modifier": 5}, {"provider_name": [NAME_RULE]}),
        ("delete", "Bad.Name/", None, {"provider_name": [NAME_RULE]}),
    ],
)
def test_bad_input_is_a_400_with_field_messages_and_nothing_is_saved(staff_client, method, path, body, errors):
    staff_client.put(f"{URL}kept/", {"modifier": 3}, format="json")
    response = getattr(staff_client, method)(f"{URL}{path}", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert stored() == {"kept": 3}
