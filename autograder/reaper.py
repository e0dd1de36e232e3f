"""Nothing a worker started outlives it: every process is killed, waited for, and its cgroups removed.

A notebook can start processes that try to outrun a kill loop: a chain in which each process forks its
successor in a session of its own and exits at once is never among "the current children" for long.
Each way of finding a worker's processes is therefore one that such a chain cannot slip out of:

- **a cgroup** (as root, :mod:`autograder.cgroups`): every process the worker starts is in it, whatever
  its parent or session. ``cgroup.kill`` kills them all at once; else the cgroup is frozen (v2
  ``cgroup.freeze``, v1 ``freezer.state``), everything in ``cgroup.procs`` is killed, and it is thawed.
  Then the judge waits until it is empty and removes it and the worker's other cgroups;
- **a uid of its own** (as root): ``kill(-1, SIGKILL)`` from a process that took that uid reaches all of
  that uid's processes while none can fork; repeated until none is left;
- **a subreaper** (the workers' fork server, for an ordinary user): orphans come back to it, so every
  process a worker started stays its descendant. Round after round, every descendant that is not a live
  worker is stopped (SIGSTOP), walking the parent links of /proc, until a round finds none running and
  none new; then all are killed and reaped.

None of them gives up silently: what is still alive after a generous deadline is named in
:class:`LeftBehind`, an isolation failure, and grading stops with exit status 2.
"""

from __future__ import annotations

import os
import signal
import time

from autograder import cgroups
from autograder.isolation import IsolationRefused

PATIENCE = 30.0           # seconds, for everything a worker left, before grading is stopped


class LeftBehind(IsolationRefused):
    """Processes of a worker (or its cgroups) outlived it: grading stops, as where it cannot isolate."""


def stopped(what: str) -> LeftBehind:
    return LeftBehind(f"grading stopped: {what}. Student code could still act after its grade, so nothing "
                      f"further is graded (the results written so far stand).")


