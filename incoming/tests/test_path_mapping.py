"""Path mapping: the longest matching remote prefix wins, at component boundaries; '..' and NUL are refused."""

from __future__ import annotations

import pytest

from incoming.paths import PathMappingError, map_path

MAPPINGS = [
    {"remote": "/data", "local": "/mnt/data"},
    {"remote": "/data/tv", "local": "/media/tv"},
    {"remote": "/data/tv/anime/", "local": "/media/anime/"},
    {"remote": "D:\\TV", "local": "/media/windows-tv"},
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data/tv/Show/S01E01.mkv", "/media/tv/Show/S01E01.mkv"),
        ("/data/tv/anime/Show/S01E01.mkv", "/media/anime/Show/S01E01.mkv"),
        ("/data/movies/Film.mkv", "/mnt/data/movies/Film.mkv"),
        ("/data/tv", "/media/tv"),
        ("/data/tv2/Show.mkv", "/mnt/data/tv2/Show.mkv"),
        ("/datafoo/x.mkv", "/datafoo/x.mkv"),
        ("/elsewhere/x.mkv", "/elsewhere/x.mkv"),
        ("D:\\TV\\Show\\Season 01\\S01E01.mkv", "/media/windows-tv/Show/Season 01/S01E01.mkv"),
        ("/data/tv/Show..Name/S01E01.mkv", "/media/tv/Show..Name/S01E01.mkv"),
    ],
)
def test_the_longest_matching_prefix_wins_at_a_component_boundary(path, expected):
    assert map_path(path, MAPPINGS) == expected


def test_overlapping_prefixes_pick_the_longest_whatever_their_order():
    assert map_path("/data/tv/anime/x.mkv", list(reversed(MAPPINGS))) == "/media/anime/x.mkv"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/data/tv/../../etc/passwd", "The path '/media/tv/../../etc/passwd' contains a '..' component."),
        ("/data/tv/Show\\..\\x.mkv", "The path '/media/tv/Show/../x.mkv' contains a '..' component."),
        ("/data/tv/Show/x\x00.mkv", "A path contains a NUL character."),
        ("/elsewhere/../x.mkv", "The path '/elsewhere/../x.mkv' contains a '..' component."),
    ],
)
def test_a_path_with_dotdot_or_nul_is_refused(path, message):
    with pytest.raises(PathMappingError) as caught:
        map_path(path, MAPPINGS)
    assert str(caught.value) == message
