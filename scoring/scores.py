"""The default scoring weights and the limits on what users may change (DESIGN.md §6).

Defined once, here; everything else reads them from this module.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

EPISODE: Final = "episode"
MOVIE: Final = "movie"
SCORE_TYPES: Final = (EPISODE, MOVIE)

# Read-only, so that no caller can change the defaults of a running process.
EPISODE_SCORES: Final = MappingProxyType(
    {
        "hash": 359,
        "series": 180,
        "year": 90,
        "season": 30,
        "episode": 30,
        "release_group": 14,
        "source": 7,
        "audio_codec": 3,
        "resolution": 2,
        "hearing_impaired": 1,
        "format_bonus": 50,
    }
)
MOVIE_SCORES: Final = MappingProxyType(
    {
        "hash": 119,
        "title": 60,
        "year": 30,
        "release_group": 13,
        "source": 7,
        "audio_codec": 3,
        "resolution": 2,
        "hearing_impaired": 1,
        "format_bonus": 50,
    }
)
DEFAULT_SCORES: Final = MappingProxyType({EPISODE: EPISODE_SCORES, MOVIE: MOVIE_SCORES})

# Not a match name: added once for a result in one of BONUS_FORMATS.
FORMAT_BONUS_KEY: Final = "format_bonus"
# The breakdown's name for the provider's modifier.
PROVIDER_MODIFIER_KEY: Final = "provider_modifier"

FORMATS: Final = ("ass", "ssa", "srt", "vtt", "unknown")
BONUS_FORMATS: Final = frozenset({"ass", "ssa"})

WEIGHT_MIN: Final = 0
WEIGHT_MAX: Final = 10_000
MODIFIER_MIN: Final = -1_000
MODIFIER_MAX: Final = 1_000
PROVIDER_NAME_RE: Final = re.compile(r"[a-z0-9_-]{1,64}")
