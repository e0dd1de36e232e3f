"""What the engine's own processes show of themselves to other processes of the machine.

- :func:`private`: not dumpable (PR_SET_DUMPABLE 0). Its /proc/<pid>/environ, maps, mem, fd, ... then
  belong to root, and no process without CAP_SYS_PTRACE may read its memory, even at its own uid: the
  grading process (the instructor's environment, tokens included), the judges (the graders) and the
  fork servers. (A process that execs becomes dumpable again: each server says so for itself.)
- :func:`retitle`: /proc/<pid>/cmdline is readable by every process of the machine, and shows the
  command line as the process was started: a secret given there (a database URL with a password in
  ``--gradebook``) would be shown to anything that can read /proc. Once the arguments are parsed, the
  memory the kernel shows as the command line (its bounds are in /proc/self/stat: arg_start, arg_end)
  is overwritten with a short title followed by NULs, as setproctitle does. Processes forked from it
  inherit the overwritten memory.
"""

from __future__ import annotations

import ctypes
import sys

PR_SET_DUMPABLE = 4


def private() -> bool:
    """Make this process non-dumpable (Linux); False where that could not be done."""
    if not sys.platform.startswith("linux"):
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0


def arguments_area() -> tuple[int, int] | None:
    """(start, end) addresses of the memory /proc/self/cmdline shows, from /proc/self/stat."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        # after the command's ")": field 3 (state) is fields[0]; arg_start and arg_end are fields 48 and 49
        return int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return None


def retitle(title: str) -> bool:
    """Overwrite this process's command line, as other processes read it, with ``title``; False where
    it could not be done (not Linux, an older kernel)."""
    area = arguments_area()
    if area is None or area[1] <= area[0]:
        return False
    start, end = area
    text = title.encode()[: end - start - 1]
    ctypes.memmove(start, text + b"\0" * (end - start - len(text)), end - start)
    return True


def cmdline() -> bytes:
    with open("/proc/self/cmdline", "rb") as f:
        return f.read()
