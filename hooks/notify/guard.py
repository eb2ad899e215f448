"""The address policy on every connection Apprise opens while Sublarr sends a notification.

The webhook transport connects to the address it has just checked. Apprise
opens its own connections (``requests`` for HTTP services, ``smtplib`` for
e-mail) and ``requests`` follows redirects, so the check before sending
(``hooks.notify.urls.check_url_before_send``) alone would leave two gaps: a
name that resolves differently a moment later (DNS rebinding), and a
receiver answering with a redirect to a refused address (say, cloud
metadata). Both go through ``socket.getaddrinfo`` — urllib3 and
``socket.create_connection`` look it up by module attribute on every call —
so while ``connections_checked()`` is active in a thread, every address a
lookup in that thread returns is judged by ``hooks.netpolicy.address_refusal``
and a refused one fails the lookup. Other threads are not affected: the
wrapper is installed once per process and is a pass-through unless the
calling thread is sending a notification.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hooks.netpolicy import address_refusal


class _State(threading.local):
    active = False
    refused: list[str]


_state = _State()
_install_lock = threading.Lock()
_original_getaddrinfo = socket.getaddrinfo


def _checked_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    infos = _original_getaddrinfo(host, port, *args, **kwargs)
    if not _state.active:
        return infos
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        try:
            reason = address_refusal(ipaddress.ip_address(address))
        except ValueError:
            reason = "not an IP address"
        if reason:
            shown = host.decode() if isinstance(host, bytes) else str(host)
            _state.refused.append(f"{shown} ({address}) is {reason}" if shown != address else f"{shown} is {reason}")
            raise socket.gaierror(socket.EAI_FAIL, "address refused by Sublarr's address policy")
    return infos


def _install() -> None:
    with _install_lock:
        if socket.getaddrinfo is not _checked_getaddrinfo:
            socket.getaddrinfo = _checked_getaddrinfo


@contextmanager
def connections_checked() -> Iterator[list[str]]:
    """Judge every address this thread looks up; yield the list that collects the refusals."""
    _install()
    refused: list[str] = []
    _state.refused = refused
    _state.active = True
    try:
        yield refused
    finally:
        _state.active = False
