"""The whole attack corpus, graded as a class in every environment the isolation policy names.

In each environment (``tests/confine.py`` makes them: root with every privilege; root without
CAP_SYS_ADMIN, Docker's default, with a Python other users can reach and with one they cannot; an
ordinary user with user namespaces; one without them; one without them and without Landlock) either

- grading finishes, every attack gets exactly its honest twin's grade, every results.json verifies as
  the engine's, nothing is planted in the course, the class or the results (nor their modes, times or
  extended attributes changed), no process of the workers and no System V IPC object is left, no
  executed notebook is huge, and nothing has changed some seconds after grading ended; or
- grading refuses with exit 2, names what is missing, and writes nothing.

Every hostile notebook walks and writes only the test's own folder (``@ATTACK_ROOT@``), which holds a
copy of the course (engine and graders included: the copy is what runs) and the class: where
isolation failed they would otherwise write wherever the grading user can.

Every environment runs under a hash seed of its own and with tokens in its environment (which the
corpus's ``environment`` attack looks for). The honest twins, ordinary notebooks, must get the same
results in every environment, file for file (messages included).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder import isolation, results, sandbox, store, validate

from conftest import AID, ROOT, USER, Tracked, fingerprint, ipc_objects, workers_running

# name: (confine.py's flags, whether grading must go ahead), each run as one test
ENVIRONMENTS = {
    "root": ([], True),
    "root-without-cap-sys-admin": (["--drop-sys-admin"], True),
    # ... whose Python lies where other users may not go (pyenv under /root, 0700), no way opened to it
    # (--reach): the worker would stay uid 0, so grading refuses
    "root-without-cap-sys-admin-python-unreachable": (["--drop-sys-admin"], False),
    "user-with-userns": (["--user", USER], True),
    "user-without-userns": (["--user", USER, "--refuse", "unshare"], True),
    "user-without-userns-or-landlock": (["--user", USER, "--refuse", "unshare,landlock"], False),
}
# what each environment must have got, at least (a step back is a failure, not a silent fallback)
MEASURES = {
    "root": {"mountns", "pidns", "netns", "ipcns", "uid", "landlock_fs", "proc_narrowed", "seccomp", "pids_cgroup",
             "memory_cgroup", "kill_cgroup", "private_tmp"},
    "root-without-cap-sys-admin": {"uid", "landlock_fs", "hidden_by_landlock", "proc_narrowed", "seccomp", "reaped",
                                   "pids_cgroup", "memory_cgroup", "kill_cgroup"},
    "user-with-userns": {"unprivileged", "userns", "mountns", "pidns", "netns", "ipcns", "landlock_fs",
                         "proc_narrowed", "seccomp", "rlimit_as", "private_tmp"},
    "user-without-userns": {"unprivileged", "landlock_fs", "landlock_scopes", "hidden_by_landlock", "proc_narrowed",
                            "seccomp", "reaped", "rlimit_as"},
}
UNREACHABLE = {"root-without-cap-sys-admin-python-unreachable"}      # no --reach: the Python as the machine has it
SETTLE = 4.0          # seconds after grading ends before looking again for processes and changed files
MAX_EXECUTED = 8 << 20   # bytes of an executed.ipynb: the honest twins' are about 100 KB
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes the environments as root")


def course_copy(home: Path) -> Path:
    """The course as a folder of the test's own: engine and graders, sources, release, with validate's
    short limits for hostile notebooks, in English (readable in a failing test's report)."""
    course = home / "course"
    course.mkdir()
    shutil.copytree(ROOT / "autograder", course / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    for area in ("source", "release"):
        shutil.copytree(ROOT / area / AID, course / area / AID)
    text = (ROOT / "course.toml").read_text("utf-8").replace('language = "zh-Hant"', 'language = "en"')
    for key, value in validate.ATTACK_LIMITS.items():
        text, count = re.subn(rf"(?m)^{key} = \d+", f"{key} = {value}", text)
        assert count == 1, key
    (course / "course.toml").write_text(text, "utf-8")
    return course


def write_class(home: Path, corpus) -> dict[str, str]:
    """Every attack and every honest twin as a student of the class; attack student -> its twin. The class
    opens with an honest solution ("aaa-first", graded first, the twin of the solution's attacks' twin), so
    that every attack, those whose frames the judge cannot use among them, is graded between honest ones."""
    bases = {"solution": nbformat.read(str(ROOT / "source" / AID / "char-rnn.ipynb"), as_version=4),
             "blank": nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)}
    twins, names = {"aaa-first": "honest-0"}, {("solution", repr(None)): "honest-0"}
    folder = home / "submitted" / "aaa-first" / AID
    folder.mkdir(parents=True)
    nbformat.write(bases["solution"], str(folder / "char-rnn.ipynb"))
    for attack in corpus:
        key = (attack.base, repr(attack.honest))
        names.setdefault(key, f"honest-{len(names)}")
        twins[f"attack-{attack.name}"] = names[key]
        notebooks = [(f"attack-{attack.name}", validate.attack_notebook(bases[attack.base], attack.edits, str(home))),
                     (names[key], validate.apply(bases[attack.base], attack.honest or []))]
        for student, nb in notebooks:
            folder = home / "submitted" / student / AID
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(folder / "char-rnn.ipynb"))
    return twins


