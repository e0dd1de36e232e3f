"""The workers' fork server: one warm-up for a pool of judges (clones), and what happens when a server is gone;
the judges' own server, and what the engine's processes show of themselves."""

import functools
import os
import time

import pytest

from autograder import spawn
from autograder.submission import Submission


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def ended(pid: int, seconds: float = 10) -> bool:
    """Whether ``pid`` is gone (or a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def master():
    server = spawn.ForkServer()
    server.wait_ready()
    yield server
    server.close()


@pytest.fixture
def use(monkeypatch):
    """Make ``server`` this (judge) process's fork server for the test."""
    monkeypatch.setattr(spawn.SERVERS, "refused", None)

    def install(server):
        monkeypatch.setattr(spawn.SERVERS, "server", server)
        monkeypatch.setattr(spawn.SERVERS, "owner", os.getpid())
    return install


def worker_of(server, use) -> tuple[int, float]:
    """(the parent of, a value computed by) a worker forked by ``server``."""
    use(server)
    sub = Submission(["import torch\nx = torch.ones(2).sum().item()"])
    try:
        sub.start()
        return parent_of(sub._worker.proc.pid), sub.lookup("x")
    finally:
        sub.close()


def test_clones_of_one_server_each_serve_a_judge(master, use):
    clones = [spawn.ForkServer.clone(master.requests).wait_ready() for _ in range(2)]
    try:
        assert len({master.pid, *(c.pid for c in clones)}) == 3
        assert all(parent_of(c.pid) == master.pid for c in clones)      # forked, warm, by the one server
        for clone in clones:
            assert worker_of(clone, use) == (clone.pid, 2.0)
    finally:
        for clone in clones:
            clone.close()


def test_a_clone_ends_with_its_judge_and_the_server_goes_on(master, use):
    clone = spawn.ForkServer.clone(master.requests).wait_ready()
    clone.close()                              # its judge is gone: the socket closes
    assert ended(clone.pid)
    other = spawn.ForkServer.clone(master.requests).wait_ready()
    try:
        assert worker_of(other, use)[1] == 2.0
    finally:
        other.close()


def test_a_judge_whose_server_is_gone_starts_its_own(use):
    dead = spawn.ForkServer()
    dead.popen.kill()
    dead.popen.wait()
    use(None)
    spawn.attach(dead.requests)               # the clone request finds nobody: a server of its own
    try:
        own = spawn.server()
        assert own is not None and own.popen is not None and own.alive() and own is not dead
        assert worker_of(own, use)[1] == 2.0
    finally:
        spawn.SERVERS.close()
        dead.close()


def _judge_and_its_server(_):
    time.sleep(1)                              # hold this judge, so that the other task goes to the other
    server = spawn.server()
    return os.getpid(), server.popen is None, server.pid, parent_of(server.pid)


def test_a_pool_of_judges_shares_the_warm_up_of_one_server():
    """What `course grade --jobs 2` sets up: two judges, each with a clone of this process's one server."""
    from autograder import pool

    with pool.judges(2) as judges:
        found = list(judges.map(_judge_and_its_server, range(2)))
    master = spawn.server()
    assert len({judge for judge, *_ in found}) == 2, found
    assert all(cloned for _, cloned, _, _ in found), found             # no judge started a server of its own
    assert len({pid for _, _, pid, _ in found}) == 2
    assert {parent for *_, parent in found} == {master.pid}


def test_a_server_without_a_writable_home_leaves_no_matplotlib_folder_behind(monkeypatch, tmp_path):
    """Run by a user whose home cannot be written (a CI container's random uid), matplotlib would make a
    new /tmp/matplotlib-* at every server start and leave it; the server gets one folder per uid instead."""
    import glob
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)             # TMPDIR is read again
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    folder = spawn.matplotlib_folder()
    assert folder == str(tmp_path / f"course-matplotlib-{os.getuid()}") == spawn.matplotlib_folder()
    assert (os.stat(folder).st_mode & 0o777) == 0o700
    before = set(glob.glob("/tmp/matplotlib-*")) | set(glob.glob(str(tmp_path / "matplotlib-*")))
    server = spawn.ForkServer()
    try:
        server.wait_ready()
    finally:
        server.close()
    assert set(glob.glob("/tmp/matplotlib-*")) | set(glob.glob(str(tmp_path / "matplotlib-*"))) == before
    assert any(name.startswith("fontlist") for name in os.listdir(folder))       # the cache is kept there


