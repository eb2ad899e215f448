"""Shared set-up for benchmarks that run in the embedded profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_environment(data_dir: str) -> None:
    """Point this process at a fresh embedded install in ``data_dir`` and migrate it.

    The channel layer's database is migrated too: emitted events go out to it.
    """
    for name in ("REDIS_URL", "DATABASE_URL", "SUBLARR_REDIS_PREFIX"):
        os.environ.pop(name, None)
    os.environ["SUBLARR_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "sublarr.settings"
    os.environ["SUBLARR_LOG_LEVEL"] = "WARNING"
    for extra in ([], ["--database", "channels"]):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0", *extra], cwd=ROOT, check=True, env=os.environ
        )
