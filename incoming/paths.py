"""Path mapping: a path as the app sees it → the path sublarr sees (the longest matching remote prefix wins)."""

from __future__ import annotations

import re

_SEPARATORS = "/\\"


class PathMappingError(ValueError):
    """A mapped path sublarr must not use (a ``..`` component, a NUL)."""


def map_path(path: str, mappings: list[dict[str, str]]) -> str:
    """Map ``path`` with the longest matching remote prefix; refuse a result with ``..`` or NUL.

    A prefix matches at a path-component boundary only (``/tv`` matches
    ``/tv/Show`` but not ``/tv2/Show``). When the local prefix is a POSIX
    path, Windows separators in the rest of the path become ``/`` (a Windows
    *arr reporting ``D:\\TV\\Show\\file.mkv``).
    """
    best: dict[str, str] | None = None
    for mapping in mappings:
        remote = mapping["remote"]
        if _matches(path, remote) and (best is None or len(remote) > len(best["remote"])):
            best = mapping
    mapped = path
    if best is not None:
        rest = path[len(best["remote"]) :]
        local = best["local"]
        if local.startswith("/"):
            rest = rest.replace("\\", "/")
        if rest and local[-1] in _SEPARATORS and rest[0] in _SEPARATORS:
            rest = rest.lstrip(_SEPARATORS)
        elif rest and local[-1] not in _SEPARATORS and rest[0] not in _SEPARATORS:
            rest = "/" + rest
        mapped = local + rest
    check_path(mapped)
    return mapped


def check_path(path: str) -> None:
    if "\x00" in path:
        raise PathMappingError("A path contains a NUL character.")
    if ".." in re.split(r"[/\\]", path):
        raise PathMappingError(f"The path {path!r} contains a '..' component.")


def _matches(path: str, remote: str) -> bool:
    if not path.startswith(remote):
        return False
    # A whole component: the prefix ends with a separator, or the path ends or continues with one.
    return remote[-1] in _SEPARATORS or len(path) == len(remote) or path[len(remote)] in _SEPARATORS
