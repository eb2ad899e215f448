"""resolve_script_path: only real, executable, regular files inside SUBLARR_HOOKS_DIR."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hooks import scriptpath
from hooks.scriptpath import ScriptPathError, resolve_script_path


def _script(path: Path, body: str = "#!/bin/sh\nexit 0\n", mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(mode)
    return path


def _refused(path: str) -> str:
    with pytest.raises(ScriptPathError) as excinfo:
        resolve_script_path(path)
    return excinfo.value.message


def test_relative_path_resolves_inside_hooks_dir(hooks_dir):
    script = _script(hooks_dir / "notify.sh")
    assert resolve_script_path("notify.sh") == Path(os.path.realpath(script))


def test_subdirectory_and_absolute_path_inside_hooks_dir_are_accepted(hooks_dir):
    script = _script(hooks_dir / "sub" / "run.py")
    assert resolve_script_path("sub/run.py") == script
    assert resolve_script_path(str(script)) == script


def test_symlink_to_a_script_inside_hooks_dir_resolves_to_the_target(hooks_dir):
    target = _script(hooks_dir / "real.sh")
    (hooks_dir / "alias.sh").symlink_to(target)
    assert resolve_script_path("alias.sh") == target


def test_hooks_dir_is_read_from_settings_at_call_time(hooks_dir, settings, tmp_path):
    other = tmp_path / "other-hooks"
    script = _script(other / "x.sh")
    settings.HOOKS_DIR = other
    assert resolve_script_path("x.sh") == script


@pytest.mark.parametrize("path", ["", "   ", None])
def test_empty_path_is_refused(hooks_dir, path):
    assert _refused(path) == "Script path is empty."


def test_nul_in_path_is_refused(hooks_dir):
    assert _refused("a\x00b") == "Script path contains a NUL character."


@pytest.mark.parametrize("path", ["../escape.sh", "sub/../../escape.sh", "sub/../inside.sh"])
def test_dot_dot_is_refused(hooks_dir, path):
    _script(hooks_dir.parent / "escape.sh")
    _script(hooks_dir / "inside.sh")
    assert _refused(path) == "Script path must not contain '..'."


def test_absolute_path_outside_hooks_dir_is_refused(hooks_dir, tmp_path):
    outside = _script(tmp_path / "outside.sh")
    assert _refused(str(outside)) == "Script path is outside SUBLARR_HOOKS_DIR."
    assert _refused("/bin/sh") == "Script path is outside SUBLARR_HOOKS_DIR."


def test_symlink_resolving_outside_hooks_dir_is_refused(hooks_dir, tmp_path):
    outside = _script(tmp_path / "outside.sh")
    (hooks_dir / "link.sh").symlink_to(outside)
    assert _refused("link.sh") == "Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."


def test_directory_symlinked_out_of_hooks_dir_is_refused(hooks_dir, tmp_path):
    _script(tmp_path / "elsewhere" / "run.sh")
    (hooks_dir / "linked").symlink_to(tmp_path / "elsewhere")
    assert _refused("linked/run.sh") == "Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."


def test_dangling_symlink_out_of_hooks_dir_is_refused_as_outside(hooks_dir, tmp_path):
    (hooks_dir / "dangling.sh").symlink_to(tmp_path / "nothing-here.sh")
    assert _refused("dangling.sh") == "Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."


def test_missing_file_is_refused(hooks_dir):
    assert _refused("nope.sh") == "Script does not exist in SUBLARR_HOOKS_DIR."


def test_directory_is_refused(hooks_dir):
    (hooks_dir / "adir").mkdir()
    assert _refused("adir") == "Script path is a directory, not a file."
    assert _refused(".") == "Script path is a directory, not a file."


def test_non_regular_file_is_refused(hooks_dir):
    os.mkfifo(hooks_dir / "fifo")
    assert _refused("fifo") == "Script path is not a regular file."


def test_socket_is_refused_as_not_regular(hooks_dir):
    sock = socket.socket(socket.AF_UNIX)
    # AF_UNIX paths are limited to ~107 bytes; bind relative to the directory.
    cwd = os.getcwd()
    os.chdir(hooks_dir)
    try:
        sock.bind("s.sock")
    finally:
        os.chdir(cwd)
        sock.close()
    assert _refused("s.sock") == "Script path is not a regular file."


def test_non_executable_file_is_refused(hooks_dir):
    _script(hooks_dir / "plain.sh", mode=0o644)
    assert _refused("plain.sh") == "Script is not executable (run chmod +x on it)."


def test_every_refusal_has_a_distinct_message():
    messages = [
        scriptpath.EMPTY,
        scriptpath.NUL,
        scriptpath.DOT_DOT,
        scriptpath.OUTSIDE,
        scriptpath.SYMLINK_OUTSIDE,
        scriptpath.MISSING,
        scriptpath.DIRECTORY,
        scriptpath.NOT_REGULAR,
        scriptpath.NOT_EXECUTABLE,
    ]
    assert len(set(messages)) == len(messages)


def test_script_path_error_is_a_value_error():
    assert issubclass(ScriptPathError, ValueError)
