"""Shared fixtures: the course, a way to run the `course` CLI, and one grading of the example class."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AID = "02-char-rnn"
USER = "course-tester"          # an ordinary user, made by the tests that need one (see ``tester``)


def run_course(*args, env=None, cwd=ROOT, timeout=900) -> subprocess.CompletedProcess:
    """Run the real CLI in a fresh process, as an instructor or CI would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def load_results(folder: Path, student: str, aid: str = AID) -> dict:
    return json.loads((folder / student / aid / "results.json").read_text("utf-8"))


# ------------------------------------------------------------------ test_install.py's pip runs, in the background
# They take 4½ minutes of CPU, and most tests leave a core idle, but not the gradings of the attack corpus
# and of `course validate`, which keep both cores busy (and the corpus's time limits are short). So those
# run first, test_install.py last, and its pip runs start (tests/installs.py) as soon as the first two are
# done, overlapping every test in between.
PIP_TESTS = "test_install.py"
_pip_runs = {"wanted": False, "started": None}


def busy(item) -> bool:
    """Whether a test grades the attack corpus or needs `course validate`'s grades."""
    return item.path.name == "test_attacks.py" or "validation" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: (item.path.name == PIP_TESTS, not busy(item)))     # stable: else in their order


def pytest_collection_finish(session):
    # the tests that will run (-m "not slow" has deselected test_install's by now): none needs them, none start
    _pip_runs["wanted"] = any("installs" in getattr(item, "fixturenames", ()) for item in session.items)


def pip_runs_started():
    if _pip_runs["started"] is None:
        import installs

        try:
            _pip_runs["started"] = installs.Started()
        except Exception as exc:            # test_install's tests fail with it, not the test that started them
            _pip_runs["started"] = installs.NotStarted(exc)
    return _pip_runs["started"]


def pytest_runtest_setup(item):
    if _pip_runs["wanted"] and not busy(item):
        pip_runs_started()


def pytest_sessionfinish(session):
    if _pip_runs["started"] is not None:
        _pip_runs["started"].close()


@pytest.fixture(scope="session")
def pip_runs():
    """test_install.py's pip runs (tests/installs.py), started already or now."""
    return pip_runs_started()


@pytest.fixture(scope="session")
def course():
    from autograder import course as courses

    return courses.load(ROOT)


@pytest.fixture
def course_language(course):
    """Expected texts in the course's language; whatever a test sets is undone after it."""
    from autograder.messages import Language, set_language

    before = Language.current
    set_language(course.language)
    yield
    set_language(before)


@pytest.fixture(scope="session")
def example_grades(tmp_path_factory):
    """The embedded class graded once by `course grade` (the README's main job)."""
    out = tmp_path_factory.mktemp("graded")
    junit = out / "junit.xml"
    summary = out / "summary.md"                 # as on GitHub Actions: earlier steps wrote there already
    summary.write_text("earlier step\n", "utf-8")
    proc = run_course("grade", "--out", out, "--jobs", "2", "--junit", junit, "--gradebook", out / "gradebook.db",
                      env={"GITHUB_STEP_SUMMARY": str(summary)})
    return proc, out


def course_in(language: str, root: Path, corpus: bool = True):
    """A copy of the course whose course.toml asks for ``language``: its notebooks and (with ``corpus``)
    its attack corpus, the engine and graders being this checkout's."""
    from autograder.course import load

    text = (ROOT / "course.toml").read_text("utf-8")
    assert 'language = "zh-Hant"' in text
    root.mkdir(parents=True)
    (root / "course.toml").write_text(text.replace('language = "zh-Hant"', f'language = "{language}"'), "utf-8")
    for area in ("source", "release", *(["tests/attacks"] if corpus else [])):
        shutil.copytree(ROOT / area, root / area)
    return load(root)


@pytest.fixture(scope="session")
def validation(tmp_path_factory):
    """`course validate` over every assignment, once, keeping its grades. Returns the process and the
    folder of its results.

    It validates the course in English: the same run then shows that no Chinese reaches an English
    course's students (tests/test_messages.py), at no second grading of every mutant. The course's own
    language is the example class's (``example_grades``), and every catalogue entry is formatted in every
    language by test_messages.py.

    The copy has no attack corpus: tests/test_attacks.py grades the whole corpus in every environment the
    isolation policy names, and tests/test_validate.py runs validate's own attack check on a few."""
    course = course_in("en", tmp_path_factory.mktemp("english") / "course", corpus=False)
    out = tmp_path_factory.mktemp("validated")
    proc = run_course("--course", course.root, "validate", "--jobs", "2", "--out", out)
    return proc, out


