"""`course export`: the Gradescope autograder zip, graded the way Gradescope runs it, and the student bundle.

Every expensive step (three gradings by ``run_autograder``, two ``course check`` runs with the student
bundle's engine) is started at once in the module fixture ``runs``, so they share the machine's cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder import export
from autograder.course import CourseError

from conftest import ROOT, fingerprint, workers_running

pytestmark = pytest.mark.slow          # grades with the exported zips, as Gradescope and students run them

AID = "02-char-rnn"
NOTEBOOK = "char-rnn.ipynb"
PYTHON = sys.executable                      # the project's .venv: run_autograder's COURSE_PYTHON
EXAMPLES = ROOT / "examples" / "submitted"
GRADER_MARK = "[zip copy] "                  # put into the unpacked zip's graders: seen in results.json
CHECK_MARK = "[bundle copy] "                # put into the unpacked bundle's checks: seen in the output

# Gradescope's results.json, as its specification documents it (gradescope-autograders.readthedocs.io/en/latest/specs/)
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
NUMBER = {"type": "number"}
# A test's score (and so its status) may be left out where the submission has a top-level score: a written
# answer still to be graded by hand is such a test.
TEST_SCHEMA = {
    "type": "object",
    "required": ["max_score", "name", "number", "output", "tags", "visibility"],
    "dependentRequired": {"score": ["status"], "status": ["score"]},
    "additionalProperties": False,
    "properties": {
        "score": NUMBER,
        "max_score": NUMBER,
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "execution_time", "output", "visibility", "stdout_visibility", "tests"],
    "additionalProperties": False,
    "properties": {
        "score": NUMBER,
        "execution_time": NUMBER,
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST_SCHEMA},
        "leaderboard": {"type": "array", "items": {"type": "object", "required": ["name", "value"]}},
    },
}


def unpack(archive: Path, dest: Path) -> Path:
    """Extract as unzip would, modes included (zipfile itself drops them)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
    return dest


def mark_first_docstring(path: Path, mark: str) -> None:
    """Prefix the first function docstring of a grader or check (its display name) with ``mark``."""
    text = path.read_text("utf-8")
    marked = re.sub(r'(\n    """)', r"\1" + mark.replace("\\", r"\\"), text, count=1)
    assert marked != text
    path.write_text(marked, "utf-8")


def gradescope_root(archive: Path, root: Path, submission: dict[str, Path]) -> Path:
    """``/autograder`` as Gradescope lays it out: source/ (the zip), run_autograder copied beside it, submission/."""
    unpack(archive, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, notebook in submission.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, root / "submission" / name)
    mark_first_docstring(root / "source" / "autograder" / "graders" / AID / "test_getdummies.py", GRADER_MARK)
    return root


