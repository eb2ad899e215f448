from __future__ import annotations

import pytest

from scoring import selectors
from scoring.models import UntrustedHashProvider

pytestmark = pytest.mark.django_db

URL = "/api/scoring/hash-trust/"
NAME_RULE = "Must be 1-64 characters of lowercase letters, digits, '_' and '-'."


def stored() -> list[str]:
    return list(UntrustedHashProvider.objects.values_list("provider_name", flat=True))


def test_every_provider_is_trusted_until_marked_otherwise(
    staff_client, user_client, config_events, django_capture_on_commit_callbacks
):
    assert user_client.get(URL).json() == []
    assert user_client.get(f"{URL}subdl/").json() == {"provider_name": "subdl", "hash_trusted": True}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(f"{URL}subdl/", {"hash_trusted": False}, format="json")
    assert response.status_code == 200
    assert response.json() == {"provider_name": "subdl", "hash_trusted": False}
    assert user_client.get(URL).json() == [{"provider_name": "subdl", "hash_trusted": False}]
    assert user_client.get(f"{URL}subdl/").json() == {"provider_name": "subdl", "hash_trusted": False}
    assert selectors.get_scoring_config("episode").hash_untrusted == frozenset({"subdl"})
    # Distrusting again changes nothing and emits nothing.
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.put(f"{URL}subdl/", {"hash_trusted": False}, format="json")
        staff_client.put(f"{URL}subdl/", {"hash_trusted": True}, format="json")
    assert stored() == []
    assert selectors.get_scoring_config("episode").hash_untrusted == frozenset()
    assert config_events == [
        {"changed_keys": ["scoring.hash_trust.subdl"], "source": "api"},
        {"changed_keys": ["scoring.hash_trust.subdl"], "source": "api"},
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "errors"),
    [
        ("put", "Sub DL/", {"hash_trusted": False}, {"provider_name": [NAME_RULE]}),
        ("get", "Sub DL/", None, {"provider_name": [NAME_RULE]}),
        ("put", "subdl/", {"hash_trusted": "no"}, {"hash_trusted": ["Must be true or false, not a string."]}),
        ("put", "subdl/", {"hash_trusted": 0}, {"hash_trusted": ["Must be true or false, not a number."]}),
        ("put", "subdl/", {}, {"hash_trusted": ["This field is required."]}),
        ("put", "subdl/", {"hash_trusted": False, "x": 1}, {"x": ["Unknown field. Allowed: hash_trusted."]}),
    ],
)
def test_bad_hash_trust_input_is_a_400_with_field_messages(staff_client, method, path, body, errors):
    response = getattr(staff_client, method)(f"{URL}{path}", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert stored() == []


def test_only_staff_may_change_hash_trust(user_client, anon_client):
    assert anon_client.get(URL).status_code == 401
    assert user_client.put(f"{URL}subdl/", {"hash_trusted": False}, format="json").status_code == 403
    assert stored() == []


def test_the_admin_distrusts_and_trusts_again_through_the_services(
    admin_client, django_capture_on_commit_callbacks, config_events
):
    add = "/admin/scoring/untrustedhashprovider/add/"
    response = admin_client.post(add, {"provider_name": "Bad Name"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"provider_name": [NAME_RULE]}
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(add, {"provider_name": "subdl"}).status_code == 302
    row = UntrustedHashProvider.objects.get()
    assert admin_client.get("/admin/scoring/untrustedhashprovider/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/scoring/untrustedhashprovider/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert stored() == []
    assert config_events == [
        {"changed_keys": ["scoring.hash_trust.subdl"], "source": "admin"},
        {"changed_keys": ["scoring.hash_trust.subdl"], "source": "admin"},
    ]


def test_the_preview_scores_an_untrusted_hash_as_nothing(staff_client, user_client):
    staff_client.put(f"{URL}subdl/", {"hash_trusted": False}, format="json")
    body = {
        "query": {"title": "Arrival"},
        "results": [{"provider_name": "subdl", "subtitle_id": "1", "matches": ["hash", "title"]}],
    }
    row = user_client.post("/api/scoring/preview/", body, format="json").json()["results"][0]
    assert (row["score"], row["score_breakdown"]) == (60, {"title": 60, "hash_untrusted": 0})
