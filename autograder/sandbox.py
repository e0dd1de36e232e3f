"""The worker's sandbox, entered by the worker process itself before any student code runs.

Each measure that takes effect is named in the report the worker sends the judge first, before
student code can say anything; :mod:`autograder.isolation` decides whether they add up to what
grading requires. A step that fails is skipped here, and judged there.

- ``unprivileged``: the grading user is not root (an ordinary user's worker has no root to give up);
- ``pids_cgroup``, ``memory_cgroup``, ``kill_cgroup`` (as root, :mod:`autograder.cgroups`): its
  processes bounded (RLIMIT_NPROC does not bind root), its memory bounded with shared mappings and tmpfs
  counted (the course's ``memory_bytes``), and a cgroup its judge kills it all through
  (:mod:`autograder.reaper`);
- ``mountns``, ``netns``, ``pidns``, ``ipcns`` (as root with CAP_SYS_ADMIN, or ``userns`` first for an
  ordinary user where the kernel allows it): every mount read-only (``read_only_fs``); the hidden paths
  and everything outside the system folders and the Python covered (``hidden_by_mounts``); /tmp and
  /dev/shm private tmpfs with a size and a number of files (``private_tmp``); no network interface; the
  worker is PID 1 of its own namespace, and everything it started dies with it; System V IPC and POSIX
  message queues of its own (seccomp refuses them anyway);
- ``uid``: as root, a uid of its own (100000 + the worker's pid) with a working folder only it may
  enter; ``hidden_by_permissions`` when no hidden path is readable by other users anyway. Where the
  Python cannot be reached by another uid (and no mount namespace can open the way), it stays root:
- ``no_capabilities``: root that could not change uid keeps no capability (the policy refuses it);
- ``rlimits``: memory (data segment), CPU seconds, file size, open files, no core dumps (and
  processes for a uid of its own), reported only when all are in force; ``rlimit_as``: where no memory
  cgroup could be had, the address space (its size now, plus the memory limit, plus a margin), except
  where a CUDA device is visible;
- ``no_new_privs``; then ``landlock_fs`` (read only the system and the Python, write only its own
  folder; ``hidden_by_landlock`` when no hidden path lies under those; ``proc_narrowed``: of /proc, only
  its own /proc/<pid> and global files, not other processes' command lines, environments or maps),
  ``landlock_net`` (no TCP), ``landlock_scopes`` (no signal nor abstract socket out of its own
  processes), and ``seccomp`` (no new socket at all, no System V or POSIX message-queue IPC, no
  anonymous shared memory, no changing a file's mode, owner, times or attributes, no ptrace, no
  namespaces or mounts: see :mod:`autograder.seccomp`);
- ``reaped``: its fork server adopts and kills whatever it leaves behind.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import stat
import sys
from dataclasses import dataclass

from autograder import cgroups, landlock, seccomp
from autograder import ENGINE

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 4, 38, 36

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (PR_SET_PDEATHSIG)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def become_subreaper() -> bool:
    """Adopt every orphan of this process's descendants (PR_SET_CHILD_SUBREAPER; not inherited by a fork)."""
    return _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def dumpable(flag: bool) -> bool:
    """PR_SET_DUMPABLE: a process that is not dumpable has its /proc/<pid> files (environ, maps, mem, fd,
    ...) owned by root, and no process without CAP_SYS_PTRACE may read its memory, even at its own uid."""
    return _libc.prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0) == 0


def close_fds(keep: int | None = None) -> None:
    """Close every descriptor above stderr but ``keep``: nothing of a parent's reaches the worker."""
    if keep is None:
        os.closerange(3, 1024)
    else:
        os.closerange(3, keep)
        os.closerange(keep + 1, 1024)


def _unshare(flags: int) -> bool:
    return _libc.unshare(flags) == 0


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> bool:
    return _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None) == 0


_write = cgroups.write_text


