"""What a worker's sandbox refuses and bounds, probed from inside by student code, in every environment the
isolation policy names (tests/confine.py makes them; workers are started through Submission, as the engine
starts them), and what is left once it is closed: no process, cgroup, IPC object or file.

Every hostile program here writes only its worker's own folder and names its processes with a marker of
its own, so that what it left is found among the machine's other processes (other runs may share it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import cgroups, reaper
from autograder.limits import Limits

from conftest import ROOT, USER, Tracked

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes the environments as root")

# name: confine.py's flags (the Python is made reachable to other users unless said)
ENVIRONMENTS = {
    "root": [],
    "root-without-cap-sys-admin": ["--drop-sys-admin"],
    "user-with-userns": ["--user", USER],
    "user-without-userns": ["--user", USER, "--refuse", "unshare"],
}
LIMITS = {"cell_seconds": 20, "notebook_seconds": 60, "call_seconds": 10, "restarts": 1}

# what student code finds when it tries each thing: "ok", or the error's words
PROBE = r'''
import os, socket, ctypes, mmap, resource
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
def _try(f):
    try:
        r = f()
        return "ok" if r is None or (isinstance(r, int) and r >= 0) else os.strerror(ctypes.get_errno())
    except OSError as e:
        return e.strerror
found = {}
for _name, _f in {
    "socket_unix": lambda: socket.socket(socket.AF_UNIX).close(),
    "socket_inet": lambda: socket.socket().close(),
    "socketpair": lambda: [s.close() for s in socket.socketpair()] and None,
    "shmget": lambda: _libc.shmget(0, 4096, 0o1600),
    "msgget": lambda: _libc.msgget(0, 0o1600),
    "semget": lambda: _libc.semget(0, 1, 0o1600),
    "mq_open": lambda: _libc.syscall(240, b"q", 0o100 | 2, 0o600, None),
    "memfd_create": lambda: os.memfd_create("x"),
    "mmap_shared_anonymous": lambda: mmap.mmap(-1, 4096) and None,
    "mmap_private_anonymous": lambda: mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE) and None,
    "create": lambda: open("mine.txt", "w").close(),
    "chmod": lambda: os.chmod("mine.txt", 0o777),
    "chown": lambda: os.chown("mine.txt", os.getuid(), os.getgid()),
    "utime": lambda: os.utime("mine.txt"),
    "setxattr": lambda: os.setxattr("mine.txt", "user.x", b"1"),
    "fchmodat2": lambda: _libc.syscall(452, -100, b"mine.txt", 0o777, 0),
    "fallocate": lambda: os.posix_fallocate(os.open("mine.txt", os.O_WRONLY), 0, 1 << 20),
    "dev_zero_write": lambda: open("/dev/zero", "wb").close(),
    "dev_zero_read": lambda: open("/dev/zero", "rb").read(4) and None,
    "proc_self": lambda: open("/proc/self/status").read() and None,
    "proc_self_fd": lambda: os.listdir("/proc/self/fd") and None,
    "proc_cpuinfo": lambda: open("/proc/cpuinfo").read() and None,
    "proc_meminfo": lambda: open("/proc/meminfo").read() and None,
    "proc_sys": lambda: open("/proc/sys/kernel/osrelease").read() and None,
    "proc_list": lambda: os.listdir("/proc") and None,
    "judge_cmdline": lambda: open(f"/proc/{JUDGE}/cmdline").read() and None,
    "judge_environ": lambda: open(f"/proc/{JUDGE}/environ").read() and None,
    "judge_maps": lambda: open(f"/proc/{JUDGE}/maps").read() and None,
}.items():
    found[_name] = _try(_f)
found["ipc"] = os.readlink("/proc/self/ns/ipc")
found["cgroup"] = open("/proc/self/cgroup").read()
found["rlimit_as"] = resource.getrlimit(resource.RLIMIT_AS)[0]
_fs = os.statvfs(".")
found["folder"] = [_fs.f_blocks * _fs.f_frsize, _fs.f_files, os.path.realpath(".")]
'''
TRAIN = ("import torch, numpy as np, matplotlib.pyplot as plt\nfrom IPython.display import display, clear_output\n"
         "model = torch.nn.LSTM(3, 4, batch_first=True)\noptimizer = torch.optim.Adam(model.parameters())\n"
         "loss = model(torch.randn(2, 5, 3))[0].pow(2).mean()\nloss.backward()\noptimizer.step()\n"
         "plt.plot([1, 2])\nplt.savefig('plot.png')\nclear_output()\ntrained = float(loss)\n")
# a chain: each process forks its successor in a session of its own and exits at once, for ever
CHAIN = ("import os, ctypes, time\nif os.fork() == 0:\n    ctypes.CDLL(None).prctl(15, b'@MARKER@', 0, 0, 0)\n"
         "    while True:\n        try:\n            if os.fork():\n                os._exit(0)\n"
         "        except OSError:\n            time.sleep(0.001)\n            continue\n        os.setsid()\n"
         "time.sleep(0.5)\n")


def confined(name: str, spec: dict, reach: bool = True, extra_env: dict | None = None) -> dict:
    """tests/probe_worker.py, run by ``name``'s confine.py flags; its JSON (and ``exit``, ``stderr``)."""
    paths = [os.path.realpath(sys.base_prefix), sys.prefix, str(ROOT)] if reach else []
    command = [sys.executable, str(ROOT / "tests" / "confine.py"), *sum((["--reach", p] for p in paths), []),
               *ENVIRONMENTS[name], "--", sys.executable, str(ROOT / "tests" / "probe_worker.py")]
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'tests'}", **(extra_env or {}))
    tracked = Tracked()
    try:
        proc = subprocess.run(command, input=json.dumps(spec), capture_output=True, text=True, timeout=300, cwd="/",
                              env=env, preexec_fn=tracked.enter)
        left = tracked.processes()
    finally:
        tracked.remove()                    # (a run that failed half-way leaves nothing running)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]), exit=proc.returncode, stderr=proc.stderr,
                tracked=left)


