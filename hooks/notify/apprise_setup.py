"""How Sublarr uses Apprise: one asset with no plugin paths, and Apprise's log kept out of ours.

Only Apprise's documented API is used (``Apprise``, ``AppriseAsset``,
``NotifyType``, ``NotifyFormat``; ``Apprise.instantiate`` to parse a URL).
No custom plugins are loaded from disk (``plugin_paths=[]``), no
configuration file is read (nothing calls ``AppriseConfig``), nothing is
stored on disk (``storage_mode="memory"``), and a notification to several
URLs is sent one after the other in the calling thread (``async_mode=False``),
so the address checks of ``hooks.notify.urls`` hold for every connection.

Apprise logs URLs, and at debug level the tokens parsed out of them. Its
``apprise`` logger does not propagate to ours; while Sublarr parses or sends,
``apprise_log`` collects what Apprise logged in this thread, with every secret
of the URLs replaced by the mask, for an error message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, unquote, urlsplit

import apprise

from hooks.validators import URL_PASSWORD_MASK

MASK = URL_PASSWORD_MASK
_APPRISE_LOGGER = logging.getLogger("apprise")
_setup_lock = threading.Lock()


def make_asset() -> apprise.AppriseAsset:
    """An AppriseAsset for one parse or send: no plugins from disk, memory storage, sequential sending."""
    return apprise.AppriseAsset(plugin_paths=[], storage_mode="memory", async_mode=False, secure_logging=True)


def _keep_apprise_log_to_itself() -> None:
    with _setup_lock:
        if _APPRISE_LOGGER.propagate:
            _APPRISE_LOGGER.propagate = False
            if not _APPRISE_LOGGER.handlers:
                # Without a handler, logging's last resort would print Apprise's warnings to stderr.
                _APPRISE_LOGGER.addHandler(logging.NullHandler())


class _ThreadCapture(logging.Handler):
    """Collect the records the current thread logs to Apprise's logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and record.levelno >= logging.WARNING:
            try:
                self.messages.append(record.getMessage())
            except Exception:  # a record whose arguments do not format is dropped, never raised
                self.messages.append(record.msg if isinstance(record.msg, str) else "")


def secrets_of(url: str, *, keep_host: bool) -> list[str]:
    """Every part of ``url`` that may be a secret (all but the scheme, and the host when ``keep_host``)."""
    parts: list[str] = [url]
    try:
        split = urlsplit(url)
    except ValueError:
        return parts
    userinfo, _, hostport = split.netloc.rpartition("@")
    parts += userinfo.split(":")
    if not keep_host:
        parts.append(hostport)
        parts += hostport.split(":")
    parts += split.path.split("/")
    for pair in split.query.split("&"):
        parts += pair.split("=", 1)[1:]
    parts.append(split.fragment)
    found = {
        piece for part in parts for piece in (part, unquote(part), quote(unquote(part), safe="")) if len(piece) >= 3
    }
    # Longest first, so a token is masked whole before a piece of it could be.
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by the mask."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


@contextmanager
def apprise_log(secrets: Iterable[str] = ()) -> Iterator[list[str]]:
    """Collect Apprise's warnings and errors of this thread, scrubbed of ``secrets``, into the yielded list."""
    _keep_apprise_log_to_itself()
    capture = _ThreadCapture()
    collected: list[str] = []
    _APPRISE_LOGGER.addHandler(capture)
    try:
        yield collected
    finally:
        _APPRISE_LOGGER.removeHandler(capture)
        listed = list(secrets)
        collected.extend(scrub(message, listed) for message in capture.messages)