def enter(config: dict) -> list[str]:
    """Enter the sandbox described by ``config``; return the names of the measures in force.

    ``config``: ``limits`` (see :meth:`Limits.rlimits`), ``memory_bytes`` (for a memory cgroup, or
    RLIMIT_AS), ``folder`` (``bytes`` and ``files``: the private tmpfs's size), ``hide`` (paths the
    worker must not read), ``uid`` ("auto": as root, a uid of its own, 100000 + this process's pid,
    which the judge uses to kill whatever that uid leaves behind), ``namespaces`` (default true),
    ``reaped`` (set by the fork server, which kills whatever a worker leaves behind).
    """
    done: list[str] = []
    if not sys.platform.startswith("linux"):      # (course check on a laptop: nothing here exists there)
        return done
    root = os.geteuid() == 0
    if not root:
        done.append("unprivileged")        # an ordinary user's worker: no root to give up
    uid = 100000 + os.getpid() if config.get("uid") == "auto" else int(config.get("uid") or 0)
    outer_uid, outer_gid = os.getuid(), os.getgid()
    hide = [str(p) for p in config.get("hide", [])]
    python = python_paths(hide)            # found once, before anything is covered

    # 0. cgroups (root): processes bounded (RLIMIT_NPROC does not bind root), memory bounded shared
    # mappings included, and all of them killed at once when the worker ends (autograder.reaper)
    limits = config.get("limits", {})
    if root:
        done += cgroups.make(os.getpid(), limits.get("processes"), config.get("memory_bytes"))
    # 1. namespaces
    if config.get("namespaces", True):
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
        if root and _unshare(flags):
            done += ["mountns", "netns", "pidns", "ipcns"]
        elif not root and _unshare(CLONE_NEWUSER | flags):
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {outer_uid} 1")
            _write("/proc/self/gid_map", f"0 {outer_gid} 1")
            done += ["userns", "mountns", "netns", "pidns", "ipcns"]
    if "pidns" in done:
        _become_init()                     # only the new namespace's first child returns from here
    if "mountns" in done:
        _hide(config, python, done)
    if config.get("reaped"):
        done.append("reaped")
    # 2. limits
    # RLIMIT_NPROC counts a uid's processes: meaningful for a uid of the worker's own, and inside a user
    # namespace of its own (since Linux 5.14 the count is kept per namespace), not for root or a shared uid
    _limits(limits, (root and bool(uid)) or "userns" in done, done)
    if "memory_cgroup" not in done and config.get("memory_bytes") and not cuda_visible():
        # no cgroup to count shared mappings: all of the address space, then (CUDA reserves far more)
        if _address_space(int(config["memory_bytes"])):
            done.append("rlimit_as")
    # 3. identity: a uid of its own where Python stays reachable to it, else root with no capabilities
    if root and uid and ("python_reachable" in done or _reachable_by_others(python)):
        if all(_closed_to_others(path) for path in hide):
            done.append("hidden_by_permissions")
        try:
            if "mountns" not in done:      # its own working folder, the only one it may write to
                os.chown(os.getcwd(), uid, uid)
                os.chmod(os.getcwd(), 0o700)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            done.append("uid")
        except OSError:
            done = [d for d in done if d != "hidden_by_permissions"]
    if root and "uid" not in done and _drop_capabilities():
        done.append("no_capabilities")
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        done.append("no_new_privs")
        # 4. what needs no privilege at all: Landlock (files, TCP, signals), then seccomp (calls)
        done += _landlock(hide, python, done)
        if seccomp.confine():
            done.append("seccomp")
    if "pidns" in done:         # a change of credentials clears the parent-death signal: set it again
        die_with_parent()
    return done


# what a worker may read (besides the Python it runs on): the system's programs, libraries, configuration
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
# of /proc, besides its own /proc/<pid> (/proc/self, /proc/thread-self, /proc/mounts and /proc/net lead
# there): what Python, numpy, torch and the CUDA driver read, none of it about another process
PROC_READ = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys", "/proc/filesystems", "/proc/version",
             "/proc/loadavg", "/proc/uptime", "/proc/driver", "/proc/devices", "/proc/swaps", "/proc/vmstat",
             "/proc/zoneinfo", "/proc/pressure")
