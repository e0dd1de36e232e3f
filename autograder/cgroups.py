"""A worker's cgroups: made by the worker itself (as root, before it gives up root), emptied and removed
by its judge (:mod:`autograder.reaper`).

Each is named ``course-worker-<pid>`` (the pid the judge knows the worker by), beside this process's
own cgroup in its hierarchy (``/proc/self/cgroup``: a nested one, in a container, is found as well as
the root), and has one of three jobs, in whichever hierarchy the machine gives it:

- ``pids``: a bound on the worker's processes and threads (RLIMIT_NPROC does not bind root). cgroup v1's
  pids controller, or a v2 cgroup whose parent delegates ``pids``;
- ``memory``: a bound on everything the worker's processes are charged for, shared mappings and tmpfs
  included (RLIMIT_DATA counts private mappings only). v1's memory controller (``memory.limit_in_bytes``,
  and ``memory.memsw.limit_in_bytes`` where swap is accounted), or ``memory.max`` where v2 delegates it;
- ``kill``: a way to stop every process in it at once, whatever sessions and parents they took:
  v2's ``cgroup.kill`` (Linux 5.14), else freezing (v2's ``cgroup.freeze``, v1's freezer).

A v2 cgroup can do all three at once; on a hybrid machine (v1 controllers and an empty v2 hierarchy,
say) the jobs are spread over several. Nothing here is fatal: a job that cannot be had is not named.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PREFIX = "course-worker-"


@dataclass(frozen=True)
class Hierarchy:
    folder: str             # this process's own cgroup in it, as a path on this machine
    v2: bool
    controllers: frozenset  # v1: the mount's controllers; v2: those the folder delegates to its children


def hierarchies() -> list[Hierarchy]:
    """The cgroup hierarchies mounted here, each with this process's own cgroup in it."""
    try:
        with open("/proc/self/cgroup") as own:
            memberships = [line.rstrip("\n").split(":", 2) for line in own if line.count(":") >= 2]
        with open("/proc/self/mountinfo") as info:
            mounts = [line.split() for line in info]
    except OSError:
        return []
    found, seen = [], set()
    for fields in mounts:
        dash = fields.index("-") if "-" in fields else -1
        if dash < 0 or fields[dash + 1] not in ("cgroup", "cgroup2"):
            continue
        v2 = fields[dash + 1] == "cgroup2"
        root, point = fields[3], fields[4].replace("\\040", " ")
        options = set(fields[dash + 3].split(",")) if len(fields) > dash + 3 else set()
        for hid, names, path in memberships:
            controllers = set(names.split(",")) if names else set()
            if v2 != (hid == "0" and not names):
                continue
            if not v2 and not (controllers & options):
                continue
            if path != root and not path.startswith(root.rstrip("/") + "/"):
                continue            # our cgroup lies outside what this mount shows
            folder = os.path.normpath(os.path.join(point, path[len(root):].lstrip("/"))) if root != "/" else \
                os.path.normpath(point + path)
            if folder in seen or not os.path.isdir(folder):
                continue
            seen.add(folder)
            if v2:
                folder, controllers = _delegating(folder, point)
            found.append(Hierarchy(folder, v2, frozenset(controllers)))
    return found


def _delegating(own: str, top: str) -> tuple[str, set]:
    """Where in a v2 hierarchy to make a worker's cgroup: beside this process's own, or, where that does not
    delegate pids and memory (a systemd session's scope) and the top of what is mounted does, at the top
    (root may move a process there)."""
    def delegated(folder: str) -> set:
        return set(read_text(os.path.join(folder, "cgroup.subtree_control")).split()) & {"pids", "memory"}

    return max(((own, delegated(own)), (top, delegated(top))), key=lambda pair: len(pair[1]))


def read_text(path: str) -> str:
    """A small file's text (a cgroup's or /proc's), or "" where it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def write_text(path: str, text: str) -> bool:
    """Write ``text`` to a control file (a cgroup's or /proc's); False where that was refused."""
    try:
        with open(path, "w") as out:
            out.write(text)
        return True
    except OSError:
        return False


def of_worker(pid: int) -> list[str]:
    """The folders of worker ``pid``'s cgroups that exist (its judge empties and removes them)."""
    return [path for h in hierarchies() if os.path.isdir(path := os.path.join(h.folder, f"{PREFIX}{pid}"))]


def kill_file(folder: str) -> str | None:
    """How the processes of ``folder`` are stopped at once: ``cgroup.kill``, ``cgroup.freeze`` or
    ``freezer.state`` (the file's path), or None."""
    for name in ("cgroup.kill", "cgroup.freeze", "freezer.state"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def make(pid: int, processes: int | None, memory: int | None) -> list[str]:
    """Put this process (``pid``, as its judge knows it) in cgroups of its own; the measures had:
    ``pids_cgroup``, ``memory_cgroup``, ``kill_cgroup``. As root, before anything else of the sandbox."""
    name = f"{PREFIX}{pid}"
    done: list[str] = []
    ordered = sorted(hierarchies(), key=lambda h: not h.v2)      # v2 first: cgroup.kill, where there is one
    jobs = {"pids": processes is not None, "memory": memory is not None, "kill": True}
    for h in ordered:
        wanted = []
        if jobs["pids"] and "pids" in h.controllers:
            wanted.append("pids")
        if jobs["memory"] and "memory" in h.controllers:
            wanted.append("memory")
        if jobs["kill"] and (h.v2 or "freezer" in h.controllers):
            wanted.append("kill")
        if not wanted:
            continue
        folder = os.path.join(h.folder, name)
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            pass
        except OSError:
            continue
        got = []
        for job in wanted:
            if job == "pids" and write_text(os.path.join(folder, "pids.max"), str(processes)):
                got.append(job)
            elif job == "memory" and _limit_memory(folder, int(memory)):
                got.append(job)
            elif job == "kill" and kill_file(folder) is not None:
                got.append(job)
        if got and write_text(os.path.join(folder, "cgroup.procs"), str(os.getpid())):
            for job in got:
                jobs[job] = False
                done.append(f"{job}_cgroup")
        else:
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return done


def _limit_memory(folder: str, limit: int) -> bool:
    v1 = os.path.join(folder, "memory.limit_in_bytes")
    if os.path.exists(v1):
        if not write_text(v1, str(limit)):
            return False
        swap = os.path.join(folder, "memory.memsw.limit_in_bytes")      # memory and swap together
        return not os.path.exists(swap) or write_text(swap, str(limit))
    if write_text(os.path.join(folder, "memory.max"), str(limit)):
        swap = os.path.join(folder, "memory.swap.max")
        return not os.path.exists(swap) or write_text(swap, "0")
    return False


def processes_in(folder: str) -> list[int]:
    return [int(line) for line in read_text(os.path.join(folder, "cgroup.procs")).split() if line.isdigit()]
