from __future__ import annotations

import pytest

from scoring import EPISODE_SCORES, MOVIE_SCORES, get_weights, selectors, services
from scoring.models import ProviderScoreModifier, ScoringWeight
from scoring.validators import ScoringValidationError

pytestmark = pytest.mark.django_db


def stored_weights() -> set[tuple[str, str, int]]:
    return set(ScoringWeight.objects.values_list("score_type", "weight_key", "weight_value"))


def test_update_stores_only_values_that_differ_from_the_default(django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        effective = services.scoring_weights_update(
            score_type="episode", weights={"hash": 400, "series": 180}, source="test"
        )
    assert effective == {**EPISODE_SCORES, "hash": 400}
    assert stored_weights() == {("episode", "hash", 400)}
    assert config_events == [{"changed_keys": ["scoring.weights.episode.hash"], "source": "test"}]


def test_patch_keeps_other_overrides_and_replace_resets_them(django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        services.scoring_weights_update(score_type="movie", weights={"hash": 200, "title": 70})
        services.scoring_weights_update(score_type="movie", weights={"year": 31})
        assert stored_weights() == {("movie", "hash", 200), ("movie", "title", 70), ("movie", "year", 31)}
        services.scoring_weights_update(score_type="movie", weights={"title": 80}, replace=True)
    assert stored_weights() == {("movie", "title", 80)}
    assert config_events[-1] == {
        "changed_keys": ["scoring.weights.movie.hash", "scoring.weights.movie.title", "scoring.weights.movie.year"],
        "source": "api",
    }


def test_setting_a_weight_back_to_its_default_removes_the_override():
    services.scoring_weights_update(score_type="episode", weights={"hash": 400})
    services.scoring_weights_update(score_type="episode", weights={"hash": 359})
    assert stored_weights() == set()


def test_a_write_that_changes_nothing_emits_nothing(django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.scoring_weights_update(score_type="episode", weights={"hash": 359})
        services.scoring_weights_reset_type(score_type="movie")
        assert services.provider_modifier_delete(provider_name="nobody") is False
    assert callbacks == []
    assert config_events == []


def test_reset_one_key_and_reset_a_type(django_capture_on_commit_callbacks, config_events):
    services.scoring_weights_update(score_type="episode", weights={"hash": 400, "year": 1})
    services.scoring_weights_update(score_type="movie", weights={"hash": 1})
    with django_capture_on_commit_callbacks(execute=True):
        assert services.scoring_weight_reset(score_type="episode", weight_key="hash")["hash"] == 359
        assert stored_weights() == {("episode", "year", 1), ("movie", "hash", 1)}
        assert services.scoring_weights_reset_type(score_type="episode") == dict(EPISODE_SCORES)
    assert stored_weights() == {("movie", "hash", 1)}
    assert [e["changed_keys"] for e in config_events] == [
        ["scoring.weights.episode.hash"],
        ["scoring.weights.episode.year"],
    ]


def test_modifiers_set_change_and_delete(django_capture_on_commit_callbacks, config_events):
    with django_capture_on_commit_callbacks(execute=True):
        services.provider_modifier_set(provider_name="opensubtitles", modifier=15, source="test")
        services.provider_modifier_set(provider_name="opensubtitles", modifier=-3, source="test")
        services.provider_modifier_set(provider_name="jimaku", modifier=0, source="test")
        assert selectors.provider_modifiers() == {"opensubtitles": -3}
        assert services.provider_modifier_delete(provider_name="opensubtitles", source="test") is True
    assert not ProviderScoreModifier.objects.exists()
    assert config_events == [{"changed_keys": ["scoring.modifiers.opensubtitles"], "source": "test"}] * 3


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        (
            {"score_type": "tv", "weights": {"hash": 1}},
            {"score_type": ["Unknown score type 'tv'. Valid: episode, movie."]},
        ),
        (
            {"score_type": "movie", "weights": {"series": 1}},
            {
                "weights": {
                    "series": [
                        "Unknown weight key 'series' for movie. Valid keys: hash, title, year, release_group, source, "
                        "audio_codec, resolution, hearing_impaired, format_bonus, year_mismatch."
                    ]
                }
            },
        ),
        (
            {"score_type": "episode", "weights": {"hash": True}},
            {"weights": {"hash": ["Must be an integer, not a boolean."]}},
        ),
        (
            {"score_type": "episode", "weights": {"hash": 1.0}},
            {"weights": {"hash": ["Must be an integer, not a float."]}},
        ),
        ({"score_type": "episode", "weights": {"hash": "1"}}, {"weights": {"hash": ["Must be an integer, not str."]}}),
        (
            {"score_type": "episode", "weights": {"hash": -1}},
            {"weights": {"hash": ["Must be between 0 and 10000, not -1."]}},
        ),
        (
            {"score_type": "episode", "weights": {"hash": 10_001}},
            {"weights": {"hash": ["Must be between 0 and 10000, not 10001."]}},
        ),
        (
            {"score_type": "episode", "weights": [1]},
            {"weights": ["Must be an object mapping weight keys to integers."]},
        ),
    ],
)
def test_bad_weights_are_refused_with_field_messages_and_nothing_is_saved(kwargs, errors):
    services.scoring_weights_update(score_type="episode", weights={"year": 1})
    with pytest.raises(ScoringValidationError) as excinfo:
        services.scoring_weights_update(**kwargs)
    assert excinfo.value.errors == errors
    assert stored_weights() == {("episode", "year", 1)}


def test_one_bad_weight_saves_none_of_the_good_ones():
    with pytest.raises(ScoringValidationError) as excinfo:
        services.scoring_weights_update(score_type="episode", weights={"hash": 1, "series": 2, "year": 10_001})
    assert excinfo.value.errors == {"weights": {"year": ["Must be between 0 and 10000, not 10001."]}}
    assert stored_weights() == set()
    assert get_weights("episode") == dict(EPISODE_SCORES)
    assert get_weights("movie") == dict(MOVIE_SCORES)


@pytest.mark.parametrize(
    ("name", "modifier", "errors"),
    [
        (
            "Open Subtitles",
            1,
            {"provider_name": ["Must be 1-64 characters of lowercase letters, digits, '_' and '-'."]},
        ),
        ("", 1, {"provider_name": ["Must be 1-64 characters of lowercase letters, digits, '_' and '-'."]}),
        ("a" * 65, 1, {"provider_name": ["Must be 1-64 characters of lowercase letters, digits, '_' and '-'."]}),
        ("ok", 1001, {"modifier": ["Must be between -1000 and 1000, not 1001."]}),
        ("ok", -1001, {"modifier": ["Must be between -1000 and 1000, not -1001."]}),
        ("ok", False, {"modifier": ["Must be an integer, not a boolean."]}),
        ("ok", 2.5, {"modifier": ["Must be an integer, not a float."]}),
    ],
)
def test_bad_modifiers_are_refused(name, modifier, errors):
    with pytest.raises(ScoringValidationError) as excinfo:
        services.provider_modifier_set(provider_name=name, modifier=modifier)
    assert excinfo.value.errors == errors
    assert not ProviderScoreModifier.objects.exists()


def test_provider_names_may_use_the_full_allowed_alphabet():
    services.provider_modifier_set(provider_name="a" * 64, modifier=1000)
    services.provider_modifier_set(provider_name="sub-source_2", modifier=-1000)
    assert selectors.provider_modifiers() == {"a" * 64: 1000, "sub-source_2": -1000}