@pytest.fixture(scope="module")
def corpus(course):
    return validate.attacks(course, AID)


def grade_in(name: str, corpus, tester, tmp_path: Path) -> dict:
    """The class graded by the course copy's own CLI inside environment ``name``; what came of it."""
    flags, _ = ENVIRONMENTS[name]
    home = Path(tempfile.mkdtemp(prefix="course-env-", dir="/tmp"))     # not under pytest's 0700 folder
    tracked = Tracked()                     # what this run leaves, told apart from other runs on the machine
    try:
        os.chmod(home, 0o755)
        course = course_copy(home)
        twins = write_class(home, corpus)
        if "--user" in flags:
            os.chown(home, tester.pw_uid, tester.pw_gid)                 # where its results go
        before = {area: fingerprint(home / area) for area in ("course", "submitted")}
        ipc_before = ipc_objects()
        reach = [] if name in UNREACHABLE else [os.path.realpath(sys.base_prefix), sys.prefix, str(ROOT), str(home)]
        command = [sys.executable, str(ROOT / "tests" / "confine.py"), *sum((["--reach", p] for p in reach), []),
                   *flags, "--", sys.executable, "-m", "autograder.cli", "--course", str(course),
                   "grade", str(home / "submitted"), "--out", str(home / "graded"), "--jobs", "2", "--quiet"]
        env = dict(os.environ, PYTHONPATH=str(course), PYTHONHASHSEED=str(4242 + list(ENVIRONMENTS).index(name)),
                   SECRET_TOKEN="hunter2", GITHUB_TOKEN="ghp_x")
        started = time.time()
        proc = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=900,
                              preexec_fn=tracked.enter)
        graded = home / "graded"
        written = {p: p.read_bytes() for p in graded.rglob("*") if p.is_file()} if graded.exists() else {}
        time.sleep(SETTLE)                          # a daemon that survived would act now
        return {
            "proc": proc, "home": home, "twins": twins, "before": before,
            "after": {area: fingerprint(home / area) for area in ("course", "submitted")},
            "outside": sorted(p.name for p in home.iterdir()),
            "written": written,
            "settled": {p: p.read_bytes() for p in graded.rglob("*") if p.is_file()} if graded.exists() else {},
            "left": workers_running({tester.pw_uid}, started, tracked),
            "ipc": sorted(ipc_objects() - ipc_before),
            "results": {p.parent.parent.name: results.load(p) for p in graded.glob(f"*/{AID}/results.json")},
        }
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    finally:
        tracked.remove()