DEVICES = ("/dev/null", "/dev/full", "/dev/random", "/dev/urandom")
READ_ONLY_DEVICES = ("/dev/zero",)      # written to, then mapped shared: an anonymous shared mapping
PINNED: list[int] = []                  # descriptors that keep /proc's allowed entries what the rules name


def _landlock(hide: list[str], python: list[str], done: list[str]) -> list[str]:
    """Landlock: read only the system and the Python, of /proc only the worker's own /proc/<pid> and a
    few global files (and list its folders), write only the worker's own folder, no TCP, no signal or abstract socket out of
    the worker's processes. ``hidden_by_landlock`` when no hidden path lies under what stays readable
    (an engine installed inside site-packages would).

    Landlock's rules hold an inode, and procfs makes a new inode for an entry each time it looks the
    entry up afresh (after memory pressure dropped it from the cache): each /proc entry allowed is kept
    open here (O_PATH) for the worker's life, so that the rule goes on naming what is there."""
    reads = [*SYSTEM_READ, *python]
    rules = landlock.Ruleset()
    for path in reads:
        rules.allow(path, landlock.READ)
    rules.allow("/proc", landlock.READ_DIR)                 # its folders listed (pids: no secret), no file read
    for path in ("/proc", f"/proc/{os.getpid()}", *PROC_READ):   # (after the last fork: this is the worker)
        if path != "/proc":
            rules.allow(path, landlock.READ)
        _pin(path)
    for path in DEVICES + tuple(f"/dev/{d}" for d in _listdir("/dev") if d.startswith("nvidia")):
        rules.allow(path, landlock.READ_FILE | landlock.WRITE_FILE | landlock.IOCTL_DEV)
    for path in READ_ONLY_DEVICES:
        rules.allow(path, landlock.READ_FILE)
    writable = [os.getcwd()]
    if "mountns" in done:                  # private to this worker there: /tmp and /dev/shm
        writable += ["/tmp", "/dev/shm"]
    for path in writable:
        rules.allow(path, landlock.READ | landlock.WRITE)
    measures = rules.restrict()
    if measures and not any(_beneath(h, r) for h in hide for r in reads + writable):
        measures.append("hidden_by_landlock")
    if measures:
        measures.append("proc_narrowed")
    return measures


def _pin(path: str) -> None:
    try:
        PINNED.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
    except OSError:
        pass


def _beneath(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _reachable_by_others(paths: list[str]) -> bool:
    """Can an unprivileged uid still reach every one of ``paths`` (the Python it must import from)?"""
    return not any(_closed_to_others(path) for path in paths)


def _closed_to_others(path: str) -> bool:
    """Is ``path`` out of an unprivileged uid's reach by its permissions alone: a folder on the way to
    it (or it, a folder) that others may not enter, or a file others may not read? (Hiding a path of a
    folder others may enter but not list is not enough: the graders' names are no secret.)"""
    return closed_folder(path) is not None


def closed_folder(path: str) -> str | None:
    """The first folder on the way to ``path`` (or it) that keeps other users out, if any (``path``
    itself where it is not there, or is a file others may not read)."""
    parts = os.path.realpath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        here = os.sep.join(parts[:i])
        try:
            mode = os.stat(here).st_mode
        except OSError:
            return here                     # not there: nothing to read
        if stat.S_ISDIR(mode) and not mode & 0o001:
            return here
        if not stat.S_ISDIR(mode) and not mode & 0o004:
            return here
    return None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> bool:
    """Root without any capability: no unmounting the hidden paths, no reading others' memory."""
    PR_CAPBSET_DROP = 24
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)         # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    return _libc.capset(ctypes.byref(header), data) == 0


def _become_init() -> None:
    """Fork into the new PID namespace. The parent waits and mirrors the child's end, never returning."""
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)        # a process group of its own: kill(0) from student code cannot reach the parent
        die_with_parent()       # the waiting parent is killed: so are we
        return
    close_fds()                 # the parent keeps nothing open that the worker uses
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


MS_REMOUNT = 32


