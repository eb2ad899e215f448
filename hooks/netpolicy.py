"""Which addresses a webhook may reach (DESIGN.md §4), checked before every connection.

Policy, read from settings at call time:

* cloud metadata endpoints, link-local (169.254.0.0/16, fe80::/10),
  unspecified (0.0.0.0/8, ::), multicast, broadcast and reserved/documentation
  ranges are always refused — no legitimate webhook receiver lives there, and
  169.254.169.254 is the classic SSRF target. ``SUBLARR_WEBHOOK_ALLOW_LOOPBACK``
  deliberately does not open link-local: it is for same-host receivers only;
* loopback (127.0.0.0/8, ::1) is refused unless ``SUBLARR_WEBHOOK_ALLOW_LOOPBACK``;
* private LAN ranges (10/8, 172.16/12, 192.168/16, fc00::/7, and the CGNAT
  range 100.64/10 that Tailscale uses) are allowed unless
  ``SUBLARR_WEBHOOK_BLOCK_PRIVATE``;
* IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside.

A hostname is resolved and every address it resolves to must pass. At send
time the transport connects only to an address it has just checked
(``resolve_checked``), so DNS that changes between the check and the connection
(rebinding) cannot reach a refused address. That check is the one that
protects; the check when a webhook is saved (``check_webhook_url_on_save``)
gives early feedback: a refused literal address, or a name resolving to a
refused address, cannot be saved, but a name that does not resolve yet (no DNS
right now, a host that will exist later) is saved with a warning.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):  # noqa: N818 - the name other modules import
    """A webhook URL that may not be used: invalid, or reaching a refused address."""

    #: Trying again later may help (the host did not resolve right now).
    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWebhookURL(AddressRefused):
    """Not an absolute http(s) URL with a host."""


class HostUnresolvable(AddressRefused):
    """The URL's host did not resolve (may be temporary)."""

    transient = True


_net = ipaddress.ip_network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure wire server
    )
)
LINK_LOCAL = (_net("169.254.0.0/16"), _net("fe80::/10"))
LOOPBACK = (_net("127.0.0.0/8"), _net("::1/128"))
UNSPECIFIED = (_net("0.0.0.0/8"), _net("::/128"))
PRIVATE = (
    _net("10.0.0.0/8"),
    _net("172.16.0.0/12"),
    _net("192.168.0.0/16"),
    _net("100.64.0.0/10"),
    _net("fc00::/7"),
)
_NAT64 = _net("64:ff9b::/96")

# The two refusals a setting lifts say exactly which setting, and how (README: "Same-host receivers").
LOOPBACK_REFUSAL = (
    "a loopback address (a receiver on this machine), refused by default. To allow same-host receivers "
    "such as Home Assistant or ntfy, set SUBLARR_WEBHOOK_ALLOW_LOOPBACK=true in Sublarr's environment "
    "and restart Sublarr"
)
PRIVATE_REFUSAL = (
    "a private network address, refused because SUBLARR_WEBHOOK_BLOCK_PRIVATE=true. To allow receivers on "
    "your LAN, set SUBLARR_WEBHOOK_BLOCK_PRIVATE=false (or remove it) in Sublarr's environment and restart Sublarr"
)


def _redact(parts: SplitResult) -> str:
    """The URL without user:password (which may be a secret) and without its query."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}"


def redact_url(url: str) -> str:
    """``url`` fit for a log line or error message: no userinfo, no query string."""
    try:
        return _redact(urlsplit(url))
    except ValueError:
        return "<invalid URL>"


def _unwrap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached under the current settings, or None when it may."""
    ip = _unwrap(ip)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address (always refused)"
    if any(ip in net for net in LINK_LOCAL):
        return "a link-local address (always refused)"
    if any(ip in net for net in UNSPECIFIED):
        return "an unspecified address (always refused)"
    if ip.is_multicast:
        return "a multicast address (always refused)"
    if any(ip in net for net in LOOPBACK):
        if settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK:
            return None
        return LOOPBACK_REFUSAL
    if any(ip in net for net in PRIVATE):
        if settings.SUBLARR_WEBHOOK_BLOCK_PRIVATE:
            return PRIVATE_REFUSAL
        return None
    if not ip.is_global:
        return "a reserved address (always refused)"
    return None


def parse_webhook_url(url: str) -> SplitResult:
    """Split ``url``, raising InvalidWebhookURL unless it is an absolute http(s) URL with a host."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidWebhookURL("Webhook URL is empty.")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidWebhookURL(f"Webhook URL is not a valid URL ({exc}).") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidWebhookURL(
            f"Webhook URL must start with http:// or https://, not {parts.scheme + '://' if parts.scheme else '…'}."
        )
    if not parts.hostname:
        raise InvalidWebhookURL("Webhook URL has no host.")
    return parts


def resolve_checked(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, raising AddressRefused if any is refused."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostUnresolvable(f"Webhook host {host!r} could not be resolved ({exc}).") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise HostUnresolvable(f"Webhook host {host!r} resolved to no address.")
    for address in addresses:
        reason = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]))
        if reason:
            shown = host if literal is not None else f"{host} (resolves to {address})"
            raise AddressRefused(f"Webhook address refused: {shown} is {reason}.")
    return addresses


def check_webhook_url_on_save(url: str) -> str | None:
    """Check ``url`` for saving: raise AddressRefused if refused; return a warning if its host does not resolve now."""
    try:
        check_webhook_url(url)
    except HostUnresolvable as exc:
        return (
            f"{exc.message} Saved anyway: the address is checked again before every delivery, "
            "which fails until the name resolves to an allowed address."
        )
    return None


def check_webhook_url(url: str) -> None:
    """Raise AddressRefused (with a message safe to show) unless ``url`` may receive webhooks now."""
    parts = parse_webhook_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        resolve_checked(parts.hostname or "", port)
    except AddressRefused as exc:
        message = exc.message.replace("Webhook address refused:", f"Webhook URL {_redact(parts)} refused:")
        raise type(exc)(message) from None
