from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from scoring import selectors, services
from scoring.models import ProviderScoreModifier, ScoringThreshold, ScoringWeight, UntrustedHashProvider

pytestmark = pytest.mark.django_db

EXPORT = "/api/scoring/export/"
IMPORT = "/api/scoring/import/"


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command("scoring", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def configure() -> None:
    services.scoring_weights_update(score_type="episode", weights={"hash": 400, "season_mismatch": 250})
    services.scoring_weights_update(score_type="movie", weights={"title": 70})
    services.scoring_min_score_set(score_type="episode", min_score=240)
    services.provider_modifier_set(provider_name="podnapisi", modifier=-10)
    services.provider_hash_trust_set(provider_name="subdl", trusted=False)


def wipe() -> None:
    for model in (ScoringWeight, ScoringThreshold, ProviderScoreModifier, UntrustedHashProvider):
        model.objects.all().delete()
    selectors.invalidate_cache()


def test_export_then_import_over_rest_round_trips_to_the_clis_file(staff_client):
    configure()
    cli_file = cli("export")
    response = staff_client.get(EXPORT)
    assert response.status_code == 200
    assert response.json() == json.loads(cli_file)
    exported = response.json()
    wipe()
    assert json.loads(cli("export"))["weights"] == {"episode": {}, "movie": {}}
    response = staff_client.post(IMPORT, exported, format="json")
    assert response.status_code == 200
    assert response.json()["dry_run"] is False
    assert len(response.json()["changed_keys"]) == 6
    assert cli("export") == cli_file  # byte for byte
    assert selectors.get_scoring_config("episode").min_score == 240


def test_a_dry_run_returns_the_clis_diff_and_changes_nothing(staff_client, tmp_path, config_events):
    configure()
    config_events.clear()
    document = {
        "version": 2,
        "weights": {"episode": {"hash": 500}, "movie": {}},
        "modifiers": {"jimaku": 5},
        "hash_untrusted": [],
        "min_scores": {"movie": 100},
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    cli_lines = cli("import", str(path), "--dry-run").splitlines()[:-1]
    before = cli("export")
    response = staff_client.post(f"{IMPORT}?dry_run=true", document, format="json")
    assert response.status_code == 200
    assert response.json() == {"dry_run": True, "changes": cli_lines, "changed_keys": []}
    assert cli_lines == [
        "weights.episode.hash: 400 -> 500",
        "weights.episode.season_mismatch: 250 -> 200 (default)",
        "weights.movie.title: 70 -> 60 (default)",
        "min_scores.episode: 240 -> (none)",
        "min_scores.movie: (none) -> 100",
        "modifiers.jimaku: (none) -> +5",
        "modifiers.podnapisi: -10 -> (none)",
        "hash_trust.subdl: untrusted -> trusted",
    ]
    assert cli("export") == before
    assert config_events == []


def test_a_bad_document_is_refused_whole_with_field_messages(staff_client):
    configure()
    before = cli("export")
    bad = {
        "version": 2,
        "weights": {"episode": {"hash": 400, "year": 1.5}},
        "modifiers": {"ok": 5000},
        "min_scores": {"movie": -1},
        "extra": 1,
    }
    response = staff_client.post(IMPORT, bad, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "config": ["Unknown top-level key(s): extra."],
        "weights": {"episode": {"year": ["Must be an integer, not a float."]}},
        "modifiers": {"ok": ["Must be between -1000 and 1000, not 5000."]},
        "min_scores": {"movie": ["Must be 0 or more points, not -1."]},
    }
    assert staff_client.post(IMPORT, [1, 2], format="json").json() == {
        "config": ["Must be a JSON object with 'weights' and 'modifiers'."]
    }
    assert staff_client.post(f"{IMPORT}?dry_run=maybe", {}, format="json").json() == {
        "dry_run": ["Must be a valid boolean."]
    }
    assert cli("export") == before


def test_backups_are_staff_only(user_client, anon_client):
    assert anon_client.get(EXPORT).status_code == 401
    assert user_client.get(EXPORT).status_code == 403
    assert user_client.post(IMPORT, {"version": 2}, format="json").status_code == 403