def _read_only_everywhere() -> bool:
    """Every mount read-only in this namespace: even uid 0 without capabilities owns most files."""
    try:
        with open("/proc/self/mountinfo") as info:
            points = [line.split()[4] for line in info]
    except OSError:
        return False
    ok = True
    for point in sorted(set(points), key=len):
        point = point.replace("\\040", " ")
        if point.startswith("/proc") or point.startswith("/sys"):
            continue
        ok &= mount("none", point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC) or \
            mount("none", point, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    return ok


# top-level folders a worker keeps: the system's programs, libraries and configuration
SYSTEM = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "sys", "tmp", "run"}


def python_paths(hide=()) -> list[str]:
    """The folders of the Python the worker runs on: its prefixes, its site-packages, and the folders
    that ``.pth`` files put on ``sys.path`` (an environment layered on another's packages). A
    ``sys.path`` entry that holds the engine or a hidden path, or lies inside either, is not the
    Python's: the graders stay out of reach however the engine was put on the path."""
    import site

    def foreign(path: str) -> bool:
        return any(_beneath(path, f) or _beneath(f, path) for f in (ENGINE, *map(str, hide)))

    found = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, *site.getsitepackages(),
                                           os.path.dirname(os.__file__)) if os.path.isdir(p)}
    found |= {os.path.realpath(p) for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p)
              and not foreign(p)}
    return sorted(found)


def _cover(path: str) -> bool:
    if os.path.isdir(path) and not os.path.islink(path):
        return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0")
    if os.path.isfile(path) and not os.path.islink(path):
        return mount("/dev/null", path, None, MS_BIND)
    return False


def _hide_the_rest(keep: list[str]) -> int:
    """Cover everything outside the system folders and the Python the worker runs on.

    Other checkouts of the course (and their graders), homes, /opt, /srv, /var, ...: at the top level
    every folder not in SYSTEM is covered, and inside an ancestor of a Python path every sibling of
    the path's next component is covered, so /root/.pyenv stays while /root/.ssh goes.
    """
    needed = {}                                    # folder -> the children of it that must stay
    for path in keep:
        parts = path.strip("/").split("/")
        for i in range(len(parts)):
            parent = "/" + "/".join(parts[:i])
            needed.setdefault(parent.replace("//", "/"), set()).add(parts[i])
    covered = 0
    for folder, children in sorted(needed.items(), key=lambda kv: len(kv[0])):
        if any(folder == k or folder.startswith(k.rstrip("/") + "/") for k in keep):
            continue                               # inside a Python path: keep all of it
        if folder == "/":
            children = children | SYSTEM
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry not in children:
                covered += _cover(os.path.join(folder, entry))
    return covered


def open_the_way(keep: list[str]) -> int:
    """Make the Python paths reachable for an unprivileged uid, in this mount namespace only.

    A Python installed under a folder others may not traverse (pyenv under /root, mode 700) cannot be
    imported by another uid. Such a folder is covered by a tmpfs others may traverse, holding only the
    children on the way to the Python paths, bind-mounted back (read-only) from descriptors opened
    before the cover. The host's folder keeps its mode.
    """
    needed: dict[str, set[str]] = {}
    for path in keep:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            folder = "/" + "/".join(parts[:i])
            try:
                closed = not os.stat(folder).st_mode & 0o001
            except OSError:
                closed = False
            if closed:
                needed.setdefault(folder, set()).add(parts[i])
    opened = 0
    for folder, children in sorted(needed.items(), key=lambda kv: len(kv[0])):
        handles = {}
        try:
            for child in children:
                handles[child] = os.open(os.path.join(folder, child), os.O_PATH | os.O_DIRECTORY)
        except OSError:
            for fd in handles.values():
                os.close(fd)
            continue
        try:
            if not mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=0755"):
                continue
            for child, fd in handles.items():
                target = os.path.join(folder, child)
                os.mkdir(target, 0o755)
                if mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC):
                    mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            opened += mount("none", folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        finally:
            for fd in handles.values():
                os.close(fd)
    return opened


def _hide(config: dict, python: list[str], done: list[str]) -> None:
    if not mount("none", "/", None, MS_REC | MS_PRIVATE):
        return
    if _read_only_everywhere():
        done.append("read_only_fs")
    covered: list[str] = []
    ok = True
    for path in sorted(p for p in config.get("hide", []) if os.path.exists(p)):
        if any(_beneath(path, c) for c in covered):
            continue                       # inside what is covered already (examples/ then a submission in it)
        if _cover(path):
            covered.append(path)
        else:
            ok = False
    _hide_the_rest(python)
    if ok:
        done.append("hidden_by_mounts")
    if os.geteuid() == 0 and config.get("uid") and open_the_way(python):
        done.append("python_reachable")
    # a private, writable /tmp and /dev/shm; where the Python itself lives under /tmp (a CI checkout),
    # the worker's own folder becomes private instead, and /tmp stays read-only
    private_tmp = not any(p == "/tmp" or p.startswith("/tmp/") for p in python)
    workdir = "/tmp" if private_tmp else os.getcwd()
    # each a tmpfs with a size and a number of files: nothing the worker writes can fill the host's disk
    # (and its pages count towards the worker's memory cgroup)
    folder = config.get("folder") or {}
    size = f"size={int(folder.get('bytes') or 256 << 20)},nr_inodes={int(folder.get('files') or 10000)},mode=1777"
    private = 0
    for path in (workdir, "/dev/shm"):
        if os.path.isdir(path):
            private += mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, size)
    if private and os.path.isdir(workdir):
        os.chdir(workdir)
        os.environ.update({"HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": workdir})
        done.append("private_tmp" if private_tmp else "private_workdir")
    if mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC):
        done.append("own_proc")


