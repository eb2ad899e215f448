"""The default scoring weights and the limits on what users may change (DESIGN.md §6).

Defined once, here; everything else reads them from this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
        # Penalties (subtracted; see MISMATCH_KEYS): a result for another season or
        # episode, matching everything else but the hash (at most 197), ranks below
        # a plain series match (180).
        "season_mismatch": 200,
        "episode_mismatch": 200,
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
        # A penalty: another year's film of that title (a remake), matching everything
        # else but the hash (at most 76), ranks below a plain title match (60).
        "year_mismatch": 90,
    }
)
DEFAULT_SCORES: Final = MappingProxyType({EPISODE: EPISODE_SCORES, MOVIE: MOVIE_SCORES})

# Not a match name: added once for a result in one of BONUS_FORMATS.
FORMAT_BONUS_KEY: Final = "format_bonus"
# What a result contradicts of the query (SubtitleResult.mismatches) → the weight
# key of its penalty. A penalty is stored and validated like any weight (0-10,000)
# and subtracted: its breakdown entry is negative.
MISMATCH_KEYS: Final = MappingProxyType(
    {"season": "season_mismatch", "episode": "episode_mismatch", "year": "year_mismatch"}
)
PENALTY_KEYS: Final = frozenset(MISMATCH_KEYS.values())
# Weight keys that are not match names: the format bonus and the penalties.
NOT_MATCH_KEYS: Final = frozenset({FORMAT_BONUS_KEY, *PENALTY_KEYS})

HASH_KEY: Final = "hash"
# The breakdown's entry (always 0) for a hash match that did not count: the
# provider is marked as not hash-verifiable.
HASH_UNTRUSTED_KEY: Final = "hash_untrusted"
# The breakdown's name for the provider's modifier.
PROVIDER_MODIFIER_KEY: Final = "provider_modifier"

FORMATS: Final = ("ass", "ssa", "srt", "vtt", "unknown")
BONUS_FORMATS: Final = frozenset({"ass", "ssa"})


def max_score(weights: Mapping[str, int]) -> int:
    """The highest score a result can reach under ``weights``: every match, the format bonus, no penalty.

    Provider modifiers are not counted (they belong to providers, not to weights).
    """
    return sum(value for key, value in weights.items() if key not in PENALTY_KEYS)


WEIGHT_MIN: Final = 0
WEIGHT_MAX: Final = 10_000
MODIFIER_MIN: Final = -1_000
MODIFIER_MAX: Final = 1_000
PROVIDER_NAME_RE: Final = re.compile(r"[a-z0-9_-]{1,64}")
