from __future__ import annotations

import pytest

from scoring import EPISODE_SCORES, get_weights, services
from scoring.models import ProviderScoreModifier, ScoringWeight

pytestmark = pytest.mark.django_db

URL = "/admin/scoring/scoringweight/"


def post_data(score_type: str, **values: int | str) -> dict[str, str]:
    from scoring.scores import DEFAULT_SCORES

    current = get_weights(score_type)
    data = {"score_type": score_type, "save": "1"}
    for key in DEFAULT_SCORES[score_type]:
        data[f"{score_type}-{key}"] = str(values.get(key, current[key]))
    return data


def stored() -> set[tuple[str, str, int]]:
    return set(ScoringWeight.objects.values_list("score_type", "weight_key", "weight_value"))


def test_weights_page_shows_every_key_with_its_default_beside_the_value(admin_client):
    services.scoring_weights_update(score_type="episode", weights={"hash": 400})
    response = admin_client.get(URL)
    assert response.status_code == 200
    episode = next(form for form in response.context["forms"] if form.score_type == "episode")
    rows = [(row["key"], row["field"].value(), row["default"], row["overridden"]) for row in episode.rows]
    assert rows[:3] == [("hash", 400, 359, True), ("series", 180, 180, False), ("year", 90, 90, False)]
    assert [row[0] for row in rows] == list(EPISODE_SCORES)
    assert b"<td><code>hash</code></td>" in response.content
    # The admin index links to this page.
    assert URL.encode() in admin_client.get("/admin/").content


def test_saving_goes_through_the_services(admin_client, django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(URL, post_data("movie", hash=150, title=70))
    assert response.status_code == 302
    assert stored() == {("movie", "hash", 150), ("movie", "title", 70)}
    assert get_weights("movie")["hash"] == 150
    assert config_events == [
        {"changed_keys": ["scoring.weights.movie.hash", "scoring.weights.movie.title"], "source": "admin"}
    ]
    data = {**post_data("movie"), "movie-reset_hash": "on"}
    assert admin_client.post(URL, data).status_code == 302
    assert stored() == {("movie", "title", 70)}
    assert admin_client.post(URL, {"score_type": "movie", "reset_type": "1"}).status_code == 302
    assert stored() == set()


def test_a_bad_value_shows_the_field_message_and_saves_nothing(admin_client):
    services.scoring_weights_update(score_type="episode", weights={"year": 1})
    response = admin_client.post(URL, post_data("episode", hash=20000, series=5))
    assert response.status_code == 200
    form = next(form for form in response.context["forms"] if form.score_type == "episode")
    assert form.errors == {"hash": ["Must be between 0 and 10000, not 20000."]}
    assert stored() == {("episode", "year", 1)}
    response = admin_client.post(URL, post_data("episode", hash="many"))
    form = next(form for form in response.context["forms"] if form.score_type == "episode")
    assert form.errors == {"hash": ["Enter a whole number."]}
    assert stored() == {("episode", "year", 1)}


def test_staff_without_change_permission_cannot_post(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="viewer", password="pw-123456", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_scoringweight"))
    client.force_login(user)
    assert client.get(URL).status_code == 200
    assert client.post(URL, post_data("movie", hash=1)).status_code == 403
    assert stored() == set()


def test_modifiers_are_added_changed_and_deleted_through_the_services(
    admin_client, django_capture_on_commit_callbacks, config_events
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/scoring/providerscoremodifier/add/", {"provider_name": "jimaku", "modifier": "-40"}
        )
    assert response.status_code == 302
    row = ProviderScoreModifier.objects.get()
    assert (row.provider_name, row.modifier) == ("jimaku", -40)
    response = admin_client.post(f"/admin/scoring/providerscoremodifier/{row.pk}/change/", {"modifier": "12"})
    assert response.status_code == 302
    assert ProviderScoreModifier.objects.get().modifier == 12
    response = admin_client.post(f"/admin/scoring/providerscoremodifier/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ProviderScoreModifier.objects.exists()
    assert config_events[0] == {"changed_keys": ["scoring.modifiers.jimaku"], "source": "admin"}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"provider_name": "Jimaku", "modifier": "5"},
            {"provider_name": ["Must be 1-64 characters of lowercase letters, digits, '_' and '-'."]},
        ),
        ({"provider_name": "jimaku", "modifier": "5000"}, {"modifier": ["Must be between -1000 and 1000, not 5000."]}),
        (
            {"provider_name": "jimaku", "modifier": "0"},
            {"modifier": ["0 means no modifier: delete this provider's modifier instead."]},
        ),
    ],
)
def test_bad_modifiers_show_field_messages(admin_client, data, errors):
    response = admin_client.post("/admin/scoring/providerscoremodifier/add/", data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == errors
    assert not ProviderScoreModifier.objects.exists()
