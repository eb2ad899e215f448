"""Apprise URLs: parsed by Apprise, the webhooks' address policy on every host they name, masking and unmasking."""

from __future__ import annotations

import pytest

from events.errors import Invalid
from hooks.netpolicy import HostUnresolvable
from hooks.notify import urls
from hooks.notify.urls import URLRefused, check_url_before_send, check_url_on_save, mask_url, parse_url, unmask_urls


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


@pytest.mark.parametrize(
    ("url", "scheme", "hosts", "fixed"),
    [
        ("json://127.0.0.1:8080/path", "json", (("127.0.0.1", 8080),), False),
        ("jsons://hooks.example.org/path", "jsons", (("hooks.example.org", 443),), False),
        ("xml://[::1]:81/x", "xml", (("::1", 81),), False),
        ("form://10.0.0.5/x", "form", (("10.0.0.5", 80),), False),
        ("ntfy://192.168.1.20:8081/alerts", "ntfy", (("192.168.1.20", 8081),), False),
        ("ntfys://user:pw@ntfy.example.org/alerts", "ntfys", (("ntfy.example.org", 443),), False),
        ("ntfy://my-secret-topic", "ntfys", (("ntfy.sh", 443),), True),
        ("gotify://gotify.lan/AbCdEfGhIjKlMnO", "gotify", (("gotify.lan", 80),), False),
        ("mailto://user:pw@gmail.com", "mailtos", (("smtp.gmail.com", 587),), False),
        (
            "mailtos://me:pw@example.org?smtp=mail.example.org&to=a@example.org",
            "mailtos",
            (("mail.example.org", 587),),
            False,
        ),
        ("discord://1234567890/abcDEFtoken", "discord", (("discord.com", 443),), True),
        ("https://discord.com/api/webhooks/1234567890/abcDEFtoken", "discord", (("discord.com", 443),), True),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234", "tgram", (("api.telegram.org", 443),), True),
        ("pover://userkey@apptoken", "pover", (("api.pushover.net", 443),), True),
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            "slack",
            (("hooks.slack.com", 443), ("slack.com", 443)),
            True,
        ),
    ],
)
def test_apprise_parses_the_url_and_sublarr_knows_every_host_it_connects_to(url, scheme, hosts, fixed):
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.hosts, parsed.fixed) == (scheme, hosts, fixed)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bogus://x", "Apprise could not read the URL bogus://******** (Unparseable URL ********)."),
        ("json://", "Apprise could not read the URL json:// (Unparseable JSON URL ********)."),
        ("not a url", "The URL must not contain spaces or control characters."),
        ("ntfy.sh/topic", "Enter an Apprise URL such as ntfy://ntfy.example.com/topic or discord://id/token."),
        ("", "Enter an Apprise URL."),
        ("json://h/" + "x" * 2048, "Enter a URL of at most 2048 characters."),
    ],
)
def test_a_url_apprise_cannot_read_is_refused_with_a_masked_message(url, message):
    with pytest.raises(URLRefused) as caught:
        parse_url(url)
    assert caught.value.message == message


def test_a_service_whose_servers_sublarr_cannot_tell_is_refused():
    with pytest.raises(URLRefused) as caught:
        parse_url("rocket://user:pw@chat.example.org/room")
    assert caught.value.message.startswith(
        "rocket:// notifications are not supported: Sublarr cannot tell which servers that service connects to, "
        "so it cannot apply the address policy. Supported: discord://, form://,"
    )
    assert "pw" not in caught.value.message


