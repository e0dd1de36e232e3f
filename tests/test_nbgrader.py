"""nbgrader itself reads what we make: our gradebook.db through `nbgrader export`, the release notebooks
through `nbgrader validate`, and JupyterLab opens them.

Every nbgrader and Jupyter command here is the real one, run in a subprocess with this environment's
``bin`` first on PATH (nbgrader finds ``alembic`` there, and the kernel spec's ``python`` is this
environment's) and Jupyter's user folders in a temporary folder (so no kernel spec or config of the
machine's user shadows this environment's).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from autograder import gradebook, results

from conftest import AID, ROOT

pytestmark = pytest.mark.slow          # runs nbgrader and JupyterLab themselves

BIN = Path(sys.executable).parent
NOTEBOOK = "char-rnn.ipynb"
STUDENTS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def jupyter_env(home: Path) -> dict[str, str]:
    """The environment of a Jupyter or nbgrader command: this venv's programs and kernel (and a UTF-8
    locale, as the engine gives nbgrader), nobody's config."""
    with gradebook.nbgrader_environment():
        env = dict(os.environ)
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    for name, folder in (("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        env[name] = str(home / folder)
    env.pop("JUPYTER_CONFIG_PATH", None)
    return env


def nbgrader(*args, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "nbgrader"), *map(str, args)], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err


# --------------------------------------------------------------------------- gradebook.db

@pytest.fixture(scope="module")
def graded(example_grades):
    """Every result of the example class, and its gradebook.csv by (student, assignment)."""
    proc, out = example_grades
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded = [results.load(path) for path in sorted(out.glob("*/*/results.json"))]
    assert loaded and None not in loaded
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as f:
        rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(f)}
    return loaded, rows


def test_course_grade_gradebook_writes_every_score_into_nbgraders_database(graded, example_grades):
    from nbgrader.api import SubmittedAssignment

    loaded, rows = graded
    db = example_grades[1] / "gradebook.db"        # `course grade --gradebook` in the shared fixture
    assert rows_of(db)["submissions"] == len(rows) == 18
    with opened(db) as gb:
        for submission in gb.db.query(SubmittedAssignment):
            row = rows[(submission.student.id, submission.assignment.name)]
            assert (submission.score, submission.max_score) == pytest.approx((float(row["score"]), float(row["max_score"])))


@pytest.fixture(scope="module")
def empty_db(course, tmp_path_factory) -> Path:
    """A new gradebook, made by ``gradebook.write`` with no results, as `course grade` would make it
    from a venv that is not activated (nbgrader stamps a new database by running `alembic`, which
    must be found on PATH). Tests copy it: stamping takes seconds."""
    path = tmp_path_factory.mktemp("empty") / "new" / "gradebook.db"
    saved = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join(p for p in saved.split(os.pathsep) if Path(p) != BIN and Path(p).is_dir()
                                         and not (Path(p) / "alembic").exists())
    try:
        gradebook.write(path, course, [])
    finally:
        os.environ["PATH"] = saved
    assert path.is_file() and rows_of(path)["assignments"] == 0
    return path


def opened(db: Path):
    """nbgrader's Gradebook on ``db``, read as `nbgrader export` reads it (no course row added)."""
    from nbgrader.api import Gradebook

    return Gradebook(gradebook.db_url(db), course_id="")


def fresh_db(empty_db: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(empty_db, folder / "gradebook.db"))


def rows_of(db: Path) -> dict[str, int]:
    from nbgrader.api import GradeCell, Grade, SubmittedAssignment, SubmittedNotebook

    with opened(db) as gb:
        return {"students": len(gb.students), "assignments": len(gb.assignments),
                "grade_cells": gb.db.query(GradeCell).count(),
                "submissions": gb.db.query(SubmittedAssignment).count(),
                "submitted_notebooks": gb.db.query(SubmittedNotebook).count(),
                "grades": gb.db.query(Grade).count()}


def changed_once(loaded):
    """The results with one grader of bob's char-rnn given full marks: (results, new total)."""
    out = []
    total = None
    for r in loaded:
        if (r.student, r.assignment) == ("bob", AID):
            n, t = next((n, t) for n, t in enumerate(r.tests) if t.score < t.max_score)
            tests = list(r.tests)
            tests[n] = dataclasses.replace(t, score=t.max_score, status="passed")
            r = dataclasses.replace(r, tests=tests)
            total = r.score
        out.append(r)
    return out, total