def marker() -> str:
    return "agtest" + secrets.token_hex(4)


def still_named(name: str) -> list[str]:
    """Processes named ``name`` still running some time after their grading ended (zombies aside). A
    chain moves on faster than /proc is read: one look can miss it, twenty in a second do not."""
    from probe_worker import named

    for _ in range(20):
        time.sleep(0.05)
        if found := named(name):
            return found
    return []


def ipc_objects() -> str:
    return subprocess.run(["ipcs", "-c"], capture_output=True, text=True).stdout


# each environment with the workers' fork server, and, where the policy admits them, with plain workers
# (COURSE_NO_FORKSERVER: a new interpreter that imports torch after the sandbox; no subreaper)
PROBES = [*ENVIRONMENTS, "root/plain", "root-without-cap-sys-admin/plain", "user-with-userns/plain"]


@pytest.fixture(scope="module", params=PROBES)
def probed(request, tester):
    """One notebook per environment: the probe, a training step, and a chain of processes left running."""
    name, plain = request.param.split("/")[0], request.param.endswith("/plain")
    mark, before = marker(), ipc_objects()
    cells = [f"JUDGE = @JUDGE@\n{PROBE}", TRAIN, CHAIN.replace("@MARKER@", mark)]
    spec = {"cells": cells, "names": ["found", "trained"], "limits": LIMITS, "marker": mark}
    run = confined(name, spec, extra_env={"COURSE_NO_FORKSERVER": "1"} if plain else None)
    if plain:
        assert "reaped" not in run.get("isolation", ["reaped"]), run
    return name, run, mark, before


