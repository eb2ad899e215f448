"""Settings for bench.queue: sublarr's, with knobs to compare against Django's defaults."""

import os

from sublarr.settings import *  # noqa: F403
from sublarr.settings import DATABASES

if os.environ.get("BENCH_SQLITE") == "default":
    DATABASES["default"]["OPTIONS"] = {}
if "BENCH_CONN_MAX_AGE" in os.environ:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
