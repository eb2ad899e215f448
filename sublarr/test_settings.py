"""What the test suite must pin; everything else comes from sublarr.settings."""

import os
import tempfile

# A data dir of this run's own (SQLite files, cache, secret key, hooks dir),
# shared with the servers and workers the tests start; removed at the end.
os.environ.setdefault("SUBLARR_DATA_DIR", tempfile.mkdtemp(prefix="sublarr-test-"))
os.environ.setdefault("SUBLARR_TEST_OWNS_DATA_DIR", "1")

from .settings import *  # noqa: F403
from .settings import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not REDIS_URL:
    # In the pytest process itself; servers and workers that tests start in
    # subprocesses use the real SQLite channel layer (sublarr.settings).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
