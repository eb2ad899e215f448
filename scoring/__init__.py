"""Subtitle scoring: default weights, user overrides from the database, provider modifiers.

Public API: ``compute_score``, ``rank``, ``get_weights``, ``VideoQuery``,
``SubtitleResult``, ``EPISODE_SCORES``, ``MOVIE_SCORES``. Change weights through
``scoring.services``.
"""

from __future__ import annotations

from typing import Any

from .scores import EPISODE_SCORES, MOVIE_SCORES

__all__ = [
    "EPISODE_SCORES",
    "MOVIE_SCORES",
    "SubtitleResult",
    "VideoQuery",
    "compute_score",
    "get_weights",
    "rank",
]

_ENGINE = {"SubtitleResult", "VideoQuery", "compute_score", "rank"}


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package does not import the ORM before the
    # app registry is ready.
    if name in _ENGINE:
        from . import engine

        return getattr(engine, name)
    if name == "get_weights":
        from .selectors import get_weights

        return get_weights
    raise AttributeError(name)