@needs_root
@pytest.mark.slow
def test_no_socket_no_ipc_no_uncounted_memory_no_attribute_change(probed):
    name, run, _, before = probed
    assert "error" not in run, run
    found = run["values"]["found"]
    refused = {k: v for k, v in found.items() if k in (
        "socket_unix", "socket_inet", "socketpair", "shmget", "msgget", "semget", "mq_open", "memfd_create",
        "mmap_shared_anonymous", "chmod", "chown", "utime", "setxattr", "fchmodat2", "fallocate")}
    assert set(refused.values()) == {"Operation not permitted"}, refused
    assert found["create"] == found["mmap_private_anonymous"] == found["dev_zero_read"] == "ok"
    assert found["dev_zero_write"] == "Permission denied"
    assert "seccomp" in run["isolation"] and "landlock_fs" in run["isolation"]


@needs_root
@pytest.mark.slow
def test_torch_numpy_matplotlib_and_a_training_step_still_work(probed):
    name, run, _, _ = probed
    assert isinstance(run["values"]["trained"], float), run
    assert [status for _, status, _ in run["runs"]] == ["ok", "ok", "ok"], run["runs"]


@needs_root
@pytest.mark.slow
def test_proc_shows_the_worker_itself_and_global_files_only(probed):
    name, run, _, _ = probed
    found = run["values"]["found"]
    assert found["proc_self"] == found["proc_self_fd"] == found["proc_cpuinfo"] == "ok"
    assert found["proc_meminfo"] == found["proc_sys"] == "ok"
    assert found["proc_list"] == "ok" and "proc_narrowed" in run["isolation"]        # (pids: no secret)
    # the judge: not in its PID namespace at all, or out of Landlock's rules
    for what in ("judge_cmdline", "judge_environ", "judge_maps"):
        assert found[what] in ("Permission denied", "No such file or directory"), (what, found[what])


@needs_root
@pytest.mark.slow
def test_ipc_of_its_own_where_namespaces_are_made_and_none_left(probed):
    name, run, _, before = probed
    found = run["values"]["found"]
    if "mountns" in run["isolation"]:
        assert "ipcns" in run["isolation"] and found["ipc"] != run["judge"]["ipc"]
    else:
        assert found["ipc"] == run["judge"]["ipc"]           # (seccomp refuses every IPC call there)
    created = [line for line in ipc_objects().splitlines() if line not in before.splitlines()]
    ours = [USER] + [str(100000 + pid) for pid in run["pids"]]
    assert not [line for line in created if any(word in line.split() for word in ours)], created


@needs_root
@pytest.mark.slow
def test_memory_is_bounded_by_a_cgroup_as_root_and_by_the_address_space_elsewhere(probed):
    name, run, _, _ = probed
    found, isolation = run["values"]["found"], run["isolation"]
    memory = Limits().memory_bytes
    if name.startswith("root"):
        assert {"memory_cgroup", "pids_cgroup", "kill_cgroup"} <= set(isolation), isolation
        assert "rlimit_as" not in isolation
        line = next(line for line in found["cgroup"].splitlines() if ":memory:" in line)
        assert line.endswith(f"/{cgroups.PREFIX}{run['pids'][0]}")
    else:
        assert "memory_cgroup" not in isolation and "rlimit_as" in isolation
        assert memory < found["rlimit_as"] < memory + (4 << 30)


@needs_root
@pytest.mark.slow
def test_the_private_folder_has_a_size_where_it_is_a_tmpfs(probed):
    name, run, _, _ = probed
    size, files, _ = run["values"]["found"]["folder"]
    if "private_tmp" in run["isolation"]:
        limits = Limits()
        assert size == limits.folder_bytes and files == limits.folder_files


@needs_root
@pytest.mark.slow
def test_a_chain_of_sessions_outlives_nothing(probed):
    """Each process of the chain forks its successor in a session of its own and exits at once: the
    worker's cgroup, its uid, its PID namespace or its fork server's rounds of SIGSTOP end it all."""
    name, run, mark, _ = probed
    assert "error" not in run, run
    assert run["left"] == [] and run["tracked"] == [] and still_named(mark) == []
    assert run["cgroups"] == [] and not any(cgroups.of_worker(pid) for pid in run["pids"])
    assert run["folder_left"] is False
    assert not reaper.running_as(100000 + run["pids"][0])


