"""A seccomp filter for the worker: the system calls a notebook has no business making are refused.

Needs only ``no_new_privs``, so it holds for an ordinary user and in a container without
privileges. Built with libseccomp (through ``pyseccomp``), which writes the BPF program for this
architecture and kills a process that tries another architecture's calling convention. A call newer
than the machine's libseccomp is refused by its number (:data:`NUMBERS`: the same on every
architecture since Linux 5.1), so that an old libseccomp on a new kernel leaves no way round.

Refused (EPERM unless said), and why:
- **sockets**: ``socket`` and ``socketpair`` for every family, ``connect``, ``bind``, ``listen``,
  ``accept``, ``accept4``. The worker's one channel, to its judge, is inherited; a new socket could
  reach the network (without a network namespace), an abstract or path Unix socket of the host's or
  another worker's, or a server that unpickles what it is sent. ``io_uring`` (ENOSYS) could open
  sockets and files without passing through these checks;
- **IPC that outlives a process or is shared between workers**: System V shared memory, message
  queues and semaphores (``shm*``, ``msg*``, ``sem*``) and POSIX message queues (``mq_*``). Their
  objects belong to an IPC namespace, not to a process: without one of the worker's own they would
  be visible to every other worker and would outlive it;
- **memory that RLIMIT_DATA does not count**: ``memfd_create``, ``memfd_secret``, and ``mmap`` with
  both MAP_SHARED and MAP_ANONYMOUS (an anonymous shared mapping). Landlock keeps /dev/zero read-only
  (a writable one mapped shared is the same thing); the worker's memory cgroup, or RLIMIT_AS where
  there is none, bounds the rest (:mod:`autograder.sandbox`);
- **a file's blocks all at once**: ``fallocate`` (posix_fallocate then fails rather than writing): it
  gives a 64 MiB file its blocks in a moment (40 GiB in 0.1 s, measured), faster than any judge can
  look at a folder (:mod:`autograder.folderwatch`), where writing them runs at the speed of memory;
- **writes that Landlock does not mediate**: the mode, owner, times and extended attributes of files
  (``chmod`` ``fchmod`` ``fchmodat`` ``fchmodat2`` ``chown`` ``fchown`` ``lchown`` ``fchownat``
  ``utime`` ``utimes`` ``futimesat`` ``utimensat`` ``setxattr`` ``lsetxattr`` ``fsetxattr``
  ``setxattrat`` ``removexattr`` ``lremovexattr`` ``fremovexattr`` ``removexattrat``
  ``file_setattr``): Landlock's rights cover creating, writing, renaming and removing, not these, so
  a worker could otherwise change a file it may only read (made readable by others, or unreadable
  to the judge);
- **reaching other processes**: ``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``,
  ``perf_event_open``, ``bpf``, ``userfaultfd``, ``kcmp``, keyrings;
- **changing the sandbox**: namespaces (``unshare``, ``setns``, clone flags; ``clone3`` gets ENOSYS
  so that the C library falls back to ``clone``, whose flags can be checked), mounts, ``chroot``,
  ``open_by_handle_at`` (a way out of a mount namespace), modules, ``kexec``, ``reboot``, swap, ``acct``.
"""

from __future__ import annotations

import errno

SOCKETS = ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4")
IPC = ("shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
       "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
       "mq_getsetattr")
UNCOUNTED_MEMORY = ("memfd_create", "memfd_secret")
ATTRIBUTES = ("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime",
              "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
              "removexattr", "lremovexattr", "fremovexattr", "removexattrat", "file_setattr")
REFUSED = SOCKETS + IPC + UNCOUNTED_MEMORY + ATTRIBUTES + ("fallocate",) + (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "perf_event_open", "bpf", "userfaultfd",
    "kcmp", "keyctl", "add_key", "request_key",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "open_tree_attr",
    "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "iopl", "ioperm", "syslog",
)
NOT_THERE = ("io_uring_setup", "io_uring_enter", "io_uring_register", "clone3")
# calls added since Linux 5.1 have one number on every architecture: refused by it where libseccomp is older
NUMBERS = {"pidfd_getfd": 438, "mount_setattr": 442, "memfd_secret": 447, "fchmodat2": 452, "setxattrat": 463,
           "removexattrat": 466, "open_tree_attr": 467, "file_setattr": 469}
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                   0x00000080)   # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
MAP_SHARED, MAP_ANONYMOUS = 0x01, 0x20       # (MAP_SHARED_VALIDATE, 0x03, has the MAP_SHARED bit too)


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
            _add(rules, seccomp, seccomp.ERRNO(errno.EPERM), name)
        for name in NOT_THERE:
            _add(rules, seccomp, seccomp.ERRNO(errno.ENOSYS), name)
        shared_anonymous = MAP_SHARED | MAP_ANONYMOUS
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(3, seccomp.MASKED_EQ, shared_anonymous,
                                                                      shared_anonymous))
        for flag in NAMESPACE_FLAGS:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        rules.load()
    except OSError:
        return False
    return True


def _add(rules, seccomp, action: int, name: str) -> None:
    number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    if number < 0:
        number = NUMBERS.get(name, -1)
    if number < 0:
        return          # a call this kernel and libseccomp do not know, and has no number of its own here
    try:
        rules.add_rule(action, number)
    except OSError:     # a number this architecture does not have cannot be called either
        pass
