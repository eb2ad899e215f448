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
