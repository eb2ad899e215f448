"""Sending through real Apprise to local receivers: what arrives, failures as HookError, no secret in any log."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from werkzeug import Request, Response

from events.samples import sample_payload
from hooks.notify import guard
from hooks.notify.send import notify_type_for, send
from hooks.notify.templates import render
from hooks.transports import HookError

PASSWORD = "s3cretPassw0rd"
HEADER_TOKEN = "hdrT0kenValue"
GOTIFY_TOKEN = "AppT0kenGotifyXYZ"
NTFY_TOKEN = "tk_ntfyAccessT0ken"
PATH_TOKEN = "PathT0kenLikeTelegrams"
SECRETS = (PASSWORD, HEADER_TOKEN, GOTIFY_TOKEN, NTFY_TOKEN, PATH_TOKEN)


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


def envelope(event_name: str = "subtitle_downloaded") -> dict:
    return {
        "id": "3f1c2a9e-5b7d-4e2f-9a1b-0c3d4e5f6a7b",
        "event_name": event_name,
        "version": 1,
        "timestamp": "2026-11-24T10:00:00+00:00",
        "data": sample_payload(event_name),
    }


def test_json_receives_the_rendered_title_and_body(loopback, httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    title, body, reason = render("{{ media }} ({{ data.language }})", "", envelope())
    assert reason is None

    result = send(
        [f"json://127.0.0.1:{httpserver.port}/hook"], title, body, "text", notify_type_for("subtitle_downloaded")
    )

    [(request, _response)] = httpserver.log
    assert request.get_json() == {
        "version": "1.0",
        "title": "The Expanse S02E05 (de)",
        "message": "The Expanse S02E05\nLanguage: de, format: ass, score: 412\nProvider: opensubtitles",
        "attachments": [],
        "type": "success",
    }
    assert result.success is True
    assert result.extra == {
        "title": "The Expanse S02E05 (de)",
        "body": "The Expanse S02E05\nLanguage: de, format: ass, score: 412\nProvider: opensubtitles",
        "schemes": ["json"],
        "outcomes": [{"scheme": "json", "success": True}],
    }
    assert result.stdout == f"{title}\n\n{body}"


def test_ntfy_over_http_receives_topic_title_and_message(loopback, httpserver):
    httpserver.expect_oneshot_request("/", method="POST").respond_with_json({"id": "abc", "event": "message"})

    result = send([f"ntfy://127.0.0.1:{httpserver.port}/sublarr-alerts"], "Provider failed", "opensubtitles: 503")

    [(request, _response)] = httpserver.log
    assert json.loads(request.get_data()) == {
        "topic": "sublarr-alerts",
        "title": "Provider failed",
        "message": "opensubtitles: 503",
    }
    assert result.extra["schemes"] == ["ntfy"]


def test_gotify_receives_the_message_with_its_app_token(loopback, httpserver):
    httpserver.expect_oneshot_request(
        "/message", method="POST", headers={"X-Gotify-Key": GOTIFY_TOKEN}
    ).respond_with_json({"id": 1})

    result = send([f"gotify://127.0.0.1:{httpserver.port}/{GOTIFY_TOKEN}"], "Batch complete", "17 of 20", "markdown")

    [(request, _response)] = httpserver.log
    sent = request.get_json()
    assert (sent["title"], sent["message"]) == ("Batch complete", "17 of 20")
    assert result.extra["schemes"] == ["gotify"]


def test_one_notification_to_several_services(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/").respond_with_json({"id": "x"})
    httpserver.expect_request("/message").respond_with_json({"id": 1})
    port = httpserver.port

    result = send(
        [f"json://127.0.0.1:{port}/hook", f"ntfy://127.0.0.1:{port}/t", f"gotify://127.0.0.1:{port}/{GOTIFY_TOKEN}"],
        "T",
        "B",
    )

    assert sorted(request.path for request, _ in httpserver.log) == ["/", "/hook", "/message"]
    assert result.extra["schemes"] == ["json", "ntfy", "gotify"]


def test_a_receiver_answering_500_is_a_transient_failure_then_200_succeeds(loopback, httpserver):
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    url = f"json://user:{PASSWORD}@127.0.0.1:{httpserver.port}/hook"

    with pytest.raises(HookError) as caught:
        send([url], "Title", "Body")
    error = caught.value
    assert error.permanent is False
    assert error.message == (
        "Notification failed for 1 of 1 URL(s) — json: Failed to send JSON POST notification: "
        "Internal server error., error=500."
    )
    assert error.result.success is False
    assert error.result.extra["outcomes"] == [
        {
            "scheme": "json",
            "success": False,
            "error": "Failed to send JSON POST notification: Internal server error., error=500.",
        }
    ]
    assert error.result.extra["title"] == "Title"

    assert send([url], "Title", "Body").success is True
    assert len(httpserver.log) == 2


def test_a_partial_failure_says_which_service_failed_and_how_many_were_sent(loopback, httpserver):
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/bad").respond_with_data("no", status=503)
    port = httpserver.port
    with pytest.raises(HookError) as caught:
        send([f"json://127.0.0.1:{port}/ok", f"form://127.0.0.1:{port}/bad"], "T", "B")
    assert caught.value.permanent is False
    assert caught.value.message.startswith("Notification failed for 1 of 2 URL(s) — form: Failed to send Form POST")
    assert caught.value.message.endswith("(1 sent)")
    assert caught.value.result.extra["outcomes"][0] == {"scheme": "json", "success": True}


def test_a_refused_address_fails_permanently_before_anything_is_sent(settings, httpserver):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(HookError) as caught:
        send([f"json://user:{PASSWORD}@127.0.0.1:{httpserver.port}/hook"], "T", "B")
    assert caught.value.permanent is True
    assert caught.value.message.startswith(
        f"The URL json://user:********@127.0.0.1:{httpserver.port}/******** is refused: 127.0.0.1 is a loopback"
    )
    assert httpserver.log == []


def test_an_unresolvable_host_is_a_transient_failure():
    with pytest.raises(HookError) as caught:
        send(["json://no-such-host.invalid/hook"], "T", "B")
    assert caught.value.permanent is False
    assert "no-such-host.invalid" in caught.value.message


@pytest.mark.parametrize(
    ("urls", "body_format", "notify_type", "message"),
    [
        (["rocket://user:pw@chat.example.org/room"], "text", "info", "rocket:// notifications are not supported"),
        (["bogus://x"], "text", "info", "Apprise could not read the URL bogus://********"),
        (["json://127.0.0.1/x"], "html", "info", "Unknown body format 'html'; use text or markdown."),
        (["json://127.0.0.1/x"], "text", "fatal", "Unknown notify type 'fatal'; use info, success, warning, failure."),
        ([], "text", "info", "The notification has no URL to send to."),
    ],
)
def test_bad_urls_and_options_are_permanent_failures(loopback, urls, body_format, notify_type, message):
    with pytest.raises(HookError) as caught:
        send(urls, "T", "B", body_format, notify_type)
    assert caught.value.permanent is True
    assert caught.value.message.startswith(message)


def test_a_redirect_to_a_refused_address_is_stopped_while_connecting(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_response(
        Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    with pytest.raises(HookError) as caught:
        send([f"json://127.0.0.1:{httpserver.port}/hook"], "T", "B")
    assert caught.value.permanent is True
    assert caught.value.message == (
        "Notification failed for 1 of 1 URL(s) — json: address refused while connecting: "
        "169.254.169.254 is a cloud metadata address (always refused)"
    )


def test_the_connection_guard_only_acts_in_a_thread_that_is_sending():
    with guard.connections_checked() as refused, pytest.raises(socket.gaierror):
        socket.getaddrinfo("169.254.169.254", 80)
    assert refused == ["169.254.169.254 is a cloud metadata address (always refused)"]
    # Outside a send (and in every other thread) lookups are left alone.
    assert socket.getaddrinfo("169.254.169.254", 80)[0][4][0] == "169.254.169.254"


# --- no secret in any log -------------------------------------------------------------------------------------------


def test_no_url_secret_reaches_a_log_an_error_or_the_result(loopback, httpserver, caplog, capfd):
    def answer(request: Request) -> Response:
        return Response("down", status=500) if request.path.startswith("/bad") else Response('{"id": 1}', status=200)

    httpserver.expect_request(f"/bad/{PATH_TOKEN}").respond_with_handler(answer)
    httpserver.expect_request("/").respond_with_handler(answer)
    httpserver.expect_request("/message").respond_with_handler(answer)
    port = httpserver.port
    urls = [
        f"json://user:{PASSWORD}@127.0.0.1:{port}/bad/{PATH_TOKEN}?+X-Token={HEADER_TOKEN}",
        f"ntfy://{NTFY_TOKEN}@127.0.0.1:{port}/topic",
        f"gotify://127.0.0.1:{port}/{GOTIFY_TOKEN}",
        f"json://user:{PASSWORD}@127.0.0.1:1/refused-port",
        f"rocket://user:{PASSWORD}@chat.example.org/room",
        f"json://user:{PASSWORD}@no-such-host.invalid/x",
        f"bogus://{PASSWORD}",
    ]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("apprise").setLevel(logging.DEBUG)  # Apprise logs URLs and tokens at debug level,
    logging.getLogger("urllib3").setLevel(logging.DEBUG)  # urllib3 each request's path
    texts: list[str] = []
    try:
        for url_list in ([urls[0], urls[1], urls[2]], [urls[3]], [urls[4]], [urls[5]], [urls[6]], [urls[1], urls[2]]):
            try:
                result = send(url_list, "Title", "Body")
            except HookError as exc:
                texts += [exc.message, repr(exc.result)]
            else:
                texts.append(repr(result))
    finally:
        logging.getLogger("apprise").setLevel(logging.NOTSET)
        logging.getLogger("urllib3").setLevel(logging.NOTSET)
    out, err = capfd.readouterr()
    # The stand-in receiver's own access log (werkzeug, in this process) is the remote service's log, not ours.
    ours = [record for record in caplog.records if record.name != "werkzeug"]
    logged = "\n".join(f"{record.name} {record.getMessage()}" for record in ours)
    texts += [logged, *(line for line in (out + err).splitlines() if "werkzeug" not in line)]

    everything = "\n".join(texts)
    assert "Internal server error" in everything  # the failures were logged and reported…
    assert 'POST /********/******** HTTP/1.1" 500' in logged  # …urllib3's request line too…
    for secret in SECRETS:
        assert secret not in everything  # …without a secret of the URLs
    assert {request.path for request, _ in httpserver.log} == {f"/bad/{PATH_TOKEN}", "/", "/message"}