def cuda_visible() -> bool:
    """Whether this process could use a CUDA device (the driver reserves address space by the terabyte)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "x").strip() in ("", "-1"):
        return False
    return any(d.startswith("nvidia") and d[6:].isdigit() for d in _listdir("/dev"))


ADDRESS_MARGIN = 1 << 30        # a plain worker imports torch after the sandbox: about 0.7 GiB of address space


def _address_space(memory: int) -> bool:
    """RLIMIT_AS at this process's present size, plus ``memory``, plus a margin: where no memory cgroup
    can be had, every mapping counts, shared ones too (RLIMIT_DATA counts only private ones)."""
    try:
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        limit = size + memory + ADDRESS_MARGIN
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return True
    except (OSError, ValueError, StopIteration):
        return False


@dataclass(frozen=True)
class Task:
    """A process as /proc/<pid>/status shows it."""

    pid: int
    uid: int            # real uid
    ppid: int
    state: str          # R, S, D, Z, ...
    threads: int


def processes() -> list[Task]:
    """Every process this one can see (none without /proc)."""
    found = []
    for entry in _listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            found.append(Task(int(entry), int(fields["Uid"].split()[0]), int(fields["PPid"]),
                              fields["State"].strip()[:1], int(fields.get("Threads", "1"))))
        except (OSError, ValueError, KeyError):
            continue                       # it ended while being read
    return found


def _tasks_of(uid: int) -> int:
    """The tasks (processes and threads) that ``uid`` runs now: what RLIMIT_NPROC counts."""
    return sum(task.threads for task in processes() if task.uid == uid)


def _limits(limits: dict, own_uid: bool, done: list[str]) -> None:
    """``rlimits`` only when every limit asked for is in force."""
    table = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_DATA, limits.get("memory_bytes")),
        (resource.RLIMIT_CPU, limits.get("cpu_seconds")),
        (resource.RLIMIT_FSIZE, limits.get("file_bytes")),
        (resource.RLIMIT_NOFILE, limits.get("open_files")),
    ]
    processes = limits.get("processes")
    if processes and own_uid:               # counts the uid's processes (threads included)
        table.append((resource.RLIMIT_NPROC, processes))
    elif processes and os.geteuid() != 0:   # a uid shared with the judge: what it runs now, and no more than that many more
        table.append((resource.RLIMIT_NPROC, _tasks_of(os.getuid()) + int(processes)))
    ok = True
    for which, value in table:
        if value is None:
            continue
        try:
            resource.setrlimit(which, (int(value), int(value)))
        except (ValueError, OSError):
            ok = False
    if ok:
        done.append("rlimits")