def export(db: Path, folder: Path) -> subprocess.Popen:
    """`nbgrader export` in a course folder whose nbgrader_config.py points at ``db``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.db_url = {gradebook.db_url(db)!r}\n", "utf-8")
    return nbgrader("export", "--to", "grades.csv", cwd=folder, env=jupyter_env(folder / "home"))


def exported(folder: Path) -> dict[tuple[str, str], tuple[float, float]]:
    with open(folder / "grades.csv", encoding="utf-8", newline="") as f:
        return {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def written(graded, course, empty_db, tmp_path_factory):
    """The class written once (``once``), and written, regraded with one change and written again
    (``twice``); both exported by `nbgrader export` side by side."""
    loaded, _ = graded
    tmp = tmp_path_factory.mktemp("gradebook")
    once = fresh_db(empty_db, tmp / "once")
    gradebook.write(once, course, loaded)
    twice = fresh_db(empty_db, tmp / "twice")
    gradebook.write(twice, course, loaded)
    before = rows_of(twice)
    regraded, new_total = changed_once(loaded)
    gradebook.write(twice, course, regraded)
    procs = {name: export(db, tmp / f"export-{name}") for name, db in (("once", once), ("twice", twice))}
    finished = {name: finish(proc) for name, proc in procs.items()}
    for name, (code, out, err) in finished.items():
        assert code == 0, f"nbgrader export ({name}) failed:\n{out}\n{err}"
    return {"once": once, "twice": twice, "rows_before": before, "new_total": new_total,
            "export_once": exported(tmp / "export-once"), "export_twice": exported(tmp / "export-twice")}


def test_nbgrader_export_gives_our_gradebook(graded, written):
    _, ours = graded
    theirs = written["export_once"]
    assert set(theirs) == set(ours) == {(s, a) for s in STUDENTS
                                        for a in ("01-rnn-foundations", AID, "03-lstm")}
    for key, row in ours.items():
        # nbgrader adds up the cases' points itself (0.6 five times is not exact in binary): to round-off
        assert theirs[key] == pytest.approx((float(row["score"]), float(row["max_score"]))), key
    assert theirs[("alice", AID)] == (79.0, 85.0) and theirs[("bob", AID)] == (59.0, 85.0)   # written: pending


def test_every_grader_is_a_grade_cell_and_every_student_a_submission(graded, written, course):
    loaded, _ = graded
    with opened(written["once"]) as gb:
        for a in course.assignments:
            assert sorted(s.student.id for s in gb.assignment_submissions(a.id)) == STUDENTS
            notebook = gb.find_notebook(Path(a.notebook).stem, a.id)
            graders = next(r for r in loaded if r.assignment == a.id and r.student == "alice").tests
            assert {c.name: c.max_score for c in notebook.grade_cells} == {
                gradebook.cell_name(t.nodeid): t.max_score for t in graders} | dict(a.written)
            assert all(c.cell_type == ("markdown" if c.name in a.written_ids else "code") for c in notebook.grade_cells)
            assert {c.name for c in notebook.solution_cells} == a.written_ids     # the formgrader's comment boxes
        assert "model.recurrent" in {c.name for c in gb.find_notebook("char-rnn", AID).grade_cells}
        # frank's notebooks are not JSON: graded as errors, every grader a zero, nothing left to review
        frank = gb.find_submission_notebook("char-rnn", AID, "frank")
        assert frank.grades and all(g.auto_score == 0.0 and not g.needs_manual_grade for g in frank.grades
                                    if g.cell.cell_type == "code")
        alice = gb.find_submission_notebook("char-rnn", AID, "alice")
        assert all(g.auto_score == g.max_score for g in alice.grades if g.cell.cell_type == "code")
        assert [(g.auto_score, g.needs_manual_grade) for g in alice.grades if g.cell.cell_type == "markdown"] == [
            (None, True)]                                                    # her written answer waits for a TA


def test_the_formgrader_lists_every_submission(graded, written, course, tmp_path):
    """What nbgrader's formgrader shows comes from its NbGraderAPI: the course's assignments (the
    ``source/`` folders) and, from the database, each one's submissions, autograded, with our scores."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    _, ours = graded
    for a in course.assignments:
        (tmp_path / "source" / a.id).mkdir(parents=True)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.db_url = gradebook.db_url(written["once"])
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert [a["name"] for a in api.get_assignments()] == [a.id for a in course.assignments]
    for a in course.assignments:
        listed = api.get_submissions(a.id)
        assert [(s["student"], s["autograded"]) for s in listed] == [(s, True) for s in STUDENTS]
        assert {s["student"]: s["score"] for s in listed} == pytest.approx({s: float(ours[s, a.id]["score"])
                                                                            for s in STUDENTS})


