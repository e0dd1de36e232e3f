"""Landlock: a process restricts its own file-system access, network ports and signals (Linux ≥ 5.13).

No privilege is needed, only ``no_new_privs``, so an ordinary user in a container without user
namespaces can still confine its workers.  The rights a ruleset *handles* are denied everywhere except
beneath the paths a rule allows them on; what the running kernel does not know (an older ABI) is left
out of both, and :func:`restrict` says what was really enforced.

Hand-written over ``ctypes``: the ``landlock`` package on PyPI (a pre-release) knows only the
file-system rights of ABI 1–5, not the network rights (ABI 4) nor the scopes (ABI 6: signals and
abstract Unix sockets) that stop a worker running as the judge's own uid from signalling the judge.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446     # the same on every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

# file-system rights (ABI 1 unless said)
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15                   # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1                           # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1                # ABI 6

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV     # the only ones a file may get
READ = READ_FILE | READ_DIR | EXECUTE


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    for right, since in ((REFER, 2), (TRUNCATE, 3), (IOCTL_DEV, 5)):
        if abi >= since:
            rights |= right
    return rights


WRITE = _fs_rights(7) & ~READ        # every right that changes something


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1                        # packed in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is absent, disabled or refused (seccomp)."""
    version = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


@dataclass
class Ruleset:
    """What a process may still do: ``allow(path, rights)`` for each place, then :meth:`restrict`."""

    rules: list[tuple[str, int]] = field(default_factory=list)

    def allow(self, path: str, rights: int) -> "Ruleset":
        self.rules.append((path, rights))
        return self

    def restrict(self) -> list[str]:
        """Enforce the ruleset on this process and every process it starts (for good); return the
        measures in force: ``landlock_fs``, and ``landlock_net`` and ``landlock_scopes`` where the
        ABI has them. Nothing where Landlock is not available. ``no_new_privs`` must be set already."""
        version = abi()
        if version < 1:
            return []
        handled = _fs_rights(version)
        attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                            SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
        size = ctypes.sizeof(ctypes.c_uint64) * (3 if version >= 6 else 2 if version >= 4 else 1)
        ruleset = _libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if ruleset < 0:
            return []
        try:
            for path, rights in self.rules:
                self._add(int(ruleset), path, rights & handled)
            if _libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
                return []
        finally:
            os.close(int(ruleset))
        return ["landlock_fs"] + (["landlock_net"] if version >= 4 else []) + \
            (["landlock_scopes"] if version >= 6 else [])

    @staticmethod
    def _add(ruleset: int, path: str, rights: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return                    # a place that does not exist needs no right
        try:
            if not os.path.isdir(path):
                rights &= FILE_RIGHTS
            rule = _PathBeneathAttr(rights, fd)
            _libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                          ctypes.c_uint32(0))
        finally:
            os.close(fd)
