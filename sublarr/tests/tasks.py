"""Tasks the foundation tests enqueue (dotted paths a real worker imports)."""

from __future__ import annotations

from pathlib import Path


def touch(path: str, text: str) -> None:
    Path(path).write_text(text)
