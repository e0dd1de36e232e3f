"""The worker's sandbox, probed from inside by student code."""

import os

import pytest

from autograder.limits import Limits
from autograder.submission import Submission

from conftest import ROOT

LIMITS = Limits(cell_seconds=20, notebook_seconds=60, call_seconds=10, restarts=2)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="this machine's measures as root")


@pytest.fixture(scope="module")
def probed():
    cells = [
        "import os, socket, glob\nprobe = {}\n",
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    probe['network'] = 'open'\n"
        "except OSError as e:\n    probe['network'] = e.strerror\n",
        f"probe['graders'] = glob.glob('{ROOT}/autograder/graders/*/*.py')\n"
        f"probe['source'] = glob.glob('{ROOT}/source/*/*.ipynb')\n",
        f"res = {{}}\nfor p in ['{ROOT}/probe.txt', '/probe.txt', 'here.txt']:\n    try:\n"
        "        open(p, 'w').write('x')\n        res[p] = 'written'\n    except OSError as e:\n        res[p] = e.strerror\n"
        "probe['writes'] = res\n",
        "probe['pid'] = os.getpid()\nprobe['ppid'] = os.getppid()\nprobe['uid'] = os.getuid()\n"
        "probe['env'] = sorted(os.environ)\nprobe['others'] = [p for p in range(2, 300) if os.path.exists(f'/proc/{p}')]\n"
        "try:\n    os.listdir('/proc')\n    probe['listing'] = 'listed'\nexcept OSError as e:\n    probe['listing'] = e.strerror\n"
        "try:\n    probe['home'] = sorted(os.listdir(os.path.expanduser('~root')))\n"
        "except OSError:\n    probe['home'] = None\n",
        "import resource\nprobe['limits'] = {name: resource.getrlimit(getattr(resource, name)) for name in "
        "('RLIMIT_CORE', 'RLIMIT_DATA', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE')}\n"
        "probe['status'] = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines())\n",
    ]
    hide = (ROOT / "autograder" / "graders", ROOT / "source")
    sub = Submission(cells, limits=LIMITS, hide=hide)
    sub.start()
    yield sub.lookup("probe"), sub.isolation
    sub.close()
    assert not (ROOT / "probe.txt").exists()


def test_what_the_worker_reports_is_what_its_code_finds(probed):
    """Not the sandbox's word for it: each measure it names is looked up from inside, by student code."""
    probe, isolation = probed
    assert "rlimits" in isolation and "no_new_privs" in isolation
    limits, status = probe["limits"], {k: v.strip() for k, v in probe["status"].items()}
    memory = LIMITS.rlimits()["memory_bytes"]
    expected = {"RLIMIT_CORE": 0, "RLIMIT_DATA": -1 if memory is None else memory,    # -1: a CUDA build
                "RLIMIT_CPU": LIMITS.cpu_seconds, "RLIMIT_FSIZE": LIMITS.file_bytes, "RLIMIT_NOFILE": LIMITS.open_files}
    assert {name: tuple(value) for name, value in limits.items()} == {n: (v, v) for n, v in expected.items()}
    assert status["NoNewPrivs"] == "1"
    assert ("seccomp" in isolation) == (status["Seccomp"] == "2")                  # 2: a filter is in force
    if "uid" in isolation:
        assert status["Uid"].split()[0] != "0"
    if "no_capabilities" in isolation or "uid" in isolation:
        assert int(status["CapEff"], 16) == 0


@ROOT_ONLY
def test_no_network(probed):
    probe, isolation = probed
    assert "netns" in isolation and probe["network"] != "open"


@ROOT_ONLY
def test_hidden_paths_are_empty(probed):
    probe, isolation = probed
    assert probe["graders"] == [] and probe["source"] == []
    assert (ROOT / "autograder" / "graders" / "02-char-rnn" / "test_model.py").exists()   # only hidden


@ROOT_ONLY
def test_only_its_private_tmp_is_writable(probed):
    probe, isolation = probed
    writes = probe["writes"]
    assert writes["here.txt"] == "written"
    assert writes[f"{ROOT}/probe.txt"] != "written" and writes["/probe.txt"] != "written"
    assert "read_only_fs" in isolation or "uid" in isolation


