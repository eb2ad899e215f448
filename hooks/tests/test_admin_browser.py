"""The control room in a real headless Chromium against a running server (daphne) and queue worker.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them),
driven by selenium through the system chromedriver: Selenium Manager never
downloads anything (SE_OFFLINE, explicit driver path). Without the browser
the tests skip — under CI=true they fail. Screenshots of each page go to
``screenshots/`` (git-ignored) for a reviewer to look at.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import testsupport
from hooks.models import Delivery, HookLog, NotificationConfig, WebhookConfig

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = testsupport.BASE_DIR / "screenshots"
PASSWORD = "browser-pass-1"


@pytest.fixture
def browser() -> Iterator:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing (Debian packages chromium, chromium-driver; .ci/run installs them)"
        if testsupport.IN_CI:
            pytest.fail(f"{message}; CI=true requires them")
        pytest.skip(message)
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch a driver or a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def wait(driver, condition, timeout: float = 20, message: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, message)


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def log_in(driver, server, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{server.url}/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver, lambda d: urlsplit(d.current_url).path == "/admin/", message="the admin index after logging in")


def live_items(driver, kind: str | None = None) -> list:
    from selenium.webdriver.common.by import By

    selector = "#live-events li" + (f'[data-kind="{kind}"]' if kind else "")
    return driver.find_elements(By.CSS_SELECTOR, selector)


def emit(proc_env: dict[str, str], name: str, data: dict) -> dict:
    result = testsupport.manage("emit_event", name, "--data", json.dumps(data), env=proc_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# A producer whose numbering jumps from 1 to 5: what the relay sees when the layer dropped 3 messages.
GAP_SCRIPT = textwrap.dedent(
    """
    import asyncio
    from channels.layers import get_channel_layer
    from events.bridge import GROUP, MESSAGE_TYPE, encode
    from events.services import build_envelope

    async def main():
        layer = get_channel_layer()
        for seq in (1, 5):
            envelope = build_envelope("batch_complete", {"total": seq})
            event = {"seq": seq, "event_name": "batch_complete", "id": envelope["id"], "text": encode(envelope)}
            await layer.group_send(GROUP, {"type": MESSAGE_TYPE, "origin": "browser-test", "events": [event]})

    asyncio.run(main())
    """
)


@pytest.fixture
def served(start_server, proc_env):
    """Start a server with the static files collected (whitenoise serves what collectstatic put in place)."""
    result = testsupport.manage("collectstatic", "--no-input", "-v0", env=proc_env)
    assert result.returncode == 0, result.stderr
    return start_server


@pytest.fixture
def superuser(transactional_db, django_user_model):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    user = django_user_model.objects.create_superuser(username="admin", email="a@example.com")
    # The server runs sublarr.settings, which has no MD5 hasher (the tests' fast one): hash as it does.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    return user


def test_live_page_shows_emitted_events_filters_them_marks_missed_ones_and_reconnects(
    browser, served, proc_env, superuser, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server = served()
    log_in(browser, server, superuser.username)
    browser.get(f"{server.url}/admin/hooks/live/")
    status = browser.find_element(By.ID, "live-status")
    wait(browser, lambda d: status.text == "Connected", message="the live page to connect with the session")

    downloaded = emit(proc_env, "subtitle_downloaded", {"movie_title": "Dune"})
    wait(browser, lambda d: len(live_items(d, "event")) == 1, message="the emitted event on the live page")
    failed = emit(proc_env, "provider_failed", {"provider_name": "opensubtitles", "error": "quota"})
    wait(browser, lambda d: len(live_items(d, "event")) == 2, message="the second event")
    newest, older = live_items(browser, "event")
    assert newest.get_attribute("data-event") == "provider_failed"  # newest first
    assert older.get_attribute("data-event") == "subtitle_downloaded"

    newest.find_element(By.TAG_NAME, "summary").click()  # expand its JSON
    shown = json.loads(newest.find_element(By.CSS_SELECTOR, "pre.event-json").text)
    assert shown["id"] == failed["id"]
    assert shown["data"] == failed["data"]
    shot(browser, "live-events")

    Select(browser.find_element(By.ID, "live-filter")).select_by_value("subtitle_downloaded")
    visible = [item for item in live_items(browser, "event") if item.is_displayed()]
    assert [item.get_attribute("data-event") for item in visible] == ["subtitle_downloaded"]
    assert downloaded["id"] in visible[0].text
    shot(browser, "live-events-filtered")
    Select(browser.find_element(By.ID, "live-filter")).select_by_value("")

    result = testsupport.manage("shell", "-c", GAP_SCRIPT, env=proc_env)
    assert result.returncode == 0, result.stderr
    marker = wait(browser, lambda d: live_items(d, "missed"), message="the missed-events marker")[0]
    assert "missed 3 event(s)" in marker.text
    # The marker comes before the event that followed the gap (the list is newest first).
    assert [item.get_attribute("data-kind") for item in live_items(browser)[:2]] == ["event", "missed"]
    assert marker.is_displayed()
    shot(browser, "live-events-missed")

    # The server goes away and comes back on the same port: the page reconnects by itself and says so.
    port = server.port
    server.stop()
    wait(browser, lambda d: live_items(d, "disconnected"), message="the lost-connection marker")
    server_again = testsupport.Server(proc_env, tmp_path, port=port)
    try:
        wait(browser, lambda d: live_items(d, "reconnected"), timeout=30, message="the reconnected marker")
        wait(browser, lambda d: status.text == "Connected", message="connected again")
        before = len(live_items(browser, "event"))
        arrival = emit(proc_env, "subtitle_downloaded", {"movie_title": "Arrival"})
        wait(browser, lambda d: len(live_items(d, "event")) == before + 1, message="an event after the reconnection")
        assert arrival["id"] in live_items(browser, "event")[0].text
        shot(browser, "live-events-reconnected")
    finally:
        server_again.stop()


def test_webhook_history_shows_attempts_and_a_redelivery_adds_one(
    browser, served, start_worker, proc_env, superuser, httpserver: HTTPServer
):
    from selenium.webdriver.common.by import By

    answers = {"status": 503}
    lock = threading.Lock()

    def receiver(request: Request) -> Response:
        with lock:
            status = answers["status"]
        return Response("down for maintenance" if status >= 500 else "thanks", status=status)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    webhook = WebhookConfig.objects.create(
        name="Gotify",
        event_name="subtitle_downloaded",
        url=httpserver.url_for("/hook"),
        secret="whsec_" + "A" * 32,
        retry_count=0,
    )
    server = served()
    start_worker()
    emit(proc_env, "subtitle_downloaded", {"movie_title": "Dune"})
    delivery = testsupport.wait_for(
        lambda: Delivery.objects.filter(webhook=webhook, status=Delivery.Status.FAILED).first(),
        timeout=60,
        message="the first delivery to fail",
    )

    log_in(browser, server, superuser.username)
    browser.get(f"{server.url}/admin/hooks/dashboard/")
    assert browser.find_element(By.ID, "outcomes-chart").is_displayed()
    assert "Gotify" in browser.find_element(By.ID, "health-table").text
    shot(browser, "dashboard")
    browser.get(f"{server.url}/admin/hooks/webhookconfig/")
    shot(browser, "webhook-list")

    browser.get(f"{server.url}/admin/hooks/webhookconfig/{webhook.pk}/deliveries/")
    row = browser.find_element(By.ID, f"delivery-{delivery.pk}")
    row.find_element(By.TAG_NAME, "summary").click()
    [attempt] = row.find_elements(By.CSS_SELECTOR, "details.hooks-attempt")
    attempt.find_element(By.TAG_NAME, "summary").click()
    assert "HTTP 503" in attempt.text
    assert "down for maintenance" in attempt.find_element(By.CSS_SELECTOR, "pre.response-body").text
    headers = attempt.find_element(By.CSS_SELECTOR, "pre.request-headers").text
    assert "webhook-signature: [redacted]" in headers
    assert "Dune" in attempt.find_element(By.CSS_SELECTOR, "pre.request-body").text
    shot(browser, "webhook-history")

    with lock:
        answers["status"] = 200
    row.find_element(By.CSS_SELECTOR, "input.redeliver").click()
    wait(browser, lambda d: "queued again" in d.find_element(By.CSS_SELECTOR, "ul.messagelist").text)
    testsupport.wait_for(
        lambda: HookLog.objects.filter(delivery=delivery, success=True).exists(),
        timeout=60,
        message="the redelivered attempt",
    )
    browser.refresh()
    row = browser.find_element(By.ID, f"delivery-{delivery.pk}")
    row.find_element(By.TAG_NAME, "summary").click()
    attempts = row.find_elements(By.CSS_SELECTOR, "details.hooks-attempt")
    assert len(attempts) == 2
    attempts[1].find_element(By.TAG_NAME, "summary").click()
    assert "succeeded" in attempts[1].text
    assert "HTTP 200" in attempts[1].text
    assert row.get_attribute("data-status") == "succeeded"
    shot(browser, "webhook-history-redelivered")

    browser.get(f"{server.url}/admin/hooks/webhookconfig/{webhook.pk}/deliveries/redeliver-failed/")
    assert "0 deliveries will be queued again" in browser.find_element(By.ID, "redeliver-count").text
    shot(browser, "redeliver-confirm")


def test_notification_history_shows_the_message_and_services_but_never_a_url(
    browser, served, start_worker, proc_env, superuser, httpserver: HTTPServer
):
    from selenium.webdriver.common.by import By

    secret = "n0tif1cationPassw0rd"
    httpserver.expect_request("/notify", method="POST").respond_with_data("ok")
    target = NotificationConfig.objects.create(
        name="phone",
        events=["subtitle_downloaded"],
        urls=[f"json://sublarr:{secret}@127.0.0.1:{httpserver.port}/notify"],
        title_template="{{ media }} downloaded",
    )
    server = served()
    start_worker(SUBLARR_WEBHOOK_ALLOW_LOOPBACK="true")
    emit(proc_env, "subtitle_downloaded", {"movie_title": "Dune"})
    delivery = testsupport.wait_for(
        lambda: Delivery.objects.filter(notification=target, status=Delivery.Status.SUCCEEDED).first(),
        timeout=60,
        message="the notification to be delivered",
    )

    log_in(browser, server, superuser.username)
    browser.get(f"{server.url}/admin/hooks/dashboard/")
    row = browser.find_element(By.CSS_SELECTOR, '#health-table tr[data-kind="notification"]')
    assert "phone" in row.text
    assert "100.0 % of 1" in row.text
    row.find_element(By.LINK_TEXT, "phone").click()
    wait(browser, lambda d: urlsplit(d.current_url).path.endswith(f"/notificationconfig/{target.pk}/deliveries/"))
    item = browser.find_element(By.ID, f"delivery-{delivery.pk}")
    item.find_element(By.TAG_NAME, "summary").click()
    [attempt] = item.find_elements(By.CSS_SELECTOR, "details.hooks-attempt")
    attempt.find_element(By.TAG_NAME, "summary").click()
    assert "succeeded" in attempt.text
    assert attempt.find_element(By.CSS_SELECTOR, "pre.request-headers").text == "json"
    assert "Dune downloaded" in attempt.find_element(By.CSS_SELECTOR, "pre.request-body").text
    shot(browser, "notification-history")
    for page in ("dashboard/", "notificationconfig/", f"notificationconfig/{target.pk}/deliveries/"):
        browser.get(f"{server.url}/admin/hooks/{page}")
        assert secret not in browser.page_source, page
        assert "json://" not in browser.page_source, page
    shot(browser, "notification-list")