def run_autograder(root: Path, python: str = PYTHON, background: bool = False):
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), COURSE_PYTHON=python)
    env.pop("PYTHONPATH", None)
    args = dict(cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if background:
        return subprocess.Popen([str(root / "run_autograder")], **args)
    return subprocess.run([str(root / "run_autograder")], timeout=120, **args)


def bundle_python(where: Path) -> Path:
    """A Python with this environment's packages but not its editable ``autograder``: a venv whose one
    ``.pth`` line adds this environment's site-packages, where a ``.pth`` file is not read again (the
    editable install's finder would otherwise serve ``autograder.graders`` from the checkout to a
    bundle that has none)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    ours = subprocess.run([sys.executable, "-c", purelib], capture_output=True, text=True, check=True).stdout.strip()
    theirs = subprocess.run([str(python), "-c", purelib], capture_output=True, text=True, check=True).stdout.strip()
    # Python 3.11 reads a .pth file in the locale's encoding: under LC_ALL=C a clone in a CJK path could
    # not be named there, so the line names an ASCII link to it
    (where / "grading-site-packages").symlink_to(ours)
    Path(theirs, "grading-environment.pth").write_text(f"{where / 'grading-site-packages'}\n")
    return python


def check_with_bundle(python: Path, bundle: Path, notebook: Path) -> subprocess.Popen:
    """``course check`` as a student runs it: the bundle's own engine (its folder on the path and as cwd)."""
    env = dict(os.environ, PYTHONPATH=str(bundle))
    return subprocess.Popen([str(python), "-m", "autograder.cli", "check", str(notebook)], cwd=bundle, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def graded(runs, name: str) -> tuple[dict, str]:
    """The results.json that run_autograder wrote for ``name`` (checked against the schema) and its log;
    run_autograder must have exited 0, as Gradescope expects whatever the grade."""
    roots, finished = runs
    code, output = finished[name]
    assert code == 0, output
    return results_of(roots[name]), output


def results_of(root: Path) -> dict:
    data = json.loads((root / "results" / "results.json").read_text("utf-8"))
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


@pytest.fixture(scope="module")
def course():
    from autograder import course as courses

    return courses.load(ROOT)


@pytest.fixture(scope="module")
def zips(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return export.gradescope(course, AID, out), export.student(course, AID, out)


@pytest.fixture(scope="module")
def runs(zips, tmp_path_factory):
    """Start every grading at once; wait for all; hand back (roots, check outputs)."""
    gradescope_zip, student_zip = zips
    base = tmp_path_factory.mktemp("runs")
    roots = {
        "alice": gradescope_root(gradescope_zip, base / "alice" / "autograder",
                                 {"作業 1.ipynb": EXAMPLES / "alice" / AID / NOTEBOOK}),
        "bob": gradescope_root(gradescope_zip, base / "bob" / "autograder",
                               {NOTEBOOK: EXAMPLES / "bob" / AID / NOTEBOOK}),
        "empty": gradescope_root(gradescope_zip, base / "empty" / "autograder", {}),
    }
    bundle = unpack(student_zip, base / "bundle")
    mark_first_docstring(bundle / "autograder" / "checks" / AID / "test_public.py", CHECK_MARK)
    work = base / "student-work"
    work.mkdir()
    shutil.copy(EXAMPLES / "alice" / AID / NOTEBOOK, work / NOTEBOOK)
    started = {name: run_autograder(root, background=True) for name, root in roots.items()}
    python = bundle_python(base / "student-python")
    started["check blank"] = check_with_bundle(python, bundle, bundle / "release" / AID / NOTEBOOK)
    started["check alice"] = check_with_bundle(python, bundle, work / NOTEBOOK)
    finished = {}
    for name, proc in started.items():
        output, _ = proc.communicate(timeout=300)
        finished[name] = (proc.returncode, output)
    return roots, finished


# ---------------------------------------------------------------------------------------------- Gradescope
def test_gradescope_zip_holds_this_assignment_only(zips, course):
    gradescope_zip, _ = zips
    assert gradescope_zip.name == f"{AID}-gradescope.zip"
    with zipfile.ZipFile(gradescope_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        reduced = tomllib.loads(zf.read("course.toml").decode())
    names = set(infos)
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} is not executable"
    graders = ROOT / "autograder" / "graders"
    expected = {f"autograder/graders/{AID}/{p.relative_to(graders / AID).as_posix()}"
                for p in (graders / AID).rglob("*.py") if "__pycache__" not in p.parts}
    assert expected and expected <= names
    assert {"autograder/graders/__init__.py", "autograder/graders/pytest.ini", "autograder/graders/char_rnn.py",
            "autograder/checks/pytest.ini", f"autograder/checks/{AID}/test_public.py", "autograder/cli.py",
            "autograder/judge.py", f"source/{AID}/{NOTEBOOK}", f"release/{AID}/{NOTEBOOK}", "constraints.txt",
            "pyproject.toml", "course.toml", "gradescope_results.py"} <= names
    others = [a.id for a in course.assignments if a.id != AID]
    assert others
    for name in names:
        assert not any(f"/{other}/" in f"/{name}" for other in others), name
        assert not any(part in {"mutants", "examples", "tests", ".git", ".venv", "__pycache__", "solutions"}
                       for part in name.split("/")), name
    # the reference modules of the other assignments are their solutions: only 02's comes along
    assert {n for n in names if re.fullmatch(r"autograder/graders/[^/]+\.py", n)} == \
        {"autograder/graders/__init__.py", "autograder/graders/char_rnn.py"}
    assert [a["id"] for a in reduced["assignments"]] == [AID]
    assert reduced["grading"] == tomllib.loads((ROOT / "course.toml").read_text("utf-8"))["grading"]


def test_setup_sh_is_bash_and_installs_the_pinned_cpu_torch(zips, tmp_path):
    with zipfile.ZipFile(zips[0]) as zf:
        setup = zf.read("setup.sh").decode()
    pin = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text("utf-8"), re.MULTILINE).group(1)
    (tmp_path / "setup.sh").write_text(setup)
    proc = subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f'"torch=={pin}"' in setup
    assert "-c constraints.txt" in setup and "-e '.[grading]'" in setup
    assert "--extra-index-url \"https://download.pytorch.org/whl/cpu\"" in setup
    run = zipfile.ZipFile(zips[0]).read("run_autograder").decode()
    (tmp_path / "run_autograder").write_text(run)
    assert subprocess.run(["bash", "-n", str(tmp_path / "run_autograder")]).returncode == 0


def test_full_marks_from_a_renamed_notebook_graded_by_the_zips_engine(runs):
    roots, _ = runs
    data, output = graded(runs, "alice")
    graders, answers = data["tests"][:-1], data["tests"][-1:]
    assert data["score"] == 79 and sum(t["score"] for t in graders) == 79
    assert sum(t["max_score"] for t in graders) == 79
    assert all(t["status"] == "passed" for t in graders), data["output"]
    # her written answer: its points to come from a TA (Gradescope: a test with no score)
    assert [(t["max_score"], "score" in t) for t in answers] == [(6, False)]
    assert "作業 1.ipynb" in data["output"] and NOTEBOOK in data["output"]     # what was graded, and the right name
    # the graders that ran are the unpacked zip's (their names carry the mark), and so is the engine
    assert [t["name"].startswith(GRADER_MARK) for t in data["tests"]].count(True) == 1      # test_getdummies' first
    assert f"engine: {roots['alice'] / 'source' / 'autograder' / 'cli.py'}" in output


def test_partial_credit(runs):
    data, _ = graded(runs, "bob")
    assert data["score"] == 59 and sum(t.get("score", 0) for t in data["tests"]) == 59
    assert {t["status"] for t in data["tests"] if "score" in t} == {"passed", "failed"}
    assert "請命名為" not in data["output"]                                   # named right: no note


def test_empty_submission_scores_zero_and_says_why(runs):
    data, _ = graded(runs, "empty")
    assert data["score"] == 0
    assert data["tests"] and all(t["score"] == 0 and t["status"] == "failed" for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == 79 + 6        # the graders' and the written answer's
    assert f"沒有找到筆記本：請上傳 {NOTEBOOK} / no notebook was submitted: upload {NOTEBOOK}" in data["output"]


def test_a_crashing_engine_fails_closed(zips, tmp_path):
    root = gradescope_root(zips[0], tmp_path / "autograder", {NOTEBOOK: EXAMPLES / "alice" / AID / NOTEBOOK})
    (root / "source" / "autograder" / "cli.py").write_text("raise RuntimeError('the engine broke')\n")
    proc = run_autograder(root)
    assert proc.returncode == 0, proc.stdout
    data = results_of(root)
    assert data["score"] == 0 and all(t["score"] == 0 for t in data["tests"])
    assert "RuntimeError: the engine broke" in data["output"]
    assert "Traceback" not in data["output"]                                   # no grader source to students


@pytest.mark.parametrize("files, chosen", [
    (["a.ipynb", "b.ipynb"], None),                                     # two, neither named right: neither
    (["other.ipynb", f"folder/{NOTEBOOK}"], f"folder/{NOTEBOOK}"),      # the one named right, wherever it is
    ([".ipynb_checkpoints/x-checkpoint.ipynb", "__MACOSX/._y.ipynb", "作業.ipynb"], "作業.ipynb"),
], ids=["two-unnamed", "named-in-a-folder", "junk-ignored"])
def test_which_notebook_is_graded(zips, tmp_path, files, chosen):
    """The choice run_autograder makes, seen in its log (an engine that stops at once keeps this cheap)."""
    alice = EXAMPLES / "alice" / AID / NOTEBOOK
    root = gradescope_root(zips[0], tmp_path / "autograder", {name: alice for name in files})
    (root / "source" / "autograder" / "cli.py").write_text("raise SystemExit(3)\n")
    proc = run_autograder(root)
    what = root / "submission" / chosen if chosen else "(no notebook)"
    assert f"run_autograder: grading {what} as {AID}" in proc.stdout


def hostile_on_gradescope(zips, refuse: str = "") -> tuple[Path, subprocess.CompletedProcess, dict, dict]:
    """A blank notebook that plants pytest configuration, rewrites graders and leaves a daemon, graded by
    run_autograder as root without CAP_SYS_ADMIN (Docker's default) in a fake /autograder of its own;
    its walks confined to that folder. (root, run_autograder's process, the source's fingerprint before, after)."""
    import nbformat
    from autograder import validate
    from autograder.course import load

    root = Path(tempfile.mkdtemp(prefix="gradescope-", dir="/tmp")) / "autograder"
    root.parent.chmod(0o755)                      # open, as / is (confine.py would cover a closed one)
    corpus = {a.name: a for a in validate.attacks(load(ROOT), AID)}
    edits = [e for name in ("plant-pytest-config", "rewrite-graders", "daemon-rewrites-results")
             for e in corpus[name].edits]
    blank = nbformat.read(str(ROOT / "release" / AID / NOTEBOOK), as_version=4)
    hostile = root.parent / NOTEBOOK
    root.mkdir()
    nbformat.write(validate.attack_notebook(blank, edits, str(root)), str(hostile))
    gradescope_root(zips[0], root, {NOTEBOOK: hostile})
    # as run_autograder leaves it: its graders closed to other users (chmod -R go-rwx), and nothing else changed
    before = {name: re.sub(r"mode 100(\d)\d\d ", r"mode 100\g<1>00 ", value) if name.startswith("autograder/graders/")
              else value for name, value in fingerprint(root / "source").items()}
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), COURSE_PYTHON=PYTHON)
    env.pop("PYTHONPATH", None)
    reach = sum((["--reach", p] for p in (os.path.realpath(sys.base_prefix), sys.prefix, str(root))), [])
    started = time.time()
    proc = subprocess.run([PYTHON, str(ROOT / "tests" / "confine.py"), *reach, "--drop-sys-admin",
                           *(["--refuse", refuse] if refuse else []), "--", str(root / "run_autograder")],
                          cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    time.sleep(4)                                      # a daemon that survived would act now
    assert workers_running(set(), started) == []
    return root, proc, before, fingerprint(root / "source")


@pytest.mark.skipif(os.geteuid() != 0, reason="makes the environment as root")
def test_on_gradescope_without_cap_sys_admin_a_hostile_notebook_gets_its_own_zero(zips):
    root, proc, before, after = hostile_on_gradescope(zips)
    try:
        assert proc.returncode == 0, proc.stdout
        data = results_of(root)
        assert data["score"] == 0 and len(data["tests"]) > 5, data["output"]
        graders = data["tests"][:len(data["extra_data"]["nodeids"])]
        assert all(t["status"] == "failed" and "not implemented" in t["output"] for t in graders)
        assert {"uid", "landlock_fs", "seccomp"} <= set(data["extra_data"]["isolation"])
        assert data["extra_data"]["isolated"] is True
        assert after == before                       # no grader rewritten, no conftest.py or cache planted
        assert sorted(p.name for p in root.iterdir()) == ["results", "run_autograder", "source", "submission"]
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="makes the environment as root")
def test_on_gradescope_where_nothing_isolates_grading_refuses_with_a_zero_that_says_why(zips):
    # no Landlock and no namespaces: a uid of its own and graders closed to it are not enough, for the
    # worker could still write wherever others may (/tmp, /dev/shm, a course folder open to all)
    root, proc, before, after = hostile_on_gradescope(zips, refuse="landlock")
    try:
        assert proc.returncode == 0, proc.stdout
        data = results_of(root)
        assert data["score"] == 0 and "grading refused" in data["output"], data["output"]
        assert after == before
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


def test_the_note_on_ambiguous_submissions(runs, tmp_path):
    roots, _ = runs
    source = roots["bob"] / "source"
    proc = subprocess.run([PYTHON, "-I", str(source / "gradescope_results.py"), "finish",
                           str(roots["bob"] / "results" / "results.json"), str(tmp_path / "results.json"), NOTEBOOK,
                           "ambiguous", "x/a.ipynb", "b.ipynb"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "results.json").read_text("utf-8"))
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == 59
    assert f"none is named {NOTEBOOK}" in data["output"] and "a.ipynb, b.ipynb" in data["output"]


def test_without_a_python_it_still_writes_a_zero(zips, tmp_path):
    root = gradescope_root(zips[0], tmp_path / "autograder", {NOTEBOOK: EXAMPLES / "alice" / AID / NOTEBOOK})
    proc = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert proc.returncode == 0, proc.stdout
    data = results_of(root)
    assert data["score"] == 0 and "please tell your instructor" in data["output"]


def test_unknown_assignment(course, tmp_path):
    with pytest.raises(CourseError):
        export.gradescope(course, "99-nope", tmp_path)
    with pytest.raises(CourseError):
        export.student(course, "99-nope", tmp_path)


def test_zips_are_reproducible(course, tmp_path):
    first = export.student(course, AID, tmp_path / "first")
    again = export.student(course, AID, tmp_path / "again.zip")        # a .zip path is the file itself
    assert first == tmp_path / "first" / f"{AID}-student.zip" and again == tmp_path / "again.zip"
    assert first.read_bytes() == again.read_bytes()


# ---------------------------------------------------------------------------------------------- students
def solution_lines() -> list[str]:
    """Distinctive lines of the source notebook's solutions: absent from the release notebook."""
    def sources(path: Path) -> list[str]:
        return ["".join(c["source"]) for c in json.loads(path.read_text("utf-8"))["cells"]]

    release = "\n".join(sources(ROOT / "release" / AID / NOTEBOOK))
    lines = []
    for cell in sources(ROOT / "source" / AID / NOTEBOOK):
        for region in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell, re.S):
            lines += [s for s in (line.strip() for line in region.splitlines()) if len(s) >= 25 and s not in release]
    return lines