def test_regrading_updates_and_never_duplicates(written):
    before = written["rows_before"]
    assert rows_of(written["twice"]) == before
    assert (before["students"], before["assignments"], before["submissions"], before["submitted_notebooks"]) == (6, 3, 18, 18)
    assert before["grades"] == 6 * before["grade_cells"]       # one grade per grader and student
    once, twice = written["export_once"], written["export_twice"]
    assert twice[("bob", AID)] == (written["new_total"], 85.0) and written["new_total"] > once[("bob", AID)][0]
    assert {k: v for k, v in twice.items() if k != ("bob", AID)} == {k: v for k, v in once.items() if k != ("bob", AID)}


def test_a_renamed_grader_replaces_its_grade_cell(graded, course, empty_db, tmp_path):
    """Only alice regraded after a grader was renamed: the old cell goes, every submission gets the new
    one (bob's ungraded, for a look in the formgrader), and the row counts stay."""
    loaded, _ = graded
    char_rnn = [r for r in loaded if r.assignment == AID]
    db = fresh_db(empty_db, tmp_path)
    gradebook.write(db, course, char_rnn)
    before = rows_of(db)
    alice = next(r for r in char_rnn if r.student == "alice")
    tests = list(alice.tests)
    old = results.grader_key(tests[-1].nodeid)
    tests[-1] = dataclasses.replace(tests[-1], nodeid=tests[-1].nodeid + "_renamed")
    new = results.grader_key(tests[-1].nodeid)
    gradebook.write(db, course, [dataclasses.replace(alice, tests=tests)])
    assert rows_of(db) == before
    with opened(db) as gb:
        names = {c.name for c in gb.find_notebook("char-rnn", AID).grade_cells}
        assert new in names and old not in names
        assert gb.find_grade(new, "char-rnn", AID, "alice").auto_score == tests[-1].score
        bob = gb.find_grade(new, "char-rnn", AID, "bob")
        assert bob.auto_score is None and bob.needs_manual_grade


def test_an_assignment_of_nbgrader_generate_assignment_is_refused(graded, course, empty_db, tmp_path):
    """Its grade cells are the notebook's visible checks: ours beside them would count it twice."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    db = fresh_db(empty_db, tmp_path)
    shutil.copytree(ROOT / "source" / AID, tmp_path / "source" / AID)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.db_url = gradebook.db_url(db)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = AID
    GenerateAssignment(coursedir=coursedir, config=config).start()
    before = rows_of(db)
    with opened(db) as gb:
        cells = {c.name: c.max_score for c in gb.find_notebook("char-rnn", AID).grade_cells}
    assert cells["check-Model"] == 14 and sum(cells.values()) == 85 and cells["why_prefix"] == 6

    loaded, _ = graded
    with pytest.raises(gradebook.GradebookError, match="generate_assignment"):
        gradebook.write(db, course, loaded)
    assert rows_of(db) == before          # nothing written, not even the other assignments
    with opened(db) as gb:
        assert {c.name: c.max_score for c in gb.find_notebook("char-rnn", AID).grade_cells} == cells
        assert gb.assignment_submissions(AID) == []


def test_db_url_takes_a_path_or_a_url(tmp_path):
    assert gradebook.db_url(tmp_path / "a" / "g.db") == f"sqlite:///{tmp_path / 'a' / 'g.db'}"
    assert (tmp_path / "a").is_dir()
    assert gradebook.db_url("postgresql://u@h/db") == "postgresql://u@h/db"


# --------------------------------------------------------------------------- nbgrader validate

# Each validation is a kernel importing torch and running the notebook: about 12 s of this file for
# 01-rnn-foundations (measured), 25 s for 03-lstm (its experiment), so only 02-char-rnn runs here.
FILLED = [AID]                               # alice's, full marks
BLANK = {AID: "Model.__init__"}              # the release, and a stub its checks report


@pytest.fixture(scope="module")
def validations(course, tmp_path_factory):
    """`nbgrader validate` on alice's filled-in notebooks and on the blank release notebooks, side by side."""
    tmp = tmp_path_factory.mktemp("validate")
    env = jupyter_env(tmp / "home")
    kernels = subprocess.run([str(BIN / "jupyter"), "kernelspec", "list", "--json"], env=env, cwd=tmp,
                             capture_output=True, text=True, timeout=120)
    assert kernels.returncode == 0, kernels.stderr
    procs = {}
    cases = [(aid, "filled", "examples/submitted/alice") for aid in FILLED] + [(aid, "blank", "release") for aid in BLANK]
    for aid, kind, area in cases:
        notebook = course.assignment(aid).notebook
        folder = tmp / aid / kind
        folder.mkdir(parents=True)
        shutil.copy(ROOT / area / aid / notebook, folder / notebook)
        procs[aid, kind] = nbgrader("validate", "--ExecutePreprocessor.kernel_name=python3", notebook,
                                    cwd=folder, env=env)
    return {"kernels": json.loads(kernels.stdout), "env": env,
            **{key: finish(proc) for key, proc in procs.items()}}


