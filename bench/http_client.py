"""CPU per signed webhook POST by HTTP client: why delivery uses urllib3's pool.

    .venv/bin/python -m bench.http_client [--requests 3000]

A local keep-alive receiver in its own process (HTTP/1.1, answers 204); one
thread posts a 1 KB JSON body with the delivery's headers through each client,
reused across requests, and reports the client's CPU (process time) and wall
time per request. httpx is measured when it is installed (it is no longer a
dependency).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def receiver(port_queue: multiprocessing.Queue) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    n = parser.parse_args().requests

    spawn = multiprocessing.get_context("spawn")
    ports = spawn.Queue()
    server = spawn.Process(target=receiver, args=(ports,), daemon=True)
    server.start()
    port = ports.get()
    url = f"http://127.0.0.1:{port}/hook"
    body = json.dumps({"id": "a" * 36, "event_name": "subtitle_downloaded", "data": {"k": "v" * 900}}).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Sublarr-Webhook/bench",
        "X-Sublarr-Event": "subtitle_downloaded",
        "webhook-id": "a" * 36,
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + "A" * 44,
        "X-Sublarr-Signature": "sha256=" + "f" * 64,
    }

    import http.client

    import urllib3

    clients = {}
    try:
        import httpx  # type: ignore[import-not-found]  # optional: measured only where it is installed

        client = httpx.Client(trust_env=False, follow_redirects=False)

        def post_httpx() -> None:
            with client.stream("POST", url, content=body, headers=headers, timeout=10) as response:
                for _ in response.iter_raw():
                    pass

        clients["httpx.Client (reused)"] = post_httpx
    except ImportError:
        pass

    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=4, retries=False)

    def post_urllib3() -> None:
        response = pool.urlopen(
            "POST", "/hook", body=body, headers=headers, preload_content=False, redirect=False, timeout=10.0
        )
        response.read(2048)
        response.release_conn()

    clients["urllib3 pool (reused; sublarr)"] = post_urllib3
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def post_http_client() -> None:
        connection.request("POST", "/hook", body=body, headers=headers)
        connection.getresponse().read(2048)

    clients["http.client (one connection, floor)"] = post_http_client

    print(f"command: .venv/bin/python -m bench.http_client --requests {n}")
    print("| client | CPU µs/request | wall µs/request |")
    print("|---|---|---|")
    for _ in range(2):  # twice, alternated: compare within a round
        for name, post in clients.items():
            for _ in range(200):
                post()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(n):
                post()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"| {name} | {cpu / n * 1e6:.0f} | {wall / n * 1e6:.0f} |", flush=True)
    server.terminate()


if __name__ == "__main__":
    main()
