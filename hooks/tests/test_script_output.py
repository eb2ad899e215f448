"""A script hook's stdout and stderr are each kept up to the cap; the rest is read and dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.services import build_envelope
from events.types import Envelope
from hooks.models import HookConfig
from hooks.transports import HookError
from hooks.transports.script import deliver

MB = 1024 * 1024


def _write(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


def _peak_rss_kib() -> int:
    """The process's peak resident set size (VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/self/status")


def _envelope() -> Envelope:
    return build_envelope("batch_complete", {"total": 1})


def test_hundred_megabytes_of_output_is_capped_with_bounded_memory(hooks_dir):
    _write(
        hooks_dir / "flood.sh",
        "#!/bin/sh\n"
        "head -c 10485760 /dev/zero | tr '\\0' 'e' >&2 &\n"
        "head -c 104857600 /dev/zero | tr '\\0' 'o'\n"
        "wait\n",
    )
    before = _peak_rss_kib()
    result = deliver(HookConfig(script_path="flood.sh", timeout_seconds=120), _envelope())
    growth_mib = (_peak_rss_kib() - before) / 1024

    assert result.success is True
    assert result.stdout == "o" * 4096
    assert result.stderr == "e" * 4096
    assert result.extra["stdout_bytes"] == 100 * MB
    assert result.extra["stderr_bytes"] == 10 * MB
    assert result.extra["stdout_truncated"] is True
    assert result.extra["stderr_truncated"] is True
    # Reading 110 MB in 64 KiB chunks: the peak may not move by more than a few MiB.
    assert growth_mib < 16, f"peak RSS grew by {growth_mib:.1f} MiB"


def test_the_cap_is_read_from_settings(hooks_dir, settings):
    settings.SUBLARR_SCRIPT_OUTPUT_CAP = 10
    _write(hooks_dir / "say.sh", "#!/bin/sh\necho 0123456789abcdef\necho fedcba9876543210 >&2\n")
    result = deliver(HookConfig(script_path="say.sh"), _envelope())
    assert result.stdout == "0123456789"
    assert result.stderr == "fedcba9876"
    assert result.extra["stdout_bytes"] == 17


def test_zero_cap_keeps_no_output(hooks_dir, settings):
    settings.SUBLARR_SCRIPT_OUTPUT_CAP = 0
    _write(hooks_dir / "say.sh", "#!/bin/sh\necho hello\necho oops >&2\n")
    result = deliver(HookConfig(script_path="say.sh"), _envelope())
    assert (result.stdout, result.stderr) == ("", "")
    assert result.extra["stdout_bytes"] == 6


def test_output_under_the_cap_is_kept_whole(hooks_dir):
    _write(hooks_dir / "say.sh", "#!/bin/sh\nprintf 'line 1\\nline 2\\n'\n")
    result = deliver(HookConfig(script_path="say.sh"), _envelope())
    assert result.stdout == "line 1\nline 2\n"
    assert result.extra["stdout_truncated"] is False


def test_a_multibyte_character_cut_by_the_cap_is_dropped(hooks_dir, settings):
    settings.SUBLARR_SCRIPT_OUTPUT_CAP = 5
    _write(hooks_dir / "utf8.sh", "#!/bin/sh\nprintf 'ééé'\n")  # 6 bytes; the cap cuts the third é
    result = deliver(HookConfig(script_path="utf8.sh"), _envelope())
    assert result.stdout == "éé"


def test_invalid_utf8_and_nul_in_output_are_made_storable(hooks_dir):
    _write(hooks_dir / "bin.sh", "#!/bin/sh\nprintf 'a\\377b\\000c'\n")
    result = deliver(HookConfig(script_path="bin.sh"), _envelope())
    assert result.stdout == "a\ufffdbc"


def test_capped_stderr_of_a_failing_script_is_kept(hooks_dir, settings):
    settings.SUBLARR_SCRIPT_OUTPUT_CAP = 8
    _write(hooks_dir / "fail.sh", "#!/bin/sh\necho 'error: something long went wrong' >&2\nexit 2\n")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path="fail.sh"), _envelope())
    assert excinfo.value.result.exit_code == 2
    assert excinfo.value.result.stderr == "error: s"
