"""The isolation policy and what the judge trusts on disk: refusal, trust said out loud, signed results,
graders loaded only from their private copy."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import isolation, results, store
from autograder.isolation import IsolationRefused, Policy

from conftest import AID, ROOT, USER, load_results, run_course


BLANK = ROOT / "release" / AID / "char-rnn.ipynb"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes the environments as root")

FULL_ROOT = ["pids_cgroup", "mountns", "netns", "pidns", "read_only_fs", "hidden_by_mounts", "private_tmp",
             "rlimits", "uid", "no_new_privs", "landlock_fs", "landlock_scopes", "seccomp"]
DOCKER_ROOT = ["pids_cgroup", "reaped", "rlimits", "uid", "no_new_privs", "landlock_fs", "landlock_net",
               "landlock_scopes", "hidden_by_landlock", "seccomp"]


@pytest.mark.parametrize("measures, gaps", [
    (FULL_ROOT, []),
    (DOCKER_ROOT, []),
    # root without CAP_SYS_ADMIN on a kernel without Landlock: a uid of its own alone
    (["pids_cgroup", "rlimits", "uid", "no_new_privs", "seccomp"], ["files_written", "files_read"]),
    # ... and the graders closed to other users: still writable places it could plant in
    (["uid", "hidden_by_permissions", "seccomp", "no_new_privs"], ["files_written"]),
    # an ordinary user, Landlock without the scopes of ABI 6: it could signal the judge, its own uid
    (["unprivileged", "reaped", "rlimits", "no_new_privs", "landlock_fs", "landlock_net", "hidden_by_landlock",
      "seccomp"], ["processes"]),
    # root without CAP_SYS_ADMIN whose Python others cannot reach: everything but a uid of its own
    (["pids_cgroup", "memory_cgroup", "kill_cgroup", "reaped", "rlimits", "no_capabilities", "no_new_privs",
      "landlock_fs", "landlock_net", "landlock_scopes", "hidden_by_landlock", "seccomp"], ["not_root"]),
    # an ordinary user with user namespaces: root inside them, but not outside
    (["unprivileged", "userns", "mountns", "netns", "pidns", "ipcns", "read_only_fs", "hidden_by_mounts",
      "private_tmp", "rlimits", "rlimit_as", "no_new_privs", "landlock_fs", "seccomp"], []),
    # Landlock whose rules let a hidden path through (an engine inside site-packages), no seccomp
    (["uid", "landlock_fs", "landlock_scopes"], ["files_read", "network"]),
    # what the sandbox gave before this policy, in Docker: rlimits and dropped capabilities
    (["pids_cgroup", "rlimits", "no_capabilities", "no_new_privs"], ["files_written", "files_read", "processes",
                                                                      "network", "not_root"]),
    ([], ["files_written", "files_read", "processes", "network", "not_root"]),
])
def test_each_property_needs_a_measure_that_gives_it(measures, gaps):
    assert isolation.missing(measures) == gaps
    if gaps:
        with pytest.raises(IsolationRefused) as refused:
            Policy().admit(measures)
        assert all(isolation.WHAT[gap] in str(refused.value) for gap in gaps)
        assert "--trust-submissions" in str(refused.value) and "SYS_ADMIN" in str(refused.value)
        if "not_root" in gaps:              # which folder keeps the Python from other users, and what to do
            assert "/usr/local or /opt" in str(refused.value) or "setuid was refused" in str(refused.value)
        assert Policy(trusted=True).admit(measures) is False         # trusted: it goes ahead, unisolated
    else:
        assert Policy().admit(measures) is True


def as_user_without_namespaces_or_landlock(args, out: Path, tester) -> subprocess.CompletedProcess:
    """``course ARGS`` as an ordinary user on a machine that gives it neither user namespaces nor Landlock."""
    reach = sum((["--reach", p] for p in (os.path.realpath(sys.base_prefix), sys.prefix, str(ROOT), str(out))), [])
    out.mkdir(mode=0o755)
    os.chown(out, tester.pw_uid, tester.pw_gid)
    command = [sys.executable, str(ROOT / "tests" / "confine.py"), *reach, "--user", USER,
               "--refuse", "unshare,landlock", "--", sys.executable, "-m", "autograder.cli", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture
def scratch():
    """A folder in /tmp that others may enter (pytest's own are closed to the test's ordinary user)."""
    folder = Path(tempfile.mkdtemp(prefix="course-isolation-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
@pytest.mark.slow
def test_where_nothing_isolates_grading_refuses_unless_told_to_trust(scratch, tester):
    refused = as_user_without_namespaces_or_landlock(["grade", BLANK, "--out", scratch / "out" / "graded"],
                                                     scratch / "out", tester)
    assert refused.returncode == 2, refused.stderr
    assert "grading refused" in refused.stderr
    assert isolation.WHAT["files_written"] in refused.stderr and isolation.WHAT["processes"] in refused.stderr
    assert not (scratch / "out" / "graded").exists()                      # nothing written

    trusted = as_user_without_namespaces_or_landlock(["grade", BLANK, "--out", scratch / "ok" / "graded",
                                                      "--trust-submissions"], scratch / "ok", tester)
    assert trusted.returncode == 0, trusted.stderr
    data = load_results(scratch / "ok" / "graded", "release")
    assert data["extra_data"]["isolated"] is False and data["score"] == 0
    assert "graded without isolation" in data["output"]
    assert "UNISOLATED" in trusted.stdout and "isolation: UNISOLATED" in trusted.stdout
    assert "isolation: UNISOLATED" in trusted.stderr                     # said before grading, too

    # validate runs hostile notebooks (the corpus): it refuses as grading does
    validating = as_user_without_namespaces_or_landlock(["validate", AID, "--out", scratch / "val" / "kept"],
                                                        scratch / "val", tester)
    assert validating.returncode == 2 and "grading refused" in validating.stderr
    assert not (scratch / "val" / "kept").exists()

    # the README's first command, on such a machine: the example class ships with the course
    example = as_user_without_namespaces_or_landlock(["grade", "--shard", "1/9", "--out", scratch / "ex" / "graded"],
                                                     scratch / "ex", tester)
    assert example.returncode == 0, example.stderr
    assert "isolation: UNISOLATED" in example.stdout


@pytest.fixture(scope="module")
def graded_blank(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    proc = run_course("grade", BLANK, "--out", out, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    return out


def forge(out: Path, score: float = 50) -> Path:
    """A copy of ``out`` whose results.json a worker that could write would have rewritten: full marks."""
    copy = Path(tempfile.mkdtemp(prefix="forged-", dir=out.parent))
    shutil.copytree(out, copy, dirs_exist_ok=True)
    path = copy / "release" / AID / "results.json"
    data = json.loads(path.read_text("utf-8"))
    data["score"] = score
    for test in data["tests"]:
        test["score"], test["status"] = test["max_score"], "passed"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return copy


def test_results_are_signed_and_verify_only_as_written(graded_blank):
    path = graded_blank / "release" / AID / "results.json"
    assert (graded_blank / store.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert results.load(path) is not None and store.read_signed(path)["extra_data"]["signature"]
    forged = forge(graded_blank)
    assert results.load(forged / "release" / AID / "results.json") is None
    # a worker that could write but not read the key: a copy of a genuine file, signed with another key
    other = graded_blank.parent / "other-key"
    shutil.copytree(graded_blank, other)
    (other / store.KEY_FILE).unlink()
    store.key(other)
    assert results.load(other / "release" / AID / "results.json") is None


@pytest.mark.slow
def test_resume_regrades_what_the_engine_did_not_write(graded_blank):
    forged = forge(graded_blank)
    proc = run_course("grade", BLANK, "--out", forged, "--jobs", "1", "--resume")
    assert proc.returncode == 0, proc.stderr
    assert load_results(forged, "release")["score"] == 0                 # graded again, not kept
    assert results.load(forged / "release" / AID / "results.json") is not None


@pytest.mark.slow
def test_merge_and_feedback_refuse_what_the_engine_did_not_write(graded_blank, tmp_path):
    forged = forge(graded_blank)
    merged = run_course("merge", forged, "--out", tmp_path / "merged")
    assert merged.returncode == 2 and "not a complete results.json written by the engine" in merged.stderr
    assert not (tmp_path / "merged" / "gradebook.csv").exists()
    feedback = run_course("feedback", forged)
    assert feedback.returncode == 2 and "not written by the engine" in feedback.stderr
    # a genuine result beside an executed notebook that is not the one it was written with
    swapped = graded_blank.parent / "swapped"
    shutil.copytree(graded_blank, swapped)
    executed = swapped / "release" / AID / "executed.ipynb"
    executed.write_text(executed.read_text("utf-8").replace("NotImplementedError", "<script>x</script>"), "utf-8")
    assert run_course("feedback", swapped).returncode == 0
    page = (swapped / "release" / AID / "feedback.html").read_text("utf-8")
    assert "<script>x</script>" not in page and "cannot be shown (signature)" in page
    # merged, results are signed again with the merged folder's own key
    assert run_course("merge", graded_blank, "--out", tmp_path / "again").returncode == 0
    assert results.load(tmp_path / "again" / "release" / AID / "results.json") is not None


@pytest.mark.slow
def test_pytest_configuration_planted_around_the_graders_is_never_loaded(tmp_path):
    """conftest.py, ini files and a hash-unchecked .pyc planted in and above the course's grader folders
    (what a worker that could write would plant) change nothing: the judge runs its private copy."""
    course = tmp_path / "course"
    shutil.copytree(ROOT / "autograder", course / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    for area in ("source", "release"):
        shutil.copytree(ROOT / area / AID, course / area / AID)
    shutil.copy(ROOT / "course.toml", course / "course.toml")
    hook = ("import pytest\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_call(item):\n"
            "    item.runtest = lambda: None\n")
    graders = course / "autograder" / "graders"
    for folder in (tmp_path, course, course / "autograder", graders):
        (folder / "conftest.py").write_text(hook)
        (folder / "planted_plugin.py").write_text(hook)
        (folder / "pytest.ini").write_text("[pytest]\naddopts = -p planted_plugin\n")
        (folder / "tox.ini").write_text("[pytest]\naddopts = -p planted_plugin\n")
    evil = tmp_path / "evil.py"
    evil.write_text(hook + "\n@pytest.mark.points(50, blank='GetDummies')\ndef test_all():\n    pass\n")
    (graders / AID / "__pycache__").mkdir()
    for test in (graders / AID).glob("test_*.py"):
        py_compile.compile(str(evil), cfile=str(graders / AID / "__pycache__" / f"{test.stem}.cpython-311.pyc"),
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    env = {"PYTHONPATH": str(course)}
    proc = run_course("--course", course, "grade", BLANK, "--out", tmp_path / "out", "--jobs", "1", env=env,
                      cwd=course)
    assert proc.returncode == 0, proc.stderr
    data = load_results(tmp_path / "out", "release")
    assert data["score"] == 0 and len(data["tests"]) > 5
    assert all("not implemented" in t["output"] for t in data["tests"][:len(data["extra_data"]["nodeids"])])


def test_a_key_that_the_engine_did_not_write_is_refused_not_used(tmp_path):
    """A results.key that is empty or short would make every signature guessable: nothing is signed with it."""
    from autograder.course import CourseError

    (tmp_path / store.KEY_FILE).write_text("\n")
    with pytest.raises(CourseError, match="signing key"):
        store.key(tmp_path)
    fresh = tmp_path / "fresh"
    assert len(store.key(fresh)) == 64 and store.key(fresh) == store.key(fresh)
    assert (fresh / store.KEY_FILE).stat().st_mode & 0o777 == 0o600
