"""One module per source kind, each with the same small interface.

A parser module defines ``KIND`` (an ``IncomingSource.kind``), ``ACCEPTS``
(media type → ``None`` when the body is the JSON document, or the name of the
multipart field that holds it) and ``parse(document) -> Parsed``, raising
``PayloadError`` for a body that cannot be an event of its kind. Adding a
kind: a module here, its line in ``PARSERS``, a ``SourceKind`` choice.
"""

from __future__ import annotations

from types import ModuleType

from . import emby, generic, jellyfin, plex, radarr, sonarr
from .base import Parsed, PayloadError

PARSERS: dict[str, ModuleType] = {module.KIND: module for module in (sonarr, radarr, jellyfin, plex, emby, generic)}

__all__ = ["PARSERS", "Parsed", "PayloadError"]