@ROOT_ONLY
def test_graded_as_root_it_runs_as_a_uid_of_its_own(probed):
    import sys

    probe, isolation = probed
    assert "uid" in isolation and probe["uid"] >= 100000 and "no_new_privs" in isolation
    # root's home, if the Python lives there (pyenv), shows the worker only the way to the Python (its
    # mount namespace), and Landlock, where the kernel has it, lets it list not even that
    python = os.path.realpath(sys.base_prefix)
    home = os.path.realpath(os.path.expanduser("~root"))
    if python.startswith(home + "/"):
        assert probe["home"] == [python[len(home) + 1:].split("/")[0]] or \
            (probe["home"] is None and "landlock_fs" in isolation)


@ROOT_ONLY
def test_it_sees_only_its_own_processes_and_a_scrubbed_environment(probed):
    probe, isolation = probed
    assert "pidns" in isolation and probe["pid"] == 1 and probe["ppid"] == 0
    assert probe["others"] == [] and probe["listing"] == "listed"
    assert not [k for k in probe["env"] if "TOKEN" in k or "SECRET" in k]


@ROOT_ONLY
def test_a_fork_bomb_is_bounded():
    sub = Submission(["import os, time\nkids = 0\nfor i in range(400):\n    try:\n        pid = os.fork()\n"
                      "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
                      "    kids += 1\n"], limits=LIMITS)
    sub.start()
    try:
        assert sub.lookup("kids") < LIMITS.processes
    finally:
        sub.close()


@ROOT_ONLY
def test_hidden_paths_inside_hidden_folders_count_as_hidden(tmp_path):
    """The example class hides examples/ and, inside it, the folder of the submission being graded."""
    inner = tmp_path / "examples" / "submitted" / "alice"
    inner.mkdir(parents=True)
    (inner / "answer.txt").write_text("secret")
    sub = Submission([f"import os\nseen = os.path.exists({str(inner / 'answer.txt')!r})\n"], limits=LIMITS,
                     hide=(tmp_path / "examples", inner))
    sub.start()
    try:
        assert "hidden_by_mounts" in sub.isolation and sub.lookup("seen") is False
    finally:
        sub.close()


def test_folders_pth_files_add_are_the_pythons_but_never_the_engine_or_a_hidden_path(tmp_path, monkeypatch):
    """An environment layered on another's packages (a ``.pth`` line naming a site-packages) stays
    readable to its workers; a path entry that holds the engine or a hidden path, or lies in one, does not."""
    from autograder import sandbox
    from autograder import ENGINE

    layered, secret = tmp_path / "other-site-packages", tmp_path / "graded"
    layered.mkdir()
    (secret / "inside").mkdir(parents=True)
    entries = [str(layered), ENGINE, os.path.dirname(ENGINE), os.path.join(ENGINE, "autograder"),
               str(tmp_path), str(secret / "inside"), "", "relative"]
    monkeypatch.setattr("sys.path", entries + list(__import__("sys").path))
    paths = sandbox.python_paths(hide=[str(secret)])
    assert os.path.realpath(layered) in paths
    for entry in entries[1:6]:
        assert os.path.realpath(entry) not in paths, entry


def test_without_the_fork_server_a_worker_is_a_plain_process_sandboxed_the_same(monkeypatch):
    """COURSE_NO_FORKSERVER, as where the server cannot start: each worker is a process of its own
    (python -m autograder.worker), and the sandbox enters it all the same."""
    from autograder import spawn

    monkeypatch.setenv("COURSE_NO_FORKSERVER", "1")
    assert spawn.server() is None
    sub = Submission(["import os, resource\nx = 41 + 1\ncore = resource.getrlimit(resource.RLIMIT_CORE)\n"],
                     limits=LIMITS)
    sub.start()
    try:
        assert sub.lookup("x") == 42 and sub.lookup("core") == (0, 0)
        assert "rlimits" in sub.isolation and "no_new_privs" in sub.isolation
    finally:
        sub.close()