# ------------------------------------------------------------------ the reaper's ways, one by one (as root)

def chain_in(command_prefix: str, mark: str) -> subprocess.Popen:
    """A chain named ``mark``, started by a process that first runs ``command_prefix`` (Python: joins a
    cgroup, takes a uid). Their subreaper, the process returned, reaps them (this machine's init may not)
    and ends once none is left."""
    code = ("import os, time\nfrom autograder import sandbox\nsandbox.become_subreaper()\nif os.fork() == 0:\n"
            + "".join("    " + line + "\n" for line in (command_prefix + CHAIN.replace("@MARKER@", mark)).splitlines())
            + "    time.sleep(60)\n    os._exit(0)\nwhile True:\n    try:\n        os.wait()\n"
            "    except ChildProcessError:\n        break\n")
    return subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)))


def settled(mark: str) -> bool:
    """Whether the chain named ``mark`` runs (within a few seconds of its start)."""
    from probe_worker import named

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if named(mark):
            return True
        time.sleep(0.02)
    return False


@needs_root
@pytest.mark.parametrize("kind", ["freezer", "unified"])
def test_a_cgroup_empties_of_a_chain_at_once(kind):
    """v1's freezer (freeze, kill, thaw) and v2's cgroup.kill each end a chain that no kill loop catches."""
    found = {("freezer" if "freezer" in h.controllers else "unified" if h.v2 else None): h for h in cgroups.hierarchies()}
    if kind not in found:
        pytest.skip(f"no {kind} hierarchy here")
    folder = Path(found[kind].folder) / f"course-test-{secrets.token_hex(4)}"
    folder.mkdir()
    mark = marker()
    try:
        starter = chain_in(f"open({str(folder / 'cgroup.procs')!r}, 'w').write(str(__import__('os').getpid()))\n",
                           mark)
        assert settled(mark)
        assert reaper.empty_cgroup(str(folder), time.monotonic() + 20) == []
        assert starter.wait(10) == 0 and still_named(mark) == []
    finally:
        reaper.empty_cgroup(str(folder), time.monotonic() + 20)      # (whatever failed above)
        assert reaper.remove_cgroups([str(folder)], time.monotonic() + 10) == []


@needs_root
def test_kill_uid_ends_a_chain_of_that_uid():
    uid, mark = 100000 + 99000 + secrets.randbelow(900), marker()
    starter = chain_in(f"import os\nos.setgid({uid})\nos.setuid({uid})\n", mark)
    try:
        assert settled(mark)
        assert reaper.kill_uid(uid, time.monotonic() + 20) == []
        assert starter.wait(10) == 0 and still_named(mark) == [] and reaper.running_as(uid) == []
    finally:
        reaper.kill_uid(uid, time.monotonic() + 20)          # (whatever failed above)


def test_a_subreaper_stops_and_kills_a_chain_of_its_descendants():
    """As the workers' fork server does for an ordinary user: rounds of SIGSTOP down the parent links."""
    mark = marker()
    code = ("import os, sys, time\nfrom autograder import reaper, sandbox\nassert sandbox.become_subreaper()\n"
            + CHAIN.replace("@MARKER@", mark).replace("time.sleep(0.5)", "time.sleep(1)")
            + "print(reaper.kill_descendants(patience=20))\n")
    tracked = Tracked()
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), preexec_fn=tracked.enter)
        assert proc.stdout.strip() == "[]", proc.stderr
        assert still_named(mark) == []
    finally:
        tracked.remove()


def test_what_outlives_every_kill_stops_grading(monkeypatch):
    """Never silently: a survivor is named, and the refusal is an isolation failure (exit 2)."""
    from autograder.isolation import IsolationRefused

    class Stubborn:
        def wait(self, timeout):
            return 0

        def left_behind(self):
            return [os.getpid()]            # (this process: alive, whatever is done to it)

    with pytest.raises(IsolationRefused, match=f"pid {os.getpid()}"):
        reaper.reap(4242424, False, Stubborn(), patience=0.5)