def describe(pids) -> str:
    """``pids`` as an instructor can look them up: pid, uid, state and command line of each."""
    parts = []
    for pid in sorted(set(pids))[:10]:
        task = _task(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read(200).replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            command = ""
        state = f"uid {task.uid}, state {task.state}" if task is not None else "gone"
        parts.append(f"pid {pid} ({state}{': ' + command if command else ''})")
    more = len(set(pids)) - 10
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _task(pid: int):
    from autograder import sandbox

    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return sandbox.Task(pid, int(fields["Uid"].split()[0]), int(fields["PPid"]), fields["State"].strip()[:1],
                            int(fields.get("Threads", "1")))
    except (OSError, ValueError, KeyError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie only waits to be reaped)."""
    task = _task(pid)
    return task is not None and task.state not in ("Z", "X")


# ------------------------------------------------------------------ a cgroup

def empty_cgroup(folder: str, deadline: float) -> list[int]:
    """Kill every process in the cgroup ``folder`` and wait until it is empty; the pids still in it at
    ``deadline`` (none where it worked)."""
    control = cgroups.kill_file(folder)
    while True:
        if not cgroups.processes_in(folder):
            return []
        if control is not None and control.endswith("cgroup.kill"):
            cgroups.write_text(control, "1")
        elif control is not None:
            _freeze(control, deadline)
            for pid in cgroups.processes_in(folder):
                _signal(pid, signal.SIGKILL)
            _thaw(control)
        else:
            for pid in cgroups.processes_in(folder):           # (a cgroup that cannot kill: one by one)
                _signal(pid, signal.SIGKILL)
        settle = min(deadline, time.monotonic() + 1.0)
        while cgroups.processes_in(folder) and time.monotonic() < settle:
            time.sleep(0.005)
        if time.monotonic() >= deadline:
            return cgroups.processes_in(folder)


def _freeze(control: str, deadline: float) -> None:
    v1 = control.endswith("freezer.state")
    cgroups.write_text(control, "FROZEN" if v1 else "1")
    events = os.path.join(os.path.dirname(control), "cgroup.events")
    while time.monotonic() < deadline:           # until every task has stopped (v1: FREEZING, then FROZEN)
        if (v1 and cgroups.read_text(control).strip() == "FROZEN") or (not v1 and "frozen 1" in cgroups.read_text(events)):
            return
        time.sleep(0.002)


def _thaw(control: str) -> None:
    cgroups.write_text(control, "THAWED" if control.endswith("freezer.state") else "0")


def remove_cgroups(folders, deadline: float) -> list[str]:
    """Remove the (emptied) cgroup ``folders``; those still there at ``deadline``."""
    left = list(folders)
    while left:
        for folder in list(left):
            try:
                os.rmdir(folder)
                left.remove(folder)
            except FileNotFoundError:
                left.remove(folder)
            except OSError:
                pass
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.01)                # the kernel frees a cgroup once its last process is reaped
    return left


# ------------------------------------------------------------------ a uid of its own

def running_as(uid: int) -> list[int]:
    """The processes of ``uid`` that still run (zombies do not: they only wait to be reaped)."""
    from autograder import sandbox

    return [task.pid for task in sandbox.processes() if task.uid == uid and task.state not in ("Z", "X")]


def kill_as(uid: int) -> None:
    """kill(-1, SIGKILL) from a child that took ``uid``: every process of that uid (in this pid namespace), at once."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def kill_uid(uid: int, deadline: float) -> list[int]:
    """Kill every process of ``uid`` (a worker's own), again until none runs; those left at ``deadline``.

    A child that takes that uid and calls kill(-1, SIGKILL) reaches them all at once: the kernel signals
    every process the caller may signal while no new one can be forked."""
    while True:
        kill_as(uid)
        settle = min(deadline, time.monotonic() + 1.0)
        while running_as(uid) and time.monotonic() < settle:
            time.sleep(0.005)
        left = running_as(uid)
        if not left or time.monotonic() >= deadline:
            return left


# ------------------------------------------------------------------ a subreaper

def parents() -> list:
    """Every process as (pid, ppid, state), from /proc/<pid>/stat: a fifth of the time of reading every
    status file, which counts when a chain moves on between two looks."""
    from autograder import sandbox

    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
            try:
                data = os.read(fd, 1024)
            finally:
                os.close(fd)
            state, ppid = data[data.rindex(b")") + 2:].split(b" ", 2)[:2]
            found.append(sandbox.Task(int(name), -1, int(ppid), state.decode(), 1))
        except (OSError, ValueError):
            continue                        # it ended while being read
    return found


def descendants(root: int, keep=()) -> list:
    """The processes below ``root`` (as /proc's parent links show them), leaving out ``keep`` and
    everything below those (their uid is not read: -1)."""
    children: dict[int, list] = {}
    for task in parents():
        children.setdefault(task.ppid, []).append(task)
    found, todo = [], [root]
    while todo:
        for task in children.get(todo.pop(), ()):
            if task.pid not in keep:
                found.append(task)
                todo.append(task.pid)
    return found


def kill_descendants(keep=(), patience: float = PATIENCE) -> list[int]:
    """As a subreaper: stop every descendant of this process but ``keep`` (and theirs), round after round
    until none runs and none is new, then kill them all and reap them; the pids still alive after
    ``patience`` seconds (none where it worked)."""
    me, deadline = os.getpid(), time.monotonic() + patience
    seen: set[int] = set()
    while True:                                   # stop them all
        live = [t for t in descendants(me, keep) if t.state not in ("Z", "X")]
        new = {t.pid for t in live} - seen
        for task in live:
            if task.state not in ("T", "t"):
                _signal(task.pid, signal.SIGSTOP)
        seen |= new
        if not new and all(t.state in ("T", "t") for t in live):
            break
        if time.monotonic() >= deadline:
            break
    while True:                                   # then kill them, and reap those that come to this process
        tree = descendants(me, keep)
        for task in tree:
            if task.state not in ("Z", "X"):
                _signal(task.pid, signal.SIGKILL)
            if task.ppid == me:
                try:
                    os.waitpid(task.pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if not tree:
            return []
        if time.monotonic() >= deadline:
            return [t.pid for t in tree if t.state not in ("Z", "X")]
        time.sleep(0.001)


# ------------------------------------------------------------------ a worker, from its judge

def reap(pid: int, own_uid: bool, process, patience: float = PATIENCE) -> None:
    """Everything worker ``pid`` left behind is killed and its cgroups removed (the judge's side, once
    the worker is killed). ``own_uid``: it ran as 100000 + ``pid``; ``process``: its
    :class:`autograder.spawn.Process` (a fork server's says what its subreaping could not kill).
    Raises :class:`LeftBehind` naming what survived ``patience`` seconds."""
    deadline = time.monotonic() + patience
    folders = cgroups.of_worker(pid)
    survivors: list[int] = []
    for folder in folders:
        if cgroups.kill_file(folder) is not None:
            survivors += empty_cgroup(folder, deadline)
    if own_uid:
        survivors += kill_uid(100000 + pid, deadline)
    if process.wait(max(0.0, deadline - time.monotonic())) is None:
        survivors.append(pid)
    survivors += [p for p in process.left_behind() if alive(p)]
    for folder in folders:
        if cgroups.kill_file(folder) is None:
            survivors += empty_cgroup(folder, deadline)   # (pids, memory: empty by now, or killed here)
    left = remove_cgroups(folders, deadline) if not survivors else folders
    if survivors:
        raise stopped(f"processes of worker {pid} outlived it despite every kill for {patience:g} s: "
                         f"{describe(survivors)}")
    if left:
        raise stopped(f"the cgroups of worker {pid} could not be removed in {patience:g} s: {', '.join(left)}")


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
