"""A script hook whose path is not a safe executable inside SUBLARR_HOOKS_DIR is refused, and nothing runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from events.services import build_envelope
from hooks.models import HookConfig
from hooks.scriptpath import resolve_script_path
from hooks.transports import HookError
from hooks.transports.script import deliver


def _marker_script(path: Path, marker: Path, mode: int = 0o755) -> Path:
    """A script that leaves ``marker`` behind when it runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    path.chmod(mode)
    return path


def _refused(script_path: str) -> HookError:
    with pytest.raises(HookError) as excinfo:
        deliver(
            HookConfig(name="h", script_path=script_path, timeout_seconds=5),
            build_envelope("batch_complete", {"total": 1}),
        )
    assert excinfo.value.permanent is True
    assert excinfo.value.result.success is False
    assert excinfo.value.result.exit_code is None
    return excinfo.value


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "ran"


def test_dot_dot_escape_is_refused_and_not_run(hooks_dir, marker):
    _marker_script(hooks_dir.parent / "escape.sh", marker)
    error = _refused("../escape.sh")
    assert error.message == "Script refused: Script path must not contain '..'."
    assert error.result.error == error.message
    assert not marker.exists()


def test_absolute_path_outside_is_refused_and_not_run(hooks_dir, tmp_path, marker):
    outside = _marker_script(tmp_path / "outside.sh", marker)
    assert _refused(str(outside)).message == "Script refused: Script path is outside SUBLARR_HOOKS_DIR."
    assert not marker.exists()


def test_symlink_out_of_hooks_dir_is_refused_and_not_run(hooks_dir, tmp_path, marker):
    outside = _marker_script(tmp_path / "outside.sh", marker)
    (hooks_dir / "link.sh").symlink_to(outside)
    error = _refused("link.sh")
    assert error.message == "Script refused: Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."
    assert not marker.exists()


@pytest.mark.django_db
def test_symlink_swapped_in_after_saving_is_refused_at_run_time(hooks_dir, tmp_path, marker):
    _marker_script(hooks_dir / "notify.sh", tmp_path / "legit-ran")
    resolve_script_path("notify.sh")  # what saving checks: fine at that time
    hook = HookConfig.objects.create(name="notify", event_name="batch_complete", script_path="notify.sh")
    # Later, the file is replaced with a symlink to a script outside the hooks dir.
    outside = _marker_script(tmp_path / "evil.sh", marker)
    (hooks_dir / "notify.sh").unlink()
    (hooks_dir / "notify.sh").symlink_to(outside)

    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig.objects.get(pk=hook.pk), build_envelope("batch_complete", {"total": 1}))
    assert excinfo.value.message == (
        "Script refused: Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."
    )
    assert excinfo.value.permanent is True
    assert not marker.exists()
    assert not (tmp_path / "legit-ran").exists()


def test_directory_swapped_for_a_symlink_out_after_saving_is_refused(hooks_dir, tmp_path, marker):
    _marker_script(hooks_dir / "sub" / "run.sh", tmp_path / "legit-ran")
    resolve_script_path("sub/run.sh")
    _marker_script(tmp_path / "elsewhere" / "run.sh", marker)
    (hooks_dir / "sub" / "run.sh").unlink()
    (hooks_dir / "sub").rmdir()
    (hooks_dir / "sub").symlink_to(tmp_path / "elsewhere")

    error = _refused("sub/run.sh")
    assert error.message == "Script refused: Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."
    assert not marker.exists()


def test_non_executable_file_is_refused_and_not_run(hooks_dir, marker):
    _marker_script(hooks_dir / "plain.sh", marker, mode=0o644)
    assert _refused("plain.sh").message == "Script refused: Script is not executable (run chmod +x on it)."
    assert not marker.exists()


def test_directory_is_refused(hooks_dir):
    (hooks_dir / "adir").mkdir()
    assert _refused("adir").message == "Script refused: Script path is a directory, not a file."


def test_missing_file_is_refused(hooks_dir):
    assert _refused("gone.sh").message == "Script refused: Script does not exist in SUBLARR_HOOKS_DIR."


def test_file_deleted_after_saving_is_refused(hooks_dir, marker):
    _marker_script(hooks_dir / "temp.sh", marker)
    resolve_script_path("temp.sh")
    os.unlink(hooks_dir / "temp.sh")
    assert _refused("temp.sh").message == "Script refused: Script does not exist in SUBLARR_HOOKS_DIR."


def test_empty_path_is_refused(hooks_dir):
    assert _refused("").message == "Script refused: Script path is empty."


def test_refusal_message_names_no_server_path(hooks_dir, tmp_path, marker, settings):
    outside = _marker_script(tmp_path / "outside.sh", marker)
    (hooks_dir / "link.sh").symlink_to(outside)
    error = _refused("link.sh")
    assert str(tmp_path) not in error.message
    assert str(settings.HOOKS_DIR) not in error.message
