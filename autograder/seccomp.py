"""A seccomp filter for the worker: the system calls a notebook has no business making are refused.

Needs only ``no_new_privs``, so it holds for an ordinary user and in a container without
privileges. Built with libseccomp (through ``pyseccomp``), which writes the BPF program for this
architecture and kills a process that tries another architecture's calling convention.

Refused (EPERM unless said):
- sockets other than Unix ones (no network, whatever the namespaces), and io_uring (ENOSYS), which
  could open sockets and files without passing through these checks;
- reaching other processes: ``ptrace``, ``process_vm_readv``/``writev``, ``perf_event_open``, ``bpf``,
  ``userfaultfd``, ``kcmp``, keyrings;
- changing the sandbox: namespaces (``unshare``, ``setns``, clone flags; ``clone3`` gets ENOSYS so that
  the C library falls back to ``clone``, whose flags can be checked), mounts, ``chroot``,
  ``open_by_handle_at`` (a way out of a mount namespace), modules, ``kexec``, ``reboot``, swap, ``acct``.
"""

from __future__ import annotations

import errno

REFUSED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open", "bpf", "userfaultfd", "kcmp",
    "keyctl", "add_key", "request_key",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsmount", "fsconfig", "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "iopl", "ioperm", "syslog",
)
NOT_THERE = ("io_uring_setup", "io_uring_enter", "io_uring_register", "clone3")
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                   0x00000080)   # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
AF_UNIX = 1


def available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError, RuntimeError):       # no libseccomp on this machine (or not Linux)
        return False
    return True


def confine(refuse: tuple[str, ...] = ()) -> bool:
    """Load the worker's filter into this process (and every process it starts); False if it could not
    be had. ``refuse``: further calls to refuse (the tests use it to play a machine without namespaces).
    ``no_new_privs`` must be set already."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError, RuntimeError):
        return False
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        for name in REFUSED + tuple(refuse):
            _add(rules, seccomp.ERRNO(errno.EPERM), name)
        for name in NOT_THERE:
            _add(rules, seccomp.ERRNO(errno.ENOSYS), name)
        rules.add_rule(seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
        for flag in NAMESPACE_FLAGS:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        rules.load()
    except OSError:
        return False
    return True


def _add(rules, action: int, name: str) -> None:
    try:
        rules.add_rule(action, name)
    except OSError:          # a call this kernel or libseccomp does not know cannot be made either
        pass
