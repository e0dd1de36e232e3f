"""A submission whose code sends the judge frames it cannot use, between two honest ones: the batch finishes,
with a result for every submission, and the honest ones keep their grades; an engine failure on one
submission ends that submission alone."""

import json

import nbformat
import pytest

from autograder import batch, judge, validate
from autograder.course import CourseError

from conftest import AID, ROOT, load_results, run_course


@pytest.mark.slow
def test_each_hostile_frame_between_two_honest_submissions(course, tmp_path):
    frames = [a for a in validate.attacks(course, AID) if a.name.startswith("frame-")]
    assert len(frames) >= 8
    solution = nbformat.read(str(ROOT / "source" / AID / "char-rnn.ipynb"), as_version=4)
    blank = nbformat.read(str(ROOT / "release" / AID / "char-rnn.ipynb"), as_version=4)
    students = {"a-honest": solution, "z-honest": solution}
    students.update({f"m-{a.name}": validate.attack_notebook({"solution": solution, "blank": blank}[a.base], a.edits,
                                                            str(tmp_path)) for a in frames})
    for student, nb in students.items():
        folder = tmp_path / "submitted" / student / AID
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / "char-rnn.ipynb"))
    out = tmp_path / "graded"
    proc = run_course("grade", tmp_path / "submitted", "--out", out, "--jobs", "1", "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows = (out / "gradebook.csv").read_text("utf-8").splitlines()
    assert len(rows) == 1 + len(students)
    honest = [load_results(out, s) for s in ("a-honest", "z-honest")]
    assert honest[0]["score"] == honest[1]["score"] == 72
    for student in students:
        result = load_results(out, student)
        assert result["tests"], student            # every grader has an outcome, whatever the frames did


def test_an_engine_failure_ends_that_submission_alone(course, monkeypatch, tmp_path):
    def broken(path, *args, **kwargs):
        raise KeyError("a bug of the engine's")

    monkeypatch.setattr(judge, "grade", broken)
    path = tmp_path / "s" / AID / "char-rnn.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nbformat.v4.new_notebook()), "utf-8")
    job = batch.Job("s", course.assignment(AID), path)
    result = batch.grade_one(course, job)
    assert "KeyError" in result.error and result.score == 0 and result.tests
    assert all(t.grader_error and t.status == "failed" for t in result.tests)

    def refuses(path, *args, **kwargs):
        raise CourseError("no graders")

    monkeypatch.setattr(judge, "grade", refuses)        # a failure of the whole run still stops the run
    with pytest.raises(CourseError):
        batch.grade_one(course, job)