# --- the address policy at save ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("json://169.254.169.254/latest", "169.254.169.254 is a cloud metadata address (always refused)."),
        ("form://169.254.10.1/x", "169.254.10.1 is a link-local address (always refused)."),
        # Apprise 1.9.9 reads [fe80::1] as [fe80::]: the policy judges the host Apprise will connect to.
        ("gotify://[fe80::1]/token", "fe80:: is a link-local address (always refused)."),
        ("ntfy://[::ffff:169.254.169.254]/t", "::ffff:169.254.169.254 is a cloud metadata address (always refused)."),
        ("xml://0.0.0.0:80/x", "0.0.0.0 is an unspecified address (always refused)."),
    ],
)
def test_metadata_and_link_local_hosts_are_refused_at_save_even_with_loopback_allowed(loopback, url, reason):
    with pytest.raises(URLRefused) as caught:
        check_url_on_save(url)
    assert caught.value.message.endswith(f"is refused: {reason}")


def test_loopback_is_refused_unless_the_setting_allows_it(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(URLRefused) as caught:
        check_url_on_save("json://user:s3cret@127.0.0.1:8080/hook")
    assert caught.value.message.startswith(
        "The URL json://user:********@127.0.0.1:8080/******** is refused: 127.0.0.1 is a loopback address"
    )
    assert "SUBLARR_WEBHOOK_ALLOW_LOOPBACK=true" in caught.value.message
    with pytest.raises(URLRefused):
        check_url_on_save("ntfy://localhost:8080/topic")
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    assert check_url_on_save("json://user:s3cret@127.0.0.1:8080/hook")[1] is None
    assert check_url_on_save("ntfy://localhost:8080/topic")[1] is None


def test_private_lan_hosts_follow_the_block_private_setting(settings):
    assert check_url_on_save("gotify://192.168.1.10/token")[1] is None
    settings.SUBLARR_WEBHOOK_BLOCK_PRIVATE = True
    with pytest.raises(URLRefused) as caught:
        check_url_on_save("gotify://192.168.1.10/token")
    assert "SUBLARR_WEBHOOK_BLOCK_PRIVATE=true" in caught.value.message


def test_a_name_that_does_not_resolve_now_is_saved_with_a_warning_and_fails_before_sending():
    parsed, warning = check_url_on_save("json://no-such-host.invalid/hook")
    assert parsed.hosts == (("no-such-host.invalid", 80),)
    assert warning == (
        "The host no-such-host.invalid of json://no-such-host.invalid/******** does not resolve now. Saved anyway: "
        "it is checked again before every notification, which fails until the name resolves to an allowed address."
    )
    with pytest.raises(HostUnresolvable) as caught:
        check_url_before_send("json://no-such-host.invalid/hook")
    assert caught.value.transient is True


def test_fixed_public_hosts_are_not_looked_up_at_save():
    # No DNS at save for discord.com / api.telegram.org: they are checked before each send like every host.
    assert check_url_on_save("discord://1234567890/abcDEFtoken")[1] is None
    assert check_url_on_save("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234")[1] is None


def test_the_settings_of_the_moment_apply_before_sending(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    check_url_on_save("json://127.0.0.1:9/hook")
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(URLRefused) as caught:
        check_url_before_send("json://127.0.0.1:9/hook")
    assert caught.value.transient is False


def test_check_urls_on_save_reports_each_refused_url_by_position(loopback):
    with pytest.raises(Invalid) as caught:
        urls.check_urls_on_save(
            ["json://127.0.0.1:1/ok", "json://169.254.169.254/x", "rocket://user:pw@chat.example.org/room"]
        )
    messages = caught.value.errors["urls"]
    assert len(messages) == 2
    assert messages[0].startswith("URL 2: The URL json://169.254.169.254/******** is refused: ")
    assert messages[1].startswith("URL 3: rocket:// notifications are not supported")
    kept, warnings = urls.check_urls_on_save(["json://127.0.0.1:1/ok", "json://no-such-host.invalid/x"])
    assert kept == ["json://127.0.0.1:1/ok", "json://no-such-host.invalid/x"]
    assert warnings[0].startswith("URL 2: The host no-such-host.invalid of ")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("json://127.0.0.1/x", "Enter a list of Apprise URLs."),
        ([], "Enter at least one Apprise URL."),
        (["json://127.0.0.1/x"] * 11, "Enter at most 10 URLs."),
        ([12], "URL 1: Enter the URL as text."),
        (["\ud800://x"], "URL 1: Surrogate characters are not allowed: U+D800."),
    ],
)
def test_check_urls_on_save_refuses_what_is_not_a_list_of_urls(loopback, value, message):
    with pytest.raises(Invalid) as caught:
        urls.check_urls_on_save(value)
    assert caught.value.errors["urls"][0] == message