# ------------------------------------------------------------------ a uid of its own, or no grading (as root)

@needs_root
@pytest.mark.slow
def test_root_without_cap_sys_admin_and_a_python_others_cannot_reach_refuses(tester):
    """Root's pyenv under /root (0700), no mount namespace to open the way: the worker would stay uid 0."""
    python = os.path.realpath(sys.base_prefix)
    from autograder import sandbox

    if sandbox.closed_folder(python) is None:
        pytest.skip("this machine's Python is reachable by other users")
    run = confined("root-without-cap-sys-admin", {"cells": ["x = 1\n"], "names": ["x"], "limits": LIMITS},
                   reach=False)
    assert run["error"].startswith("IsolationRefused"), run
    assert "run as root" in run["error"] and sandbox.closed_folder(python) in run["error"]
    assert "/usr/local or /opt" in run["error"] and "CAP_SYS_ADMIN" in run["error"]
    assert run["cgroups"] == []


# ------------------------------------------------------------------ the folder: size and number of files

# (a little at a time, for seconds: the watch looks every 0.1 s)
WRITE_TOO_MUCH = ("import os, time\nfor i in range(@COUNT@):\n    with open(f'f{i}', 'wb') as out:\n"
                  "        out.write(b'x' * @SIZE@)\n    time.sleep(0.002)\n")


# 12 MiB in one write: done before the watch's next look, so the judge's measure at the cell's end is what
# blames it (fallocate, which gives 64 MiB in a moment, is refused: see seccomp)
BURST = "open('burst', 'wb').write(bytes(12 << 20))\n"


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("name", ["root-without-cap-sys-admin", "user-without-userns"])
@pytest.mark.parametrize("how", ["bytes", "files", "burst"])
def test_a_worker_that_writes_too_much_into_a_host_folder_is_killed(name, how):
    limits = dict(LIMITS, folder_bytes=8 << 20, folder_files=200, restarts=2)
    count, size = (2000, 1 << 20) if how == "bytes" else (5000, 1)
    flood = BURST if how == "burst" else WRITE_TOO_MUCH.replace("@COUNT@", str(count)).replace("@SIZE@", str(size))
    cells = ["before = 1\n", flood, "import os\nafter = sorted(os.listdir('.'))\n"]
    run = confined(name, {"cells": cells, "names": ["before", "after"], "limits": limits})
    assert "error" not in run, run
    assert "private_tmp" not in run["isolation"]
    statuses = {index: (status, message) for index, status, message in run["runs"]}
    assert statuses[1][0] == "skipped" and "wrote too much into its working folder" in statuses[1][1], statuses
    assert statuses[2][0] == "ok" and run["values"]["after"] == []      # emptied before the next worker


# ------------------------------------------------------------------ memory: what RLIMIT_DATA does not bound

# four processes of 400 MiB each: each under its own RLIMIT_DATA, together over the worker's memory
MANY_PROCESSES = ("import os, numpy as np\nchildren = []\nfor _ in range(4):\n    pid = os.fork()\n    if pid == 0:\n"
                  "        block = np.ones(400 << 20, dtype=np.uint8)\n        os._exit(0 if block.sum() else 1)\n"
                  "    children.append(pid)\ncompleted = sum(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) == 0 "
                  "for p in children)\n")


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("name", ["root", "root-without-cap-sys-admin"])
def test_a_memory_cgroup_bounds_a_worker_and_its_processes_together(name):
    limits = dict(LIMITS, memory_bytes=1 << 30)
    run = confined(name, {"cells": ["before = 1\n", MANY_PROCESSES], "names": ["completed"], "limits": limits})
    assert "error" not in run and "memory_cgroup" in run["isolation"], run
    status = {index: status for index, status, _ in run["runs"]}
    # the kernel's OOM killer, inside the cgroup: some of the four (or the worker itself, and the cell is skipped)
    assert status[1] == "skipped" or run["values"]["completed"] < 4, run
    assert run["cgroups"] == []
