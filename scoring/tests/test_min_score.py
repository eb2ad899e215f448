from __future__ import annotations

import json

import pytest

from scoring import SubtitleResult, VideoQuery, rank, selectors, services
from scoring.models import ScoringThreshold
from scoring.validators import ScoringValidationError

pytestmark = pytest.mark.django_db

URL = "/api/scoring/min-scores/"
EPISODE_MAX = 359 + 180 + 90 + 30 + 30 + 14 + 7 + 3 + 2 + 1 + 50  # 766: penalties are not counted
MOVIE_MAX = 119 + 60 + 30 + 13 + 7 + 3 + 2 + 1 + 50  # 285
EPISODE_QUERY = VideoQuery(series_title="Severance", season=2, episode=3)


def state(score_type: str, min_score: int | None, percent: float | None, maximum: int) -> dict:
    return {"score_type": score_type, "min_score": min_score, "min_score_percent": percent, "max_score": maximum}


def candidates() -> list[SubtitleResult]:
    return [
        SubtitleResult(provider_name="a", subtitle_id="series", language="en", matches={"series"}),
        SubtitleResult(provider_name="a", subtitle_id="full", language="en", matches={"series", "season", "episode"}),
        SubtitleResult(provider_name="a", subtitle_id="year", language="en", matches={"year"}),
    ]


def test_no_minimum_by_default_and_the_maximum_is_every_match_plus_the_bonus(user_client):
    assert user_client.get(URL).json() == {
        "episode": state("episode", None, None, EPISODE_MAX),
        "movie": state("movie", None, None, MOVIE_MAX),
    }
    assert [r.subtitle_id for r in rank(candidates(), EPISODE_QUERY)] == ["full", "series", "year"]


