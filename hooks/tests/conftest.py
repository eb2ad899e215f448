from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def script(hooks_dir: Path) -> Path:
    """An executable ``notify.sh`` in the hooks dir."""
    path = hooks_dir / "notify.sh"
    path.write_text("#!/bin/sh\necho ok\n")
    path.chmod(0o755)
    return path
