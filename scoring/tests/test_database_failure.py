"""An unreadable database is an error, never scoring with the defaults."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from scoring import SubtitleResult, VideoQuery, get_weights, rank, selectors, services

pytestmark = pytest.mark.django_db


@contextmanager
def scoring_tables_unreadable():
    def fail(execute, sql, params, many, context):
        if "scoring_" in sql:
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


def test_a_database_error_is_logged_and_raised_and_nothing_is_cached(caplog):
    services.scoring_weights_update(score_type="movie", weights={"hash": 1})
    selectors.invalidate_cache()
    with scoring_tables_unreadable(), pytest.raises(OperationalError, match="database is locked"):
        get_weights("movie")
    [record] = [r for r in caplog.records if r.name == "scoring.selectors"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Cannot read the movie scoring weights from the database; not scoring with defaults"
    assert cache.get(selectors.weights_key("movie")) is None
    assert cache.get(selectors.PROVIDERS_KEY) is None
    # Once the database answers again, the stored override is used.
    assert get_weights("movie")["hash"] == 1


def test_rank_raises_rather_than_ranking_without_the_modifiers(caplog):
    services.provider_modifier_set(provider_name="jimaku", modifier=-500)
    selectors.invalidate_cache()
    results = [SubtitleResult(provider_name="jimaku", subtitle_id="1", language="ja")]

    def fail_modifiers(execute, sql, params, many, context):
        if "scoring_providerscoremodifier" in sql:
            raise OperationalError("disk I/O error")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_modifiers), pytest.raises(OperationalError, match="disk I/O error"):
        rank(results, VideoQuery(title="Ran"))
    assert "Cannot read the provider score modifiers" in caplog.text
    assert cache.get(selectors.PROVIDERS_KEY) is None
    assert rank(results, VideoQuery(title="Ran"))[0].score == -500
