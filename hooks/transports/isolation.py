"""Keep a script away from the server's processes: non-dumpable processes, capabilities dropped in its child.

What a script can still read: docs/HOOKS.md. Used by ``hooks.transports.script_process``
and, at start, by every process of the project (``HooksConfig.ready``).
"""

from __future__ import annotations

import ctypes
import errno
import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

# <linux/prctl.h>
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# Capabilities that let root read another process's memory or environment
# despite PR_SET_DUMPABLE=0 (ptrace, /dev/mem and /proc/kcore, BPF and perf
# probes, kernel modules, file handles outside the tree), from <linux/capability.h>.
DROPPED_CAPABILITIES = {
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_ADMIN": 21,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
}


def _load_prctl() -> Any:
    """libc's prctl, its signature declared once (the child of a fork calls it without looking it up)."""
    if not sys.platform.startswith("linux"):
        return None
    function = ctypes.CDLL(None, use_errno=True).prctl
    function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    function.restype = ctypes.c_int
    return function


libc_prctl = _load_prctl()


def _prctl(option: int, arg2: int = 0) -> int:
    """``prctl(option, arg2, 0, 0, 0)``; the errno on failure, 0 on success."""
    if libc_prctl is None:
        return errno.ENOSYS
    if libc_prctl(option, arg2, 0, 0, 0):
        return ctypes.get_errno()
    return 0


def protect_process() -> None:
    """Make this process non-dumpable: its /proc/<pid>/environ, mem and maps closed to other processes of its user.

    Called in every process of the project at start (``AppConfig.ready``): the
    environment holds SECRET_KEY and DATABASE_URL, and a script hook runs as
    the same user. Forked children (django-q2's sentinel and workers) inherit
    the flag; a script's ``execve`` resets it for the script alone. Also stops
    core dumps, and a debugger of the same (non-root) user from attaching.
    """
    failed = _prctl(PR_SET_DUMPABLE, 0)
    if failed and failed != errno.ENOSYS:
        logger.warning("Could not mark the process non-dumpable (errno %s): scripts may read its environment", failed)


def confine_child() -> None:
    """In the script's child before exec: take away the capabilities that read other processes' memory.

    Runs only where the server is root (``preexec_fn``, so as little as
    possible: prctl calls, no allocation to speak of). After exec, root's
    permitted set is the bounding set, so the script never gets them back,
    nor does anything it runs (sudo, setuid or setcap binaries).
    """
    for number in DROPPED_CAPABILITIES.values():
        # EINVAL: a kernel older than the capability; EPERM: no CAP_SETPCAP (nothing to drop it from).
        _prctl(PR_CAPBSET_DROP, number)
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
