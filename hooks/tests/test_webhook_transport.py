"""The webhook transport's HTTP client: pooled connections, capped bodies, URL credentials, clear errors."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from events.types import Envelope
from hooks.models import WebhookConfig
from hooks.transports import HookError
from hooks.transports import webhook as transport
from hooks.transports.webhook import deliver


@pytest.fixture
def loopback(settings):
    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


def envelope() -> Envelope:
    return {"id": str(uuid.uuid4()), "event_name": "batch_complete", "version": 1, "timestamp": "t", "data": {}}


def webhook(url: str, **fields) -> WebhookConfig:
    return WebhookConfig(name="w", event_name="*", url=url, timeout_seconds=fields.pop("timeout_seconds", 5), **fields)


class KeepAliveReceiver(ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive; records the client port and Host of every request and answers with ``body``."""

    daemon_threads = True

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.hosts: list[str] = []
        # SNI names asked for, when served over TLS (tls_receiver).
        self.sni: list[str | None] = []
        self.body = b""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.ports.append(self.client_address[1])
                receiver.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gives up mid-handshake is what some tests do

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


def serve(server: KeepAliveReceiver) -> Iterator[KeepAliveReceiver]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def keepalive() -> Iterator[KeepAliveReceiver]:
    yield from serve(KeepAliveReceiver())


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver(ca) -> Iterator[KeepAliveReceiver]:
    """The keep-alive receiver over TLS, with a certificate for ``localhost``; records the SNI names asked for."""
    server = KeepAliveReceiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    yield from serve(server)


@pytest.fixture
def fresh_client():
    """The transport's per-process pools made anew with the settings of this test (and after it)."""
    transport.client_reset()
    yield
    transport.client_reset()


def test_deliveries_to_one_receiver_reuse_one_connection(loopback, keepalive):
    target = webhook(keepalive.url())

    for _ in range(5):
        assert deliver(target, envelope()).status_code == 200

    assert len(keepalive.ports) == 5
    assert len(set(keepalive.ports)) == 1


def test_a_body_over_the_cap_is_cut_and_its_connection_not_reused(loopback, keepalive):
    loopback.SUBLARR_WEBHOOK_RESPONSE_CAP = 100
    keepalive.body = b"x" * 200_000
    target = webhook(keepalive.url())

    first = deliver(target, envelope())
    keepalive.body = b"short"
    second = deliver(target, envelope())
    third = deliver(target, envelope())

    assert (first.response_body, second.response_body, third.response_body) == ("x" * 100, "short", "short")
    # The cut-short body's connection was dropped; the fully read one was kept.
    assert keepalive.ports[0] != keepalive.ports[1]
    assert keepalive.ports[1] == keepalive.ports[2]


def test_credentials_in_the_url_are_sent_as_basic_auth_and_redacted_in_the_log(loopback, httpserver):
    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
    httpserver.expect_request("/hook", headers={"Authorization": expected}).respond_with_data("ok")
    url = f"http://user:p%40ss@127.0.0.1:{httpserver.port}/hook?x=1"

    result = deliver(webhook(url), envelope())

    assert result.status_code == 200
    [(request, _)] = httpserver.log
    assert request.full_path == "/hook?x=1"
    assert request.headers["Host"] == f"127.0.0.1:{httpserver.port}"
    assert result.request_headers["Authorization"] == "[redacted]"
    assert "p@ss" not in str(result.request_headers)


def test_no_credentials_no_authorization_header(loopback, httpserver):
    httpserver.expect_request("/hook").respond_with_data("ok")

    result = deliver(webhook(httpserver.url_for("/hook")), envelope())

    [(request, _)] = httpserver.log
    assert "Authorization" not in request.headers
    assert "Authorization" not in result.request_headers
    assert request.headers["User-Agent"].startswith("Sublarr-Webhook/")


def read_request(conn: socket.socket) -> bytes:
    """The whole request (headers and Content-Length body): closing with bytes unread would send a reset instead."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return data


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_a_retryable_failure_with_a_plain_message(loopback):
    with pytest.raises(HookError) as info:
        deliver(webhook(f"http://127.0.0.1:{_closed_port()}/hook"), envelope())

    assert info.value.message == "Connection failed: ConnectionRefusedError: [Errno 111] Connection refused"
    assert not info.value.permanent
    assert "timed_out" not in info.value.result.extra


def test_receiver_closing_without_an_answer_is_a_retryable_failure(loopback):
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        conn, _ = listener.accept()
        read_request(conn)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(HookError) as info:
            deliver(webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook"), envelope())
    finally:
        thread.join(5)
        listener.close()

    assert info.value.message == (
        "Connection failed: Connection aborted: RemoteDisconnected: Remote end closed connection without response"
    )
    assert not info.value.permanent


def test_receiver_that_accepts_and_never_answers_times_out(loopback):
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(HookError) as info:
            deliver(webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", timeout_seconds=1), envelope())
    finally:
        listener.close()

    assert info.value.message == "Timed out after 1 s."
    assert info.value.result.extra["timed_out"] is True
    assert not info.value.permanent


def test_https_is_verified_for_the_host_name_while_connecting_to_the_checked_address(
    loopback, tls_receiver, ca, tmp_path, fresh_client
):
    bundle = tmp_path / "lan-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    loopback.SUBLARR_WEBHOOK_CA_BUNDLE = str(bundle)
    port = tls_receiver.server_address[1]

    result = deliver(webhook(f"https://localhost:{port}/hook"), envelope())

    assert result.status_code == 200
    assert tls_receiver.sni == ["localhost"]
    assert tls_receiver.hosts == [f"localhost:{port}"]


def test_https_with_a_certificate_no_trusted_ca_signed_fails_with_a_clear_message(loopback, tls_receiver, fresh_client):
    port = tls_receiver.server_address[1]

    with pytest.raises(HookError) as info:
        deliver(webhook(f"https://localhost:{port}/hook"), envelope())

    assert info.value.message.startswith("Connection failed: SSLError: ")
    assert "certificate verify failed" in info.value.message
    assert not info.value.permanent
    assert tls_receiver.hosts == []


def test_a_receiver_dripping_its_answer_cannot_stretch_the_attempt_past_its_timeout(loopback):
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.wait(0.2):
            try:
                conn.sendall(b"x")
            except OSError:
                break
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        result = deliver(webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", timeout_seconds=1), envelope())
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(5)
        listener.close()

    # 2048 bytes (the cap) at 5 a second would take minutes; the attempt ends at its deadline plus one read.
    assert elapsed < 5
    assert result.status_code == 200
    assert 1 <= len(result.response_body) < 2048
    assert set(result.response_body) == {"x"}
