"""How Sublarr uses Apprise: one asset with no plugin paths, and Apprise's log kept out of ours.

Only Apprise's documented API is used (``Apprise``, ``AppriseAsset``,
``NotifyType``, ``NotifyFormat``; ``Apprise.instantiate`` to parse a URL).
No custom plugins are loaded from disk (``plugin_paths=[]``), no
configuration file is read (nothing calls ``AppriseConfig``), nothing is
stored on disk (``storage_mode="memory"``), and a notification to several
URLs is sent one after the other in the calling thread (``async_mode=False``),
so the address checks of ``hooks.notify.urls`` hold for every connection.

Apprise logs URLs, and at debug level the tokens parsed out of them. A filter
on its ``apprise`` logger lets no record through to any handler; while
Sublarr parses or sends, ``apprise_log`` keeps what Apprise warned about in
this thread, with every secret of the URLs replaced by the mask, for an error
message. urllib3's request and redirect lines (a token may be in the path)
are masked the same way while a notification is being sent.
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
# urllib3 logs each request line (a Telegram bot token, a Discord webhook token are in the path) and redirects.
_HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry")
_setup_lock = threading.Lock()


def make_asset() -> apprise.AppriseAsset:
    """An AppriseAsset for one parse or send: no plugins from disk, memory storage, sequential sending."""
    return apprise.AppriseAsset(plugin_paths=[], storage_mode="memory", async_mode=False, secure_logging=True)


class _Capture(threading.local):
    """What the current thread collects while it parses or sends: Apprise's warnings, and the secrets to mask."""

    messages: list[str] | None = None
    secrets: tuple[str, ...] = ()


_capture = _Capture()


class _KeepAppriseLog(logging.Filter):
    """On Apprise's logger: no record goes on to any handler; a sending thread keeps the warnings, masked.

    A filter on the logger itself runs before every handler — those of the
    ``apprise`` logger and of its parents alike — so a URL or a token Apprise
    logs (at debug level it logs them in clear) reaches no log file, console
    or log-capturing tool.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _capture.messages is not None and record.levelno >= logging.WARNING:
            try:
                message = record.getMessage()
            except Exception:  # a record whose arguments do not format is dropped, never raised
                message = str(record.msg)
            _capture.messages.append(scrub(message, _capture.secrets))
        return False


class _MaskSecrets(logging.Filter):
    """On urllib3's loggers: while this thread sends a notification, its records carry the mask for each secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _capture.messages is not None and _capture.secrets:
            try:
                message = record.getMessage()
            except Exception:  # keep the record unformatted rather than fail the log call
                return True
            record.msg, record.args = scrub(message, _capture.secrets), ()
        return True


def _install_filters() -> None:
    with _setup_lock:
        if not any(isinstance(f, _KeepAppriseLog) for f in _APPRISE_LOGGER.filters):
            _APPRISE_LOGGER.addFilter(_KeepAppriseLog())
        for name in _HTTP_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, _MaskSecrets) for f in logger.filters):
                logger.addFilter(_MaskSecrets())


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
    _install_filters()
    collected: list[str] = []
    outer = (_capture.messages, _capture.secrets)
    _capture.messages, _capture.secrets = collected, tuple(secrets)
    try:
        yield collected
    finally:
        _capture.messages, _capture.secrets = outer