@needs_root
@pytest.mark.slow
@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_the_corpus_holds_or_grading_refuses(name, corpus, tester, tmp_path):
    if name in UNREACHABLE and sandbox.closed_folder(os.path.realpath(sys.base_prefix)) is None:
        pytest.skip("this machine's Python is reachable by other users: as root-without-cap-sys-admin")
    run = grade_in(name, corpus, tester, tmp_path)
    try:
        proc, goes_ahead = run["proc"], ENVIRONMENTS[name][1]
        assert run["left"] == [], f"processes left behind: {run['left']}"
        assert run["ipc"] == [], f"System V IPC objects left behind: {run['ipc']}"
        assert run["after"] == run["before"], "the course copy or the class changed"
        if not goes_ahead:
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert "grading refused" in proc.stderr and "--trust-submissions" in proc.stderr
            if name in UNREACHABLE:             # which folder, and how to fix it
                assert isolation.WHAT["not_root"] in proc.stderr and "/usr/local or /opt" in proc.stderr
            assert run["outside"] == ["course", "submitted"] and not run["written"]     # nothing written
            return
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert run["outside"] == ["course", "graded", "submitted"]
        assert run["settled"] == run["written"], "results changed after grading ended"
        allowed = {"results.json", "executed.ipynb", "gradebook.csv", store.KEY_FILE}
        assert {p.name for p in run["written"]} <= allowed
        huge = {p.parent.parent.name: len(data) for p, data in run["written"].items()
                if p.name == "executed.ipynb" and len(data) > MAX_EXECUTED}
        assert huge == {}, f"executed notebooks of more than {MAX_EXECUTED} bytes: {huge}"
        students = {p.parent.parent.name for p in run["written"] if p.name == "results.json"}
        assert students == set(run["twins"]) | set(run["twins"].values())
        graded = run["results"]
        assert all(r is not None for r in graded.values()), "a results.json that does not verify"
        measures = set(next(iter(graded.values())).isolation)
        assert MEASURES[name] <= measures, f"{name} got only {sorted(measures)}"
        assert all(r.isolated for r in graded.values())
        assert "isolation: student code ran under" in proc.stdout
        differ = {}
        for attack, twin in run["twins"].items():
            mine = [(t.nodeid, t.status) for t in graded[attack].tests]
            theirs = [(t.nodeid, t.status) for t in graded[twin].tests]
            if mine != theirs or graded[attack].score != graded[twin].score:
                differ[attack] = [f"{a[0]}: {a[1]}" for a, b in zip(mine, theirs) if a != b] or graded[attack].score
        assert differ == {}
        same_in_every_environment(name, run)
    finally:
        shutil.rmtree(run["home"], ignore_errors=True)


HONEST = {}          # environment -> {honest twin: its results.json, comparable}, as each is graded


def same_in_every_environment(name: str, run) -> None:
    """The honest twins' results equal, file for file, those of every environment graded before."""
    graded = run["home"] / "graded"
    mine = {twin: comparable(run["written"][graded / twin / AID / "results.json"])
            for twin in set(run["twins"].values())}
    assert len(mine) >= 5
    for other, theirs in HONEST.items():
        differ = sorted(twin for twin in mine if mine[twin] != theirs[twin])
        assert not differ, f"{name} and {other} grade {differ} differently"
    HONEST[name] = mine


def comparable(text: bytes) -> dict:
    """A results.json without what may differ between two gradings: time, memory, the signature, the
    executed notebook's hash (its outputs hold timings), and the measures' names (checked apart: under
    confine.py the Python is reachable already, so the sandbox has no way to open for it)."""
    data = json.loads(text)
    data.pop("execution_time")
    for key in ("peak_memory_kib", "signature", "executed_sha256", "isolation"):
        data["extra_data"].pop(key, None)
    return data