def test_the_kernel_is_this_environments_python(validations):
    spec = validations["kernels"]["kernelspecs"]["python3"]
    assert Path(spec["resource_dir"]).resolve().is_relative_to(Path(sys.prefix).resolve())
    program = spec["spec"]["argv"][0]
    found = shutil.which(program, path=validations["env"]["PATH"])
    assert found and os.path.samefile(Path(found).parent, BIN), found


@pytest.mark.parametrize("aid", FILLED)
def test_nbgrader_validate_passes_a_filled_in_notebook(validations, aid):
    code, out, err = validations[aid, "filled"]
    assert code == 0, out + err
    assert "Success! Your notebook passes all the tests." in out, out + err
    assert "VALIDATION FAILED" not in out and "CHANGED" not in out


@pytest.mark.parametrize("aid", BLANK)
def test_nbgrader_validate_fails_the_blank_release(validations, course, aid):
    """Every visible check of the blank fails, the stubs saying what to fill in; every written answer is
    "not provided" (nbgrader's word for an answer cell left as released)."""
    import nbformat

    code, out, err = validations[aid, "blank"]
    assert code == 0, out + err           # nbgrader validate reports in its output, not its exit status
    blank = nbformat.read(str(course.assignment(aid).path(ROOT, "release")), as_version=4)
    checks = [c for c in blank.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    written = course.assignment(aid).written
    assert f"VALIDATION FAILED ON {len(checks) + len(written)} CELL(S)!" in out, out + err
    assert out.count("You did not provide a response.") == len(written) > 0
    assert f"NotImplementedError: {BLANK[aid]}" in out
    assert "Success!" not in out and "CHANGED" not in out


# --------------------------------------------------------------------------- JupyterLab

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str, method: str = "GET", body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def run_in_kernel(url: str, code: str, timeout: float = 120) -> str:
    """Run ``code`` in a kernel through the server's websocket (Jupyter's JSON protocol); its stdout."""
    import uuid

    import websocket     # websocket-client, a dependency of jupyter_server

    ws = websocket.create_connection(url, timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        stdout = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream" and msg["content"]["name"] == "stdout":
                stdout.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError(f"the kernel failed: {msg['content']}")
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(stdout)
        raise AssertionError(f"no answer from the kernel in {timeout} s")
    finally:
        ws.close()


@contextlib.contextmanager
def jupyter(command: str, root: Path, home: Path, *options: str):
    """``jupyter <command>`` (lab, server) on a free port of 127.0.0.1 serving ``root``, as this venv runs
    it; yields its base URL and token once it answers, and stops it after."""
    token, port = secrets.token_hex(16), free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = home.parent / f"{command}.log"
    log = open(log_path, "w+")
    proc = subprocess.Popen([str(BIN / "jupyter"), command, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
                             f"--ServerApp.root_dir={root}", *options],
                            cwd=root, env=jupyter_env(home), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"jupyter {command} exited:\n{log_path.read_text()}"
            try:
                if get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter {command} did not start:\n{log_path.read_text()}"
            time.sleep(0.2)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_jupyterlab_opens_the_release_and_starts_a_kernel(tmp_path):
    shutil.copytree(ROOT / "release", tmp_path / "release")
    with jupyter("lab", tmp_path / "release", tmp_path / "home") as (base, token):
        port = base.rsplit(":", 1)[1]
        status, page = get(f"{base}/lab", token)
        assert status == 200 and b"jupyter-config-data" in page

        status, body = get(f"{base}/api/contents/{AID}/{NOTEBOOK}", token)
        assert status == 200
        model = json.loads(body)
        assert model["type"] == "notebook" and model["format"] == "json"
        cells = model["content"]["cells"]
        ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]
        assert {"getdummies", "check-Model", "train", "sample"} <= set(ids)
        assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"

        status, body = get(f"{base}/api/kernels", token, "POST", {"name": "python3"})
        assert status == 201, body
        kernel = json.loads(body)["id"]
        printed = run_in_kernel(f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={token}",
                                "import sys; print(sys.prefix)")
        assert Path(printed.strip()).resolve() == Path(sys.prefix).resolve()     # this environment's python
        status, body = get(f"{base}/api/kernels/{kernel}", token)
        assert status == 200 and json.loads(body)["execution_state"] == "idle", body
        assert get(f"{base}/api/kernels/{kernel}", token, "DELETE")[0] == 204
