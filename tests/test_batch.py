"""Finding a class's submissions (``batch.discover``) in each layout `course grade` accepts, and sharding; an
engine failure on one submission ends that submission alone."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder import batch, judge
from autograder.course import CourseError

from conftest import AID


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}", "utf-8")
    return path


def found(jobs):
    return [(j.student, j.assignment.id, j.path.name) for j in jobs]


def test_a_class_in_nbgraders_layout(course, tmp_path):
    touch(tmp_path / "submitted" / "bob" / "02-char-rnn" / "char-rnn.ipynb")
    touch(tmp_path / "submitted" / "alice" / "03-lstm" / "lstm.ipynb")
    touch(tmp_path / "submitted" / "alice" / "01-rnn-foundations" / "rnn-foundations.ipynb")
    (tmp_path / "submitted" / "alice" / "scratch").mkdir()              # not an assignment: passed over
    (tmp_path / "submitted" / ".hidden" / "03-lstm").mkdir(parents=True)
    expected = [("alice", "01-rnn-foundations", "rnn-foundations.ipynb"), ("alice", "03-lstm", "lstm.ipynb"),
                ("bob", "02-char-rnn", "char-rnn.ipynb")]
    assert found(batch.discover(course, [tmp_path])) == expected
    assert found(batch.discover(course, [tmp_path / "submitted"])) == expected


def test_one_student_one_assignment_or_one_file(course, tmp_path):
    notebook = touch(tmp_path / "carol" / "03-lstm" / "lstm.ipynb")
    assert found(batch.discover(course, [tmp_path / "carol"])) == [("carol", "03-lstm", "lstm.ipynb")]
    assert found(batch.discover(course, [tmp_path / "carol" / "03-lstm"])) == [("carol", "03-lstm", "lstm.ipynb")]
    assert found(batch.discover(course, [notebook])) == [("carol", "03-lstm", "lstm.ipynb")]
    # a notebook named as in course.toml, anywhere: the student is the file's stem
    loose = touch(tmp_path / "loose" / "char-rnn.ipynb")
    assert found(batch.discover(course, [loose])) == [("char-rnn", "02-char-rnn", "char-rnn.ipynb")]


def test_a_submission_missing_its_notebook_is_still_a_job(course, tmp_path):
    (tmp_path / "dave" / "02-char-rnn").mkdir(parents=True)            # graded as "not submitted"
    jobs = batch.discover(course, [tmp_path])
    assert found(jobs) == [("dave", "02-char-rnn", "char-rnn.ipynb")] and not jobs[0].path.exists()


def test_what_is_not_a_class_is_an_error(course, tmp_path):
    with pytest.raises(CourseError, match="no such file or folder"):
        batch.discover(course, [tmp_path / "nowhere"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CourseError, match="no submissions in"):
        batch.discover(course, [tmp_path / "empty"])
    with pytest.raises(CourseError, match="cannot tell which assignment"):
        batch.discover(course, [touch(tmp_path / "homework.ipynb")])


def test_the_default_is_the_embedded_example_class(course):
    jobs = batch.discover(course, [])
    assert jobs and all(j.path.is_file() and "examples" in j.path.parts for j in jobs)
    assert jobs == sorted(jobs, key=lambda j: (j.student, j.assignment.id, str(j.path)))


def test_shards_cover_every_job_once(course):
    jobs = batch.discover(course, [])
    shards = [batch.shard(jobs, f"{k}/3") for k in (1, 2, 3)]
    assert sorted(sum(shards, []), key=jobs.index) == jobs and sum(map(len, shards)) == len(jobs)
    assert batch.shard(jobs, None) == jobs
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(CourseError):
            batch.shard(jobs, bad)


def test_an_engine_failure_ends_that_submission_alone(course, monkeypatch, tmp_path):
    def broken(path, *args, **kwargs):
        raise KeyError("a bug of the engine's")

    monkeypatch.setattr(judge, "grade", broken)
    path = tmp_path / "s" / AID / "char-rnn.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nbformat.v4.new_notebook()), "utf-8")
    job = batch.Job("s", course.assignment(AID), path)
    [result] = batch.grade_one(course, job)
    assert "KeyError" in result.error and result.score == 0 and result.tests
    assert all(t.grader_error and t.status == "failed" for t in result.tests)
    assert [w.status for w in result.written] == ["graded"]          # the answer left as released: zero

    def refuses(path, *args, **kwargs):
        raise CourseError("no graders")

    monkeypatch.setattr(judge, "grade", refuses)        # a failure of the whole run still stops the run
    with pytest.raises(CourseError):
        batch.grade_one(course, job)