def test_schemes_name_the_services_only():
    assert urls.schemes(["discord://1/2", "ntfy://topic", "json://u:p@h/x", "discord://3/4", "bogus://x"]) == [
        "discord",
        "ntfys",
        "json",
        "invalid",
    ]


# --- masking ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "json://user:s3cret@127.0.0.1:8080/path/to?format=markdown&+X-Token=abc",
            "json://user:********@127.0.0.1:8080/********/********?format=markdown&+X-Token=********",
        ),
        ("ntfys://tk_abcdef@ntfy.example.org/alerts", "ntfys://tk_abcdef@ntfy.example.org/********"),
        ("ntfy://my-secret-topic", "ntfy://********"),
        ("gotify://gotify.lan/AbCdEfGhIjKlMnO?priority=high", "gotify://gotify.lan/********?priority=high"),
        ("discord://1234567890/abcDEFtoken", "discord://********/********"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234", "tgram://********"),
        ("pover://userkey@apptoken", "pover://********@********"),
        (
            "mailtos://me:pw@example.org?smtp=mail.example.org&to=a@example.org",
            "mailtos://me:********@example.org?smtp=mail.example.org&to=********",
        ),
        ("json://h/x#frag", "json://h/********#********"),
    ],
)
def test_mask_url_hides_tokens_and_passwords(url, masked):
    assert mask_url(url) == masked


def test_tgram_mask_hides_the_bot_token_even_with_its_colon():
    masked = mask_url("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234")
    assert "AAHdq" not in masked
    assert "123456789" not in masked


# --- unmasking --------------------------------------------------------------------------------------------------------

STORED = [
    "discord://1111/tokenA",
    "discord://2222/tokenB",
    "json://user:s3cret@127.0.0.1:8080/hook",
]


def test_masked_urls_sent_back_unchanged_keep_the_stored_ones_in_order():
    shown = [mask_url(url) for url in STORED]
    assert shown[0] == shown[1]
    assert unmask_urls(shown, STORED) == STORED
    # One dropped, one new one added in full: the remaining masked one takes the first stored match.
    assert unmask_urls([shown[2], "ntfy://topic"], STORED) == [STORED[2], "ntfy://topic"]


@pytest.mark.parametrize(
    "edited",
    [
        "json://user:********@evil.example.org:8080/********",  # host changed around the mask
        "json://user:********@127.0.0.1:9090/********",  # port changed
        "json://root:********@127.0.0.1:8080/********",  # user changed
        "jsons://user:********@127.0.0.1:8080/********",  # scheme changed
        "json://user:********@127.0.0.1:8080/********/more",  # path changed
    ],
)
def test_a_masked_url_whose_address_changed_is_refused_not_given_the_stored_secret(edited):
    with pytest.raises(Invalid) as caught:
        unmask_urls([edited], STORED)
    assert caught.value.errors == {"urls": [f"URL 1: {urls.MASK_UNKNOWN_MESSAGE}"]}


def test_a_masked_url_with_nothing_stored_is_refused():
    with pytest.raises(Invalid):
        unmask_urls(["discord://********/********"], [])


def test_urls_without_the_mask_pass_through_unmask():
    assert unmask_urls(["ntfy://topic", "json://u:new@127.0.0.1/x"], STORED) == [
        "ntfy://topic",
        "json://u:new@127.0.0.1/x",
    ]
