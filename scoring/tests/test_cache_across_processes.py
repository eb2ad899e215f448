"""A change committed by one process is used by the next read of every other process.

Real subprocesses (``manage.py shell``) share this test's database and the
profile's cache: the file cache of the embedded profile, Redis in scale-out.
Nothing waits for the 60 s safety-net expiry.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache, caches

import testsupport
from scoring import EPISODE_SCORES, get_weights, selectors, services

READ = (
    "import json; from scoring import rank, get_weights, SubtitleResult, VideoQuery; "
    "r = SubtitleResult(provider_name='podnapisi', subtitle_id='1', language='en', format='ass', matches={'hash'}); "
    "rank([r], VideoQuery(season=1, episode=2)); "
    "print(json.dumps({'weights': get_weights('episode'), 'score': r.score}))"
)


def read_in_subprocess(env: dict[str, str]) -> dict:
    done = testsupport.manage("shell", "-c", READ, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_in_subprocess(env: dict[str, str], code: str) -> None:
    done = testsupport.manage("shell", "-c", f"from scoring import services; {code}", env=env)
    assert done.returncode == 0, done.stderr


def check_writes_are_seen_across_processes(env: dict[str, str], django_assert_num_queries) -> None:
    # This process caches the defaults...
    assert get_weights("episode") == dict(EPISODE_SCORES)
    with django_assert_num_queries(0):
        assert get_weights("episode")["hash"] == 359
    assert cache.get(selectors.weights_key("episode")) is not None

    # ...another process changes them: the very next read here sees it.
    write_in_subprocess(
        env,
        "services.scoring_weights_update(score_type='episode', weights={'hash': 400}, source='test'); "
        "services.provider_modifier_set(provider_name='podnapisi', modifier=-7, source='test')",
    )
    assert get_weights("episode")["hash"] == 400
    assert selectors.get_provider_modifiers() == {"podnapisi": -7}

    # The other way round: the other process has cached (hash=400), this one writes.
    assert read_in_subprocess(env) == {"weights": {**EPISODE_SCORES, "hash": 400}, "score": 400 + 50 - 7}
    services.scoring_weights_update(score_type="episode", weights={"hash": 500, "format_bonus": 0})
    services.provider_modifier_delete(provider_name="podnapisi")
    assert read_in_subprocess(env) == {"weights": {**EPISODE_SCORES, "hash": 500, "format_bonus": 0}, "score": 500}


@pytest.mark.embedded
def test_file_cache_write_in_one_process_is_seen_by_the_next_read_in_another(proc_env, django_assert_num_queries):
    assert type(caches["default"]).__name__ == "FileBasedCache"
    check_writes_are_seen_across_processes(proc_env, django_assert_num_queries)


@pytest.mark.scaleout
def test_redis_cache_write_in_one_process_is_seen_by_the_next_read_in_another(
    redis_url, proc_env, django_assert_num_queries
):
    assert type(caches["default"]).__name__ == "RedisCache"
    check_writes_are_seen_across_processes(proc_env, django_assert_num_queries)


def test_a_read_that_raced_a_write_cannot_store_the_old_value(transactional_db):
    """A reader that loaded the old rows before the write committed caches them under a dead generation."""
    generation = cache.get(selectors.GENERATION_KEY)
    stale = selectors.effective_weights("episode")
    services.scoring_weights_update(score_type="episode", weights={"hash": 400})
    # What the slow reader does last: store what it read, under the generation it saw.
    cache.set(selectors.weights_key("episode"), (generation, (stale, None)), timeout=60)
    assert get_weights("episode")["hash"] == 400


def test_uncommitted_writes_are_read_back_but_never_cached(transactional_db):
    from django.db import transaction

    get_weights("episode")
    with transaction.atomic():
        services.scoring_weights_update(score_type="episode", weights={"hash": 1})
        assert get_weights("episode")["hash"] == 1
        assert cache.get(selectors.weights_key("episode"))[1][0]["hash"] == 359
        transaction.set_rollback(True)
    assert get_weights("episode")["hash"] == 359
