"""Resolve a script hook's path: a real, executable, regular file inside SUBLARR_HOOKS_DIR.

Called when a HookConfig is saved (validators) and again just before every
run, so a file replaced by a symlink pointing out of the hooks directory after
saving is still refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from django.conf import settings

EMPTY = "Script path is empty."
NUL = "Script path contains a NUL character."
SURROGATE = "Script path is not valid text (it contains a lone surrogate character)."
DOT_DOT = "Script path must not contain '..'."
OUTSIDE = "Script path is outside SUBLARR_HOOKS_DIR."
SYMLINK_OUTSIDE = "Script path is a symlink that resolves outside SUBLARR_HOOKS_DIR."
MISSING = "Script does not exist in SUBLARR_HOOKS_DIR."
DIRECTORY = "Script path is a directory, not a file."
NOT_REGULAR = "Script path is not a regular file."
NOT_EXECUTABLE = "Script is not executable (run chmod +x on it)."


class ScriptPathError(ValueError):
    """A script path that may not be run; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def hooks_dir() -> Path:
    """The real path of SUBLARR_HOOKS_DIR, read from settings at call time."""
    return Path(os.path.realpath(settings.HOOKS_DIR))


def resolve_script_path(path: str) -> Path:
    """Return the real path of the script ``path`` or raise ``ScriptPathError``.

    ``path`` is relative to SUBLARR_HOOKS_DIR, or absolute inside it. Refused:
    an empty path, any ``..`` component, a path outside the directory, a path
    whose realpath (symlinks followed) leaves it, a missing file, a directory,
    anything but a regular file, a file without the execute permission.
    """
    if path is None or not str(path).strip():
        raise ScriptPathError(EMPTY)
    path = str(path)
    if "\x00" in path:
        raise ScriptPathError(NUL)
    if any("\ud800" <= char <= "\udfff" for char in path):
        # No file name can hold one: os.stat would raise UnicodeEncodeError.
        raise ScriptPathError(SURROGATE)
    if ".." in PurePath(path).parts:
        raise ScriptPathError(DOT_DOT)

    configured = os.path.abspath(settings.HOOKS_DIR)
    real_dir = os.path.realpath(configured)
    candidate = os.path.normpath(os.path.join(configured, path))
    if not (_inside(candidate, configured) or _inside(candidate, real_dir)):
        raise ScriptPathError(OUTSIDE)

    real = os.path.realpath(candidate)
    if not _inside(real, real_dir):
        raise ScriptPathError(SYMLINK_OUTSIDE)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise ScriptPathError(MISSING) from None
    except OSError as exc:
        # e.g. a component that is a file, or a permission problem on a directory.
        raise ScriptPathError(f"Script path cannot be read: {exc.strerror}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScriptPathError(DIRECTORY)
    if not stat.S_ISREG(info.st_mode):
        raise ScriptPathError(NOT_REGULAR)
    if not os.access(real, os.X_OK):
        raise ScriptPathError(NOT_EXECUTABLE)
    return Path(real)
