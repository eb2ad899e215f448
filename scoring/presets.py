"""The built-in scoring presets: named, sparse sets of weights (and minimum scores), stored as data here.

A preset lists only what it changes; applying one sets those keys and leaves
every other value as the user has it (``scoring.services_config.scoring_preset_apply``).
Users' own presets live in ``ScoringPreset`` rows of the same shape.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

BUILTIN_PRESETS: Final[MappingProxyType[str, dict[str, Any]]] = MappingProxyType(
    {
        "tv": {
            "description": (
                "Series: source, resolution and audio codec together outweigh the release group (bazarr#656); "
                "keep only results matching at least series, season and episode (240 points)."
            ),
            "weights": {"episode": {"source": 12, "resolution": 6, "audio_codec": 4, "release_group": 10}},
            "min_scores": {"episode": 240},
        },
        "movies": {
            "description": (
                "Films: source, resolution and audio codec together outweigh the release group; "
                "keep only results matching at least title and year (90 points)."
            ),
            "weights": {"movie": {"source": 12, "resolution": 6, "audio_codec": 4, "release_group": 10}},
            "min_scores": {"movie": 90},
        },
        "anime": {
            "description": (
                "Anime: the fansub release group and ASS/SSA styling matter most; another season's or "
                "episode's subtitle (a frequent mislabel) is pushed far down (sublarr#210)."
            ),
            "weights": {
                "episode": {"release_group": 90, "format_bonus": 120, "season_mismatch": 300, "episode_mismatch": 300},
                "movie": {"release_group": 60, "format_bonus": 90},
            },
            "min_scores": {},
        },
    }
)