@pytest.fixture(scope="session")
def tester():
    """An ordinary user, made for these tests and removed after them."""
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                          capture_output=True, text=True)
    assert made.returncode in (0, 9), made.stderr          # 9: it exists already (an earlier run)
    user = pwd.getpwnam(USER)
    yield user
    # the matplotlib cache its fork servers kept (spawn.matplotlib_folder): the user goes, so does it
    shutil.rmtree(Path(tempfile.gettempdir()) / f"course-matplotlib-{user.pw_uid}", ignore_errors=True)
    subprocess.run(["userdel", USER], capture_output=True)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file and link under ``folder``, by its content's hash (a link by where it points), and what a
    process may change of a file without writing it, which Landlock does not mediate: its mode, owner,
    modification time and extended attributes (chmod, chown, utime, setxattr)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            info = path.stat()
            try:
                xattrs = sorted((name, os.getxattr(path, name).hex()) for name in os.listxattr(path))
            except OSError:
                xattrs = []
            found[key] = (f"{hashlib.sha256(path.read_bytes()).hexdigest()} mode {info.st_mode:o} owner "
                          f"{info.st_uid}:{info.st_gid} mtime {info.st_mtime_ns} xattrs {xattrs}")
    return found


def ipc_objects() -> set[str]:
    """The machine's System V IPC objects (shared memory segments, message queues, semaphore sets), as the
    kernel lists them (what ``ipcs`` shows): kind, key, id and owner's uid. Nothing removes one when the
    process that made it ends: an object a worker left is there for the next submission."""
    found = set()
    for kind, uid_column in (("shm", 7), ("msg", 7), ("sem", 4)):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > uid_column:
                found.add(f"{kind} key {int(fields[0]):#x} id {fields[1]} uid {fields[uid_column]}")
    return found


class Tracked:
    """A cgroup of the test's own for a command it runs (``preexec_fn=tracked.enter``): every process the
    command starts stays in it or below it (the workers' cgroups are made beside their own), whatever
    session, parent or uid it takes, so that what it leaves is told apart from other runs on the machine.
    :meth:`remove` kills whatever is left in it (a test that failed half-way leaves nothing running)."""

    def __init__(self):
        import secrets

        from autograder import cgroups

        found = cgroups.hierarchies() if os.geteuid() == 0 else []
        home = next((h for h in found if h.v2), None) or next((h for h in found if "pids" in h.controllers), None)
        self.folder = os.path.join(home.folder, f"course-test-{secrets.token_hex(4)}") if home else None
        if self.folder:
            os.mkdir(self.folder)

    def enter(self) -> None:
        if self.folder:
            with open(os.path.join(self.folder, "cgroup.procs"), "w") as procs:
                procs.write(str(os.getpid()))

    def processes(self) -> list[int]:
        """The processes in it and below it (zombies aside)."""
        from autograder import cgroups, reaper

        found = []
        for folder, _, _ in os.walk(self.folder or "/nonexistent"):
            found += [pid for pid in cgroups.processes_in(folder) if reaper.alive(pid)]
        return found

    def remove(self) -> None:
        from autograder import reaper

        if not self.folder:
            return
        deadline = time.monotonic() + 30
        folders = [folder for folder, _, _ in os.walk(self.folder)][::-1]        # the deepest first
        for folder in folders:
            reaper.empty_cgroup(folder, deadline)
        reaper.remove_cgroups(folders, deadline)


def workers_running(uids: set[int], started: float, tracked: Tracked | None = None) -> list[str]:
    """Processes of the workers' uids, or started by the grading, that still run (with ``tracked``: those
    in its cgroup, where the machine gave it one)."""
    if tracked is not None and tracked.folder:
        from autograder import reaper

        pids = tracked.processes()
        return [reaper.describe([pid]) for pid in pids]
    ticks, boot = os.sysconf("SC_CLK_TCK"), time.time() - float(Path("/proc/uptime").read_text().split()[0])
    left = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        uid, state, begun = int(status["Uid"].split()[0]), stat[0], boot + int(stat[19]) / ticks
        engine = "autograder" in cmdline or cmdline.startswith("course ")      # (the CLI retitles itself)
        if state != "Z" and (uid >= 100000 or uid in uids or (begun >= started and engine)):
            left.append(f"{entry} uid {uid}: {cmdline[:120]}")
    return left