def test_a_planted_matplotlib_folder_is_not_used(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / f"course-matplotlib-{os.getuid()}").symlink_to(tmp_path / "elsewhere")
    folder = spawn.matplotlib_folder()
    assert os.path.dirname(folder) == str(tmp_path) and "elsewhere" not in os.path.realpath(folder)
    assert not os.path.islink(folder)


def _judge_facts(_):
    import ctypes

    return os.getpid(), ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), "torch" in __import__("sys").modules   # PR_GET_DUMPABLE


def test_judges_come_from_a_server_of_our_own_not_multiprocessing_s():
    """No listener under /tmp that a worker could connect to (multiprocessing's fork server unpickles what it
    is sent); judges are not dumpable, and start with torch imported."""
    import multiprocessing.forkserver

    from autograder import pool

    found = list(pool.as_completed(_judge_facts, [0, 1], 2))
    assert all(dumpable == 0 and warm for _, dumpable, warm in found), found
    assert multiprocessing.forkserver._forkserver._forkserver_address is None
    server = pool.SERVER.popen.pid
    assert {parent_of(pid) for pid, _, _ in found} == {server}


def _raises(x):
    raise ValueError(f"judge says {x}")


def test_a_refusal_in_the_probe_cancels_the_rest_and_a_judge_s_exception_comes_back_whole():
    from autograder import pool

    with pytest.raises(ValueError, match="judge says probe") as raised:
        list(pool.as_completed(_judge_and_its_server, [1, 2, 3], 2, first=functools.partial(_raises, "probe")))
    assert "Traceback" in str(raised.value.__cause__)               # the judge's own traceback, as the cause
    assert sorted(pool.as_completed(functools.partial(pow, 2), [3, 4, 5], 2)) == [8, 16, 32]


def test_the_grading_process_hides_its_command_line_and_is_not_dumpable(tmp_path):
    """A secret on the command line (--gradebook with a password) is not in /proc/<pid>/cmdline."""
    import subprocess
    import sys

    code = ("from autograder import proctitle\nassert proctitle.private() and proctitle.retitle('course grade')\n"
            "print('ready', flush=True)\nimport time\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "grade", "--gradebook", "postgresql://ta:hunter2@db/course"],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, SECRET_TOKEN="hunter3"))
    try:
        assert proc.stdout.readline().strip() == "ready"
        shown = open(f"/proc/{proc.pid}/cmdline", "rb").read()
        assert shown.rstrip(b"\0") == b"course grade" and b"hunter2" not in shown
        assert os.stat(f"/proc/{proc.pid}/environ").st_uid == 0        # not dumpable: root's, whoever runs it
    finally:
        proc.kill()
        proc.wait()


def test_the_cli_retitles_itself_once_its_arguments_are_parsed(monkeypatch):
    import sys

    from autograder import cli, proctitle

    done = []
    monkeypatch.setattr(proctitle, "private", lambda: done.append("private"))
    monkeypatch.setattr(proctitle, "retitle", lambda title: done.append(title))
    monkeypatch.setattr(sys, "argv", ["course", "--course", "/nonexistent", "feedback"])
    cli.main()
    assert done == ["private", "course feedback"]


def _sleep_then(seconds):
    time.sleep(seconds)
    return "slept"


def test_ctrl_c_in_the_grading_process_interrupts_the_judges_instead_of_waiting_for_them():
    from autograder import pool

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with pool.judges(2) as judges:
            futures = [judges.submit(_sleep_then, 60) for _ in range(2)]
            time.sleep(1.5)                                    # both judges are inside their call
            raise KeyboardInterrupt
    assert time.monotonic() - started < 20
    assert all(isinstance(f.exception(), KeyboardInterrupt) for f in futures)
