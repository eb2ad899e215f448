from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

import testsupport
from scoring import services
from scoring.models import ProviderScoreModifier, ScoringWeight

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("scoring", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def state() -> tuple[set, dict]:
    return (
        set(ScoringWeight.objects.values_list("score_type", "weight_key", "weight_value")),
        dict(ProviderScoreModifier.objects.values_list("provider_name", "modifier")),
    )


CONFIG = {
    "version": 2,
    "weights": {"episode": {"hash": 400, "year": 95}, "movie": {"title": 61}},
    "modifiers": {"opensubtitles": 10, "podnapisi": -5},
    "hash_untrusted": [],
    "min_scores": {"episode": 300},
}


def test_export_writes_only_the_stored_overrides_and_modifiers(tmp_path):
    services.scoring_weights_update(score_type="movie", weights={"hash": 120})
    services.provider_modifier_set(provider_name="jimaku", modifier=-3)
    services.provider_hash_trust_set(provider_name="subdl", trusted=False)
    expected = {
        "version": 2,
        "weights": {"episode": {}, "movie": {"hash": 120}},
        "modifiers": {"jimaku": -3},
        "hash_untrusted": ["subdl"],
        "min_scores": {},
    }
    assert json.loads(run("export")) == expected
    target = tmp_path / "scoring.json"
    run("export", "--output", str(target))
    assert json.loads(target.read_text()) == expected


def test_import_makes_the_stored_configuration_the_files(tmp_path, django_capture_on_commit_callbacks, config_events):
    services.scoring_weights_update(score_type="episode", weights={"series": 1, "year": 90})
    services.provider_modifier_set(provider_name="jimaku", modifier=-3)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(CONFIG))
    with django_capture_on_commit_callbacks(execute=True):
        output = run("import", str(path))
    assert output.splitlines() == [
        "weights.episode.hash: 359 (default) -> 400",
        "weights.episode.series: 1 -> 180 (default)",
        "weights.episode.year: 90 (default) -> 95",
        "weights.movie.title: 60 (default) -> 61",
        "min_scores.episode: (none) -> 300",
        "modifiers.jimaku: -3 -> (none)",
        "modifiers.opensubtitles: (none) -> +10",
        "modifiers.podnapisi: (none) -> -5",
        "Imported: 8 change(s).",
    ]
    assert state() == (
        {("episode", "hash", 400), ("episode", "year", 95), ("movie", "title", 61)},
        {"opensubtitles": 10, "podnapisi": -5},
    )
    assert config_events == [
        {
            "changed_keys": [
                "scoring.weights.episode.hash",
                "scoring.weights.episode.series",
                "scoring.weights.episode.year",
                "scoring.weights.movie.title",
                "scoring.min_score.episode",
                "scoring.modifiers.jimaku",
                "scoring.modifiers.opensubtitles",
                "scoring.modifiers.podnapisi",
            ],
            "source": "cli",
        }
    ]
    assert json.loads(run("export")) == CONFIG
    assert run("import", str(path)).splitlines() == ["No changes."]


def test_dry_run_prints_the_diff_and_changes_nothing(tmp_path):
    services.provider_modifier_set(provider_name="opensubtitles", modifier=10)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(CONFIG))
    before = state()
    output = run("import", str(path), "--dry-run")
    assert output.splitlines() == [
        "weights.episode.hash: 359 (default) -> 400",
        "weights.episode.year: 90 (default) -> 95",
        "weights.movie.title: 60 (default) -> 61",
        "min_scores.episode: (none) -> 300",
        "modifiers.podnapisi: (none) -> -5",
        "Dry run: 5 change(s) would be made; nothing was changed.",
    ]
    assert state() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)."),
        ("[]", "is not a valid scoring configuration; nothing was imported:\n"
               "  config: Must be a JSON object with 'weights' and 'modifiers'."),
        (json.dumps({"weights": {"tv": {}}}), "is not a valid scoring configuration; nothing was imported:\n"
               "  weights.tv: Unknown score type 'tv'. Valid: episode, movie."),
        (json.dumps({"version": 3, "extra": 1}), "is not a valid scoring configuration; nothing was imported:\n"
               "  config: Unknown top-level key(s): extra.\n"
               "  version: Unsupported version 3; this Sublarr reads versions 1 and 2."),
        (json.dumps({"hash_untrusted": ["ok", "Bad"]}), "is not a valid scoring configuration; nothing was imported:\n"
               "  hash_untrusted.1: Must be 1-64 characters of lowercase letters, digits, '_' and '-'."),
        (json.dumps({"weights": {"episode": {"hash": 400, "year": 1.5}}, "modifiers": {"Bad": 1, "ok": 5000}}),
         "is not a valid scoring configuration; nothing was imported:\n"
         "  weights.episode.year: Must be an integer, not a float.\n"
         "  modifiers.Bad: Must be 1-64 characters of lowercase letters, digits, '_' and '-'.\n"
         "  modifiers.ok: Must be between -1000 and 1000, not 5000."),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_is_imported(tmp_path, content, message):
    services.scoring_weights_update(score_type="movie", weights={"hash": 1})
    path = tmp_path / "bad.json"
    path.write_text(content)
    before = state()
    with pytest.raises(CommandError) as excinfo:
        run("import", str(path))
    assert str(excinfo.value) == f"{path} {message}"
    assert state() == before


def test_a_missing_file_exits_non_zero_with_a_message(proc_env, tmp_path):
    done = testsupport.manage("scoring", "import", str(tmp_path / "missing.json"), env=proc_env)
    assert done.returncode == 1
    assert done.stderr.strip() == f"CommandError: Cannot read {tmp_path / 'missing.json'}: No such file or directory."
    done = testsupport.manage("scoring", env=proc_env)
    assert done.returncode != 0
    assert "the following arguments are required: {export,import}" in done.stderr


def test_import_from_another_process_is_seen_here_at_once(proc_env, tmp_path):
    from scoring import get_weights

    assert get_weights("episode")["hash"] == 359
    path = tmp_path / "in.json"
    path.write_text(json.dumps(CONFIG))
    done = testsupport.manage("scoring", "import", str(path), env=proc_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Imported: 6 change(s)."
    assert get_weights("episode")["hash"] == 400


def test_hash_trust_is_exported_imported_and_diffed_and_a_version_1_file_trusts_every_hash(tmp_path):
    services.provider_hash_trust_set(provider_name="subdl", trusted=False)
    path = tmp_path / "in.json"
    path.write_text(json.dumps({**CONFIG, "hash_untrusted": ["jimaku", "subdl"]}))
    assert run("import", str(path), "--dry-run").splitlines()[-2:] == [
        "hash_trust.jimaku: trusted -> untrusted",
        "Dry run: 7 change(s) would be made; nothing was changed.",
    ]
    run("import", str(path))
    assert json.loads(run("export"))["hash_untrusted"] == ["jimaku", "subdl"]
    old = tmp_path / "v1.json"
    old.write_text(json.dumps({"version": 1, "weights": CONFIG["weights"], "modifiers": CONFIG["modifiers"]}))
    assert run("import", str(old)).splitlines() == [
        "min_scores.episode: 300 -> (none)",
        "hash_trust.jimaku: untrusted -> trusted",
        "hash_trust.subdl: untrusted -> trusted",
        "Imported: 3 change(s).",
    ]
