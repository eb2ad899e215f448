from __future__ import annotations

import pytest


@pytest.fixture
def staff_token(staff_user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=staff_user)[0].key


@pytest.fixture
def user_token(plain_user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=plain_user)[0].key


@pytest.fixture
def emitted():
    """Envelopes sent on any catalog signal during the test."""
    from events.catalog import EVENT_CATALOG

    received: list[dict] = []

    def receiver(sender, envelope, **kwargs):
        received.append(envelope)

    for spec in EVENT_CATALOG.values():
        spec.signal.connect(receiver, dispatch_uid=f"test-emitted-{spec.name}", weak=False)
    yield received
    for spec in EVENT_CATALOG.values():
        spec.signal.disconnect(dispatch_uid=f"test-emitted-{spec.name}")
