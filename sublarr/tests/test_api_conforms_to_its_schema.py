"""schemathesis over the whole REST API: the OpenAPI schema says what the server accepts and answers.

In-process through the WSGI app with a staff token, in the profile the suite
runs in. Two tests share one fixture:

* every operation on its own (schemathesis' examples, coverage and fuzzing
  phases, valid and invalid data), with path ids pointing at a hook, a
  webhook, a log row, an incoming source and a request record created for
  the example;
* stateful sequences along the links schemathesis infers from the schema
  (create a hook, then read, change, test or delete that very hook).

Checks: no 5xx; status code, content type, headers and body as documented;
valid requests accepted (positive_data_acceptance). Invalid requests are
sent too (no 5xx, answers as documented) but not required to be refused: see
CHECKS. The allowances, for rules no OpenAPI 3.0 schema
can state (``unstatable_refusal``): whether a well-formed ``script_path``,
webhook ``url`` or notification's Apprise ``urls`` is accepted depends on the
file system, DNS and the address policy (a notification's templates must
parse and name known variables, its quiet hours need a start, an end and a
known time zone together); the keys of the preview's trial ``modifiers`` must
be provider names (3.0 has no ``propertyNames``), and so must those of a
scoring import's ``modifiers``, whose minimum scores — like one set on its
own — may not exceed what the weights reach; an incoming source's name must be unused, its
mappings' remote prefixes distinct and no local prefix may hold a '..'
component. Such a 400 must name only those fields, with those messages.
Webhooks post to a local receiver; other host names do not resolve (no DNS
traffic from a fuzzer). Deterministic: derandomized Hypothesis with fixed
example counts.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, settings
from pytest_httpserver import HTTPServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hooks.models import HookConfig, HookLog, NotificationConfig, WebhookConfig
from incoming import services as incoming_services
from incoming.models import IncomingRequest
from incoming.validators import DUPLICATE_REMOTE_MESSAGE, LOCAL_DOTDOT_MESSAGE
from scoring.validators import PROVIDER_NAME_RULE

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    # Not negative_data_rejection: DRF's fields coerce input as documented
    # (BooleanField takes 0/1 and "true"/"yes"/"on"..., CharField takes a number
    # as its string, trims whitespace first), on every serializer, body and query
    # alike, so a body the schema's plain types refuse ({"enabled": 0}) is
    # accepted. A strict field would have to replace each declared field one by
    # one (no single switch reaches them, and query strings need the coercion),
    # and a schema listing the coerced forms would hand clients a union type for
    # every boolean. The bar (#13) is that schema-valid requests are accepted and
    # nothing is a 5xx or answers outside the schema.
]
FUZZ_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
STATEFUL_SETTINGS = settings(
    FUZZ_SETTINGS, max_examples=40, stateful_step_count=6, suppress_health_check=list(HealthCheck)
)
SECRET = "fuzz-secret"
UNIQUE_SOURCE_NAME = "Incoming source with this Name already exists."
DUPLICATE_REMOTE = DUPLICATE_REMOTE_MESSAGE.split("{")[0]  # "Two mappings have the same remote prefix "


def _load_schema():
    # At import: pytest-django has set Django up by collection time, and the
    # schema view needs no database. (schemathesis' lazy from_fixture loader
    # does not work with pytest 9.)
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


# The incoming endpoint's valid bodies are what each app sends (no one schema
# states them) and its key is a source's, not the API token: its answers are
# checked against its operation in incoming/tests/test_receive_schema.py.
schema = _load_schema().exclude(operation_id="incoming_receive")


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: the test's transaction must survive each WSGI request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class Api:
    """What a schemathesis test calls the API with, and the objects path ids point at."""

    def __init__(self, token: str, receiver_url: str, script: str) -> None:
        self.headers = {"Authorization": f"Token {token}"}
        self.receiver_url = receiver_url
        self.script = script
        self.notification_url = "json://" + receiver_url.split("://", 1)[1]

    def fresh_ids(self) -> dict[str, int]:
        """A new hook, webhook, log row, incoming source and request record, for path ids to point at.

        (The previous ones may be deleted.)
        """
        hook = HookConfig.objects.create(
            name="fuzz", event_name="batch_complete", script_path=self.script, timeout_seconds=5
        )
        webhook = WebhookConfig.objects.create(
            name="fuzz", event_name="*", url=self.receiver_url, secret=SECRET, timeout_seconds=5
        )
        log = HookLog.objects.create(
            webhook=webhook,
            hook_name="fuzz",
            event_name="batch_complete",
            hook_type="webhook",
            success=True,
            request_headers={"X-Sublarr-Signature": "sha256=00"},
        )
        notification = NotificationConfig.objects.create(
            name="fuzz", events=["*"], urls=[self.notification_url], timeout_seconds=5
        )
        incoming, _key = incoming_services.source_create(name=f"fuzz-{hook.pk}", kind="sonarr", source="cli")
        record = IncomingRequest.objects.create(
            source=incoming, source_name=incoming.name, source_kind="sonarr", outcome="test", status_code=200
        )
        return {
            "hooks": hook.pk,
            "webhooks": webhook.pk,
            "notifications": notification.pk,
            "hook-logs": log.pk,
            "incoming-sources": incoming.pk,
            "incoming-requests": record.pk,
        }

    def make_creatable(self, case: schemathesis.Case) -> None:
        """Point a valid hook's script and a valid webhook's URL at real ones, so that sequences go on from it."""
        if not (case.meta and case.meta.generation.mode.is_positive and isinstance(case.body, dict)):
            return
        if case.path.startswith("/api/hooks/") and "script_path" in case.body:
            case.body["script_path"] = self.script
        if case.path.startswith("/api/webhooks/") and "url" in case.body:
            case.body["url"] = self.receiver_url
        if case.path.startswith("/api/notifications/") and "urls" in case.body:
            case.body["urls"] = [self.notification_url]

    def validate(self, response: Any, case: schemathesis.Case) -> None:
        """Run CHECKS, except positive_data_acceptance for an ``unstatable_refusal``; no secret in any answer."""
        excluded: list[schemathesis.CheckFunction] = (
            [positive_data_acceptance] if unstatable_refusal(response, case) else []
        )
        case.validate_response(response, checks=CHECKS, excluded_checks=excluded)
        assert SECRET not in response.text


NOTIFICATION_UNSTATABLE = {
    "urls",
    "title_template",
    "body_template",
    "quiet_start",
    "quiet_end",
    "quiet_timezone",
    "quiet_passes",
    "quiet_mode",
}


def unstatable_refusal(response: Any, case: schemathesis.Case) -> bool:
    """Whether ``response`` is a 400 only for a rule the schema cannot state (see the module docstring)."""
    if response.status_code != 400 or not isinstance(errors := response.json(), dict) or not errors:
        return False
    if case.path.startswith("/api/hooks/"):
        return set(errors) == {"script_path"}
    if case.path.startswith("/api/webhooks/"):
        return set(errors) == {"url"}
    if case.path.startswith("/api/notifications/"):
        # Apprise parses the URLs (and the address policy judges their hosts); templates must parse and
        # name known variables; quiet hours need a start and an end in a known time zone.
        return bool(errors) and set(errors) <= NOTIFICATION_UNSTATABLE
    if case.path.startswith("/api/incoming-sources/"):
        if errors == {"name": [UNIQUE_SOURCE_NAME]}:
            return True
        messages = errors.get("path_mappings")
        return (
            set(errors) == {"path_mappings"}
            and isinstance(messages, list)
            and len(messages) == 1
            and (messages[0] == LOCAL_DOTDOT_MESSAGE or messages[0].startswith(DUPLICATE_REMOTE))
        )
    if case.path == "/api/scoring/preview/":
        modifiers = errors.get("modifiers")
        return (
            set(errors) == {"modifiers"}
            and isinstance(modifiers, dict)
            and all(messages == [PROVIDER_NAME_RULE] for messages in modifiers.values())
        )
    if case.path.startswith("/api/scoring/min-scores/"):
        # At most the highest score the current weights reach.
        messages = errors.get("min_score") or [""]
        return set(errors) == {"min_score"} and len(messages) == 1 and messages[0].startswith("Must be at most ")
    if case.path == "/api/scoring/import/":
        # The modifiers' keys must be provider names; a minimum score may not exceed what the document's weights reach.
        modifiers, min_scores = errors.get("modifiers", {}), errors.get("min_scores", {})
        return (
            bool(errors)
            and set(errors) <= {"modifiers", "min_scores"}
            and isinstance(modifiers, dict)
            and all(messages == [PROVIDER_NAME_RULE] for messages in modifiers.values())
            and isinstance(min_scores, dict)
            and all(len(m) == 1 and m[0].startswith("Must be at most ") for m in min_scores.values())
        )
    return False


@pytest.fixture
def api(db, keep_test_connection, settings, hooks_dir, httpserver: HTTPServer, monkeypatch, staff_user) -> Api:
    from rest_framework.authtoken.models import Token

    settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK = True
    script = hooks_dir / "ok.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    httpserver.expect_request("/hook").respond_with_data("ok")
    real_getaddrinfo = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host in {"localhost", "127.0.0.1", "::1"}:
            return real_getaddrinfo(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", local_only)
    token = Token.objects.get_or_create(user=staff_user)[0].key
    return Api(token, httpserver.url_for("/hook"), script.name)


@pytest.mark.slow
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_to_the_schema(case, api):
    # An integer id points at a real object; any other value is the fuzzer's
    # invalid one and stays (a JSON 404).
    if isinstance((case.path_parameters or {}).get("id"), int):
        case.path_parameters["id"] = api.fresh_ids()[case.path.split("/")[2]]
    api.validate(case.call(headers=api.headers), case)


@pytest.mark.slow
def test_linked_operation_sequences_conform_to_the_schema(api):
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]  # schemathesis builds the base class at run time
        # Each sequence starts from the same data (Hypothesis replays and
        # shrinks sequences, which must then behave the same): a hook, a
        # webhook, a log row, an incoming source and a request record that lists link on to.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()
            api.fresh_ids()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case: schemathesis.Case) -> None:
            api.make_creatable(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": api.headers}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            api.validate(response, case)

    Workflow.run(settings=STATEFUL_SETTINGS)
