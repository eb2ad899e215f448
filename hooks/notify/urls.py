"""Apprise URLs: which services Sublarr sends to, the servers each URL names, the address policy, masking.

A URL is parsed by Apprise itself (``Apprise.instantiate``), so Sublarr reads
it exactly as Apprise will send to it. Sublarr then needs to know every server
the notification will connect to, to apply the webhooks' address policy
(``hooks.netpolicy``: cloud metadata and link-local always refused, loopback
only with ``SUBLARR_WEBHOOK_ALLOW_LOOPBACK``, private LAN unless
``SUBLARR_WEBHOOK_BLOCK_PRIVATE``). That is only known service by service, so
only the services listed here are accepted:

* services you host, where the URL's host is the server: ``json``/``jsons``,
  ``xml``/``xmls``, ``form``/``forms``, ``gotify``/``gotifys``,
  ``ntfy``/``ntfys`` (``ntfy://topic`` alone is ntfy.sh), ``mailto``/``mailtos``
  (the SMTP server Apprise picks, or ``?smtp=``);
* services with a fixed public API, where the URL's "host" is a token:
  ``discord`` (discord.com), ``tgram`` (api.telegram.org), ``pover``
  (api.pushover.net), ``slack`` (hooks.slack.com, slack.com).

When each check happens:

* **at save** (``check_urls_on_save``): the URL parses, its service is one of
  the above, and each host of a self-hosted service that is an IP address, or a
  name resolving now, passes the policy. A name that does not resolve now is
  saved with a warning. Fixed public hosts are not looked up at save.
* **before sending** (``check_url_before_send``): every host, fixed ones
  included, is resolved and every address it resolves to must pass — the
  settings of that moment apply. Refused: a permanent failure; unresolvable: a
  transient one.

A URL holds tokens and passwords. ``mask_url`` gives the form to show: the
scheme, a user name, the host of a self-hosted service and the port are kept;
the password, the "host" of a fixed-API service, every path segment and every
query value but a few harmless options become ``********``. ``unmask_urls``
keeps a stored URL when the client sends back its masked form unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise

from events import jsonlimits
from events.errors import Invalid
from hooks.netpolicy import AddressRefused, HostUnresolvable, address_refusal, resolve_checked
from hooks.notify.apprise_setup import MASK, apprise_log, make_asset, secrets_of

URLS_FIELD = "urls"
MAX_URLS = 10
URL_MAX_LENGTH = 2048

# Canonical scheme (Apprise's secure form) → the public hosts the service's API lives on.
FIXED_HOSTS: dict[str, tuple[str, ...]] = {
    "discord": ("discord.com",),
    "tgram": ("api.telegram.org",),
    "pover": ("api.pushover.net",),
    "slack": ("hooks.slack.com", "slack.com"),
}
# Services you host: the URL's host (for e-mail: the SMTP server) is where Apprise connects.
SELF_HOSTED = frozenset({"json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys", "ntfy", "ntfys"})
EMAIL = frozenset({"mailto", "mailtos"})
NTFY_CLOUD_HOST = "ntfy.sh"
SUPPORTED = sorted({*FIXED_HOSTS, *SELF_HOSTED, *EMAIL})
# Query options shown as they are in a masked URL (they never hold a secret); every other value is masked.
VISIBLE_OPTIONS = frozenset(
    {"format", "overflow", "priority", "method", "mode", "verify", "cto", "rto", "image", "tags", "smtp"}
)

EMPTY_MESSAGE = "Enter at least one Apprise URL."
TOO_MANY_MESSAGE = f"Enter at most {MAX_URLS} URLs."
NOT_A_LIST_MESSAGE = "Enter a list of Apprise URLs."
MASK_UNKNOWN_MESSAGE = (
    "This URL contains the placeholder ******** but is not, unchanged, one of the stored URLs as they are shown; "
    "to change a URL, enter it in full with its tokens and passwords."
)


class URLRefused(AddressRefused):
    """An Apprise URL that cannot be used: it does not parse, its service is not supported, or a host is refused."""


@dataclass(frozen=True)
class NotificationURL:
    """One parsed Apprise URL: where it sends, never how it authenticates (except ``url`` itself)."""

    url: str
    # Apprise's canonical scheme for the service ("ntfys", "discord", "mailtos"…): safe to log.
    scheme: str
    service: str
    # (host, port) of every server the notification connects to.
    hosts: tuple[tuple[str, int], ...]
    fixed: bool
    masked: str


def _canonical_scheme(plugin: apprise.plugins.NotifyBase) -> str:
    """The scheme Apprise writes the URL back with (``ntfy://topic`` → ``ntfys``); the URL itself is not kept."""
    return str(plugin.url(privacy=True)).split("://", 1)[0].lower()


def _port(plugin: apprise.plugins.NotifyBase) -> int:
    port = plugin.port
    return int(port) if port else (443 if plugin.secure else 80)


def _host(value: str) -> str:
    return value.strip("[]").lower()


def _hosts(scheme: str, plugin: apprise.plugins.NotifyBase) -> tuple[tuple[tuple[str, int], ...], bool]:
    if scheme in FIXED_HOSTS:
        return tuple((host, 443) for host in FIXED_HOSTS[scheme]), True
    if scheme in {"ntfy", "ntfys"} and getattr(plugin, "mode", "") == "cloud":
        return ((NTFY_CLOUD_HOST, 443),), True
    if scheme in EMAIL:
        return ((_host(str(plugin.smtp_host or plugin.host)), _port(plugin)),), False  # type: ignore[attr-defined]  # NotifyEmail's
    return ((_host(str(plugin.host)), _port(plugin)),), False


def _parse_problem(url: object) -> str | None:
    if not isinstance(url, str):
        return "Enter the URL as text."
    if message := jsonlimits.text_error(url):
        return message
    if not url.strip():
        return "Enter an Apprise URL."
    if len(url) > URL_MAX_LENGTH:
        return f"Enter a URL of at most {URL_MAX_LENGTH} characters."
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "The URL must not contain spaces or control characters."
    if "://" not in url:
        return "Enter an Apprise URL such as ntfy://ntfy.example.com/topic or discord://id/token."
    return None


def parse_url(url: str) -> NotificationURL:
    """Parse ``url`` with Apprise; raise URLRefused (message safe to show) unless Sublarr can send to it."""
    if problem := _parse_problem(url):
        raise URLRefused(problem)
    given_scheme = url.split("://", 1)[0].lower()
    with apprise_log(secrets_of(url, keep_host=False)) as log:
        plugin = apprise.Apprise.instantiate(url, asset=make_asset())
    shown = mask_url(url)
    if plugin is None:
        reason = f" ({log[-1]})" if log else ""
        raise URLRefused(f"Apprise could not read the URL {shown}{reason}.")
    scheme = _canonical_scheme(plugin)
    if scheme not in SUPPORTED:
        raise URLRefused(
            f"{given_scheme}:// notifications are not supported: Sublarr cannot tell which servers that "
            f"service connects to, so it cannot apply the address policy. Supported: "
            f"{', '.join(s + '://' for s in SUPPORTED)}."
        )
    hosts, fixed = _hosts(scheme, plugin)
    if not all(host for host, _port in hosts):
        raise URLRefused(f"The URL {shown} names no host.")
    return NotificationURL(url, scheme, str(plugin.service_name), hosts, fixed, shown)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url_on_save(url: str) -> tuple[NotificationURL, str | None]:
    """Parse ``url`` and apply the address policy as far as can be known now; return it and a warning or None."""
    parsed = parse_url(url)
    if parsed.fixed:
        return parsed, None
    warnings = []
    for host, port in parsed.hosts:
        literal = _literal(host)
        if literal is not None:
            if reason := address_refusal(literal):
                raise URLRefused(f"The URL {parsed.masked} is refused: {host} is {reason}.")
            continue
        try:
            resolve_checked(host, port)
        except HostUnresolvable:
            warnings.append(
                f"The host {host} of {parsed.masked} does not resolve now. Saved anyway: it is checked again "
                "before every notification, which fails until the name resolves to an allowed address."
            )
        except AddressRefused as exc:
            message = exc.message.replace("Webhook address refused:", f"The URL {parsed.masked} is refused:")
            raise URLRefused(message) from None
    return parsed, " ".join(warnings) or None


def check_url_before_send(url: str) -> NotificationURL:
    """Parse ``url`` and resolve-and-check every host it connects to; raise AddressRefused/HostUnresolvable."""
    parsed = parse_url(url)
    for host, port in parsed.hosts:
        try:
            resolve_checked(host, port)
        except HostUnresolvable as exc:
            raise HostUnresolvable(exc.message.replace("Webhook host", f"The host of {parsed.masked},")) from None
        except AddressRefused as exc:
            raise URLRefused(
                exc.message.replace("Webhook address refused:", f"The URL {parsed.masked} is refused:")
            ) from None
    return parsed


def _as_list(urls: object) -> list[object]:
    if isinstance(urls, str) or not isinstance(urls, Sequence):
        raise Invalid(NOT_A_LIST_MESSAGE, field=URLS_FIELD)
    if not urls:
        raise Invalid(EMPTY_MESSAGE, field=URLS_FIELD)
    if len(urls) > MAX_URLS:
        raise Invalid(TOO_MANY_MESSAGE, field=URLS_FIELD)
    return list(urls)


def check_urls_on_save(urls: object) -> tuple[list[str], list[str]]:
    """Check a target's URLs for saving; return them and the warnings to show.

    Raises ``events.errors.Invalid`` with ``urls`` → one message per refused
    URL, each naming its position ("URL 2: …") and never its secrets.
    """
    items = _as_list(urls)
    messages: list[str] = []
    warnings: list[str] = []
    for number, url in enumerate(items, start=1):
        try:
            _parsed, warning = check_url_on_save(url)  # type: ignore[arg-type]  # _parse_problem refuses non-text
        except AddressRefused as exc:
            messages.append(f"URL {number}: {exc.message}")
            continue
        if warning:
            warnings.append(f"URL {number}: {warning}")
    if messages:
        raise Invalid(messages[0], field=URLS_FIELD, errors={URLS_FIELD: messages})
    return [str(url) for url in items], warnings


def schemes(urls: Sequence[str]) -> list[str]:
    """The canonical schemes of ``urls`` (what a log line may say about where a notification went)."""
    found: list[str] = []
    for url in urls:
        try:
            scheme = parse_url(url).scheme
        except AddressRefused:
            scheme = "invalid"
        if scheme not in found:
            found.append(scheme)
    return found


# ---------------------------------------------------------------------------------------------------------------------
# Masking.


def mask_url(url: str) -> str:
    """``url`` fit to show: scheme, user, a self-hosted host and the port kept; every secret ``********``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{url.split('://', 1)[0]}://{MASK}" if "://" in url else MASK
    scheme = parts.scheme.lower()
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = ""
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@" if colon else f"{MASK}@" if scheme in FIXED_HOSTS or not user else f"{user}@"
    host = parts.hostname or ""
    shows_host = (scheme in SELF_HOSTED or scheme in EMAIL) and not (
        scheme in {"ntfy", "ntfys"} and "." not in host and _literal(host) is None
    )
    if shows_host and host:
        netloc += f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
    elif hostport:
        netloc += MASK
    path = "/".join(MASK if segment else "" for segment in parts.path.split("/"))
    # Split by hand: Apprise reads "+Header=value" as a header, which parse_qsl would turn into " Header".
    pairs = []
    for pair in filter(None, parts.query.split("&")):
        key, equals, value = pair.partition("=")
        pairs.append(f"{key}={value if key.lower() in VISIBLE_OPTIONS else MASK}" if equals else key)
    query = "&".join(pairs)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "") + (f"#{MASK}" if parts.fragment else "")


def unmask_urls(submitted: object, stored: Sequence[str]) -> list[object]:
    """The URLs to save when a client sends back the masked URLs it was shown: each masked one becomes its stored URL.

    A URL with the mask is kept only if it is exactly the masked form of a
    stored URL — so its scheme, host, port and user name (and everything
    else) are unchanged; anything else would send a stored secret to an
    address the client chose. Otherwise raises ``Invalid`` (``urls``).
    """
    items = _as_list(submitted)
    # Two stored URLs may mask alike (two Discord webhooks): each masked URL sent back takes the next in order.
    by_mask: dict[str, list[str]] = {}
    for kept in stored:
        by_mask.setdefault(mask_url(kept), []).append(kept)
    result: list[object] = []
    messages: list[str] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, str) and MASK in item:
            if by_mask.get(item):
                result.append(by_mask[item].pop(0))
                continue
            messages.append(f"URL {number}: {MASK_UNKNOWN_MESSAGE}")
        result.append(item)
    if messages:
        raise Invalid(messages[0], field=URLS_FIELD, errors={URLS_FIELD: messages})
    return result