def test_set_shows_points_and_percent_and_rank_uses_it_by_default(
    staff_client, user_client, config_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(f"{URL}episode/", {"min_score": 200}, format="json")
    assert response.status_code == 200
    assert response.json() == state("episode", 200, 26.1, EPISODE_MAX)
    assert user_client.get(f"{URL}episode/").json() == state("episode", 200, 26.1, EPISODE_MAX)
    assert config_events == [{"changed_keys": ["scoring.min_score.episode"], "source": "api"}]
    # rank() leaves out what scores below the stored minimum; an explicit value (or None) overrides it.
    assert [r.subtitle_id for r in rank(candidates(), EPISODE_QUERY)] == ["full"]
    assert [r.subtitle_id for r in rank(candidates(), EPISODE_QUERY, min_score=100)] == ["full", "series"]
    assert [r.subtitle_id for r in rank(candidates(), EPISODE_QUERY, min_score=None)] == ["full", "series", "year"]
    # The percentage follows the weights.
    services.scoring_weights_update(score_type="episode", weights={"hash": 0})
    assert user_client.get(f"{URL}episode/").json() == state("episode", 200, 49.1, EPISODE_MAX - 359)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(f"{URL}episode/")
    assert response.json() == state("episode", None, None, EPISODE_MAX - 359)
    assert not ScoringThreshold.objects.exists()
    assert [r.subtitle_id for r in rank(candidates(), EPISODE_QUERY)] == ["full", "series", "year"]


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        ("episode/", {"min_score": -1}, {"min_score": [
            "Must be 0 or more points."]}),
        ("movie/", {"min_score": 286}, {"min_score": [
            "Must be at most 285, the highest score reachable under the current movie weights, not 286 (100.4 %): "
            "no result could reach it."]}),
        # bazarr#3460: a "minimum" meant as a percentage, far above anything reachable.
        ("episode/", {"min_score": 1840}, {"min_score": [
            "Must be at most 766, the highest score reachable under the current episode weights, not 1840 "
            "(240.2 %): no result could reach it."]}),
        ("episode/", {"min_score": 12.5}, {"min_score": ["Must be an integer, not a float."]}),
        ("episode/", {"min_score": "200"}, {"min_score": ["Must be an integer, not str."]}),
        ("episode/", {"min_score": True}, {"min_score": ["Must be an integer, not a boolean."]}),
        ("episode/", {}, {"min_score": ["This field is required."]}),
        ("episode/", {"min_score": 1, "percent": 5}, {"percent": ["Unknown field. Allowed: min_score."]}),
        ("tv/", {"min_score": 1}, {"score_type": ["Unknown score type 'tv'. Valid: episode, movie."]}),
    ],
)  # fmt: skip
def test_nonsense_is_refused_with_a_field_message(staff_client, path, body, errors):
    response = staff_client.put(f"{URL}{path}", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not ScoringThreshold.objects.exists()


def test_weights_that_would_leave_the_minimum_unreachable_are_refused(config_events):
    services.scoring_min_score_set(score_type="movie", min_score=280)
    with pytest.raises(ScoringValidationError) as excinfo:
        services.scoring_weights_update(score_type="movie", weights={"hash": 100})
    assert excinfo.value.errors == {
        "weights": [
            "These weights would make the highest reachable movie score 266, below the stored minimum score of 280: "
            "no result could reach it. Lower or clear the minimum score first."
        ]
    }
    assert selectors.get_weights("movie")["hash"] == 119
    services.scoring_min_score_set(score_type="movie", min_score=266)
    services.scoring_weights_update(score_type="movie", weights={"hash": 100})
    assert selectors.get_scoring_config("movie").min_score == 266


def test_setting_the_same_minimum_again_emits_nothing(config_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.scoring_min_score_set(score_type="movie", min_score=0)
        services.scoring_min_score_set(score_type="movie", min_score=0)
        services.scoring_min_score_clear(score_type="episode")
    assert config_events == [{"changed_keys": ["scoring.min_score.movie"], "source": "api"}]


def test_the_preview_says_which_results_the_stored_minimum_keeps(user_client):
    services.scoring_min_score_set(score_type="episode", min_score=200)
    body = {
        "query": {"series_title": "Severance", "season": 2, "episode": 3},
        "results": [
            {"provider_name": "a", "subtitle_id": "series", "matches": ["series"]},
            {"provider_name": "a", "subtitle_id": "full", "matches": ["series", "season", "episode"]},
        ],
    }
    response = user_client.post("/api/scoring/preview/", body, format="json").json()
    assert response["threshold"] == state("episode", 200, 26.1, EPISODE_MAX)
    assert [(r["subtitle_id"], r["score"], r["kept"]) for r in response["results"]] == [
        ("full", 240, True),
        ("series", 180, False),
    ]
    # Trial weights: the percentage is of the maximum under them.
    response = user_client.post("/api/scoring/preview/", {**body, "weights": {"hash": 0}}, format="json").json()
    assert response["threshold"] == state("episode", 200, 49.1, EPISODE_MAX - 359)
    # An explicit min_score leaves the results below it out (as before).
    response = user_client.post("/api/scoring/preview/", {**body, "min_score": 100}, format="json").json()
    assert [(r["subtitle_id"], r["kept"]) for r in response["results"]] == [("full", True), ("series", True)]
    assert response["threshold"]["min_score"] == 100


def test_the_admin_sets_the_minimum_and_its_preview_shows_what_it_keeps(admin_client, config_events):
    page = "/admin/scoring/scoringweight/"
    response = admin_client.post(
        page, {"score_type": "episode", "save_min_score": "1", "min-episode-min_score": "9999"}
    )
    assert response.status_code == 200
    episode = next(form for form in response.context["forms"] if form.score_type == "episode")
    assert episode.min_form.errors["min_score"][0].startswith("Must be at most 766,")
    response = admin_client.post(page, {"score_type": "episode", "save_min_score": "1", "min-episode-min_score": "200"})
    assert response.status_code == 302
    assert selectors.min_score_override("episode") == 200
    content = admin_client.get(page).content.decode()
    assert "200 points\n  = 26.1 % of 766." in content
    preview = admin_client.post(
        f"{page}preview/",
        {
            "query": '{"series_title": "Severance", "season": 2, "episode": 3}',
            "results": '[{"provider_name": "a", "subtitle_id": "s1", "matches": ["series"]},'
            ' {"provider_name": "a", "subtitle_id": "s2", "matches": ["series", "season", "episode"]}]',
        },
    )
    assert preview.status_code == 200
    rows = [(r["subtitle_id"], r["score"], r["kept"]) for r in preview.context["preview"]["results"]]
    assert rows == [("s2", 240, True), ("s1", 180, False)]
    text = preview.content.decode()
    assert "Minimum score 200 points = 26.1 %" in text
    assert "<strong>below the minimum</strong>" in text
    # Clearing: an empty value.
    admin_client.post(page, {"score_type": "episode", "save_min_score": "1", "min-episode-min_score": ""})
    assert selectors.min_score_override("episode") is None


def test_the_admin_preview_shows_bad_input_as_field_messages(admin_client):
    response = admin_client.post("/admin/scoring/scoringweight/preview/", {"query": "{nope", "results": "[]"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "query": ["Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."]
    }
    response = admin_client.post(
        "/admin/scoring/scoringweight/preview/",
        {"query": '{"title": "Arrival"}', "results": "[]", "weights": '{"series": 1}'},
    )
    keys = "hash, title, year, release_group, source, audio_codec, resolution, hearing_impaired, format_bonus"
    message = f"Unknown weight key 'series' for movie. Valid keys: {keys}, year_mismatch."
    assert response.context["form"].errors == {"weights": [json.dumps({"series": [message]})]}


def test_the_worked_example_of_docs_scoring(staff_client, user_client):
    """docs/SCORING.md: 240 points of 766 = 31.3 %; with hash 0 the same points are 59.0 % of 407."""
    assert staff_client.put(f"{URL}episode/", {"min_score": 240}, format="json").json() == state(
        "episode", 240, 31.3, 766
    )
    kept = rank(
        [
            SubtitleResult(provider_name="a", subtitle_id="sse-rg", language="en", matches={*SSE, "release_group"}),
            SubtitleResult(provider_name="a", subtitle_id="series-year", language="en", matches={"series", "year"}),
            SubtitleResult(provider_name="a", subtitle_id="series", language="en", matches={"series"}),
        ],
        EPISODE_QUERY,
    )
    assert [(r.subtitle_id, r.score) for r in kept] == [("series-year", 270), ("sse-rg", 254)]
    response = staff_client.put(f"{URL}episode/", {"min_score": 1840}, format="json").json()
    assert response["min_score"][0].startswith("Must be at most 766, the highest score reachable under the current ")
    assert "not 1840 (240.2 %)" in response["min_score"][0]
    services.scoring_weights_update(score_type="episode", weights={"hash": 0})
    assert user_client.get(f"{URL}episode/").json() == state("episode", 240, 59.0, 407)


SSE = {"series", "season", "episode"}