def test_student_bundle_holds_no_grader_and_no_solution(zips):
    _, student_zip = zips
    assert student_zip.name == f"{AID}-student.zip"
    with zipfile.ZipFile(student_zip) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert {"README.md", "course.toml", "pyproject.toml", "autograder/cli.py",
            "autograder/checks/pytest.ini", f"autograder/checks/{AID}/test_public.py", f"release/{AID}/{NOTEBOOK}"} \
        <= set(files)
    assert "constraints.txt" not in files             # a student's install takes lower bounds, not the grading pins
    assert "autograder/references.py" not in files    # the book's GetDummies, predict, ...: answers to blanks
    for name in files:
        parts = name.split("/")
        assert not {"graders", "mutants", "source", "solutions", "examples", "tests"} & set(parts[:-1]), name
    assert not any(n.startswith("autograder/checks/") and f"/{AID}/" not in n for n in files if "pytest.ini" not in n)
    texts = {}
    for name, data in files.items():
        text = data.decode("utf-8", "replace")
        if name.endswith(".ipynb"):                  # cell sources, not their JSON escapes
            text += "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        texts[name] = text
    lines = solution_lines()
    assert len(lines) >= 10                          # the check has something to look for
    for line in lines:
        leaks = [name for name, text in texts.items() if line in text]
        assert not leaks, f"solution line {line!r} in {leaks}"
    readme = texts["README.md"]
    assert "course check" in readme and "安裝" in readme and "Setup" in readme
    assert "Python 3.11 or newer" in readme and "torch 2.13.0" in readme and "keeps it" in readme
    # no grader file by name: not as a file, not named by the files that are not the engine's own modules
    graders = [p.name for p in (ROOT / "autograder" / "graders" / AID).glob("*.py")]
    assert graders
    assert not {Path(n).name for n in files} & set(graders) - {"__init__.py"}
    for name, text in texts.items():
        if not re.fullmatch(r"autograder/[^/]+\.py", name):
            assert not [g for g in graders if g in text], name


def test_student_bundle_checks_with_its_own_engine(runs):
    _, finished = runs
    code, output = finished["check blank"]
    assert code == 1, output
    assert "FAILED" in output and CHECK_MARK in output
    code, output = finished["check alice"]
    assert code == 0, output
    # the checks that ran are the unpacked bundle's (their names carry the mark), not the checkout's
    assert any(CHECK_MARK in line and "passed" in line for line in output.splitlines()), output
