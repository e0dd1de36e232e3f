"""Written questions: course.toml against the notebooks, the TA's copy of a submission, and the TA's points
in nbgrader's gradebook through nbgrader's own API (the formgrader, in Chromium: test_formgrader.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import nbformat
import pytest

from autograder import autograded, gradebook, written
from autograder.course import load
from autograder.messages import say
from autograder.model import Outcome, Result
from conftest import AID, ROOT

pytestmark = pytest.mark.usefixtures("course_language")

NOTEBOOK = "char-rnn"
QUESTION = "why_prefix"



def test_every_written_question_is_in_its_notebook_with_its_points_and_rubric(course):
    assert all(a.written for a in course.assignments)          # at least one per assignment
    for a in course.assignments:
        assert written.problems(course, a) == [], a.id
        for q in written.questions(course, a):
            assert q.title.startswith("書面題") and q.rubric and q.points == dict(a.written)[q.id]


def copy_of_course(tmp_path):
    shutil.copy(ROOT / "course.toml", tmp_path / "course.toml")
    for area in ("source", "release"):
        shutil.copytree(ROOT / area / AID, tmp_path / area / AID)
    return tmp_path / "source" / AID / f"{NOTEBOOK}.ipynb"


def test_a_notebook_that_disagrees_with_course_toml_is_named(tmp_path):
    path = copy_of_course(tmp_path)
    nb = nbformat.read(path, as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == QUESTION)
    answer.metadata.nbgrader["points"] = 5
    answer.source = answer.source.replace("評分標準", "評分")
    stray = nbformat.v4.new_markdown_cell("?")
    stray.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "stray", "points": 1}
    nb.cells.append(stray)
    nbformat.write(nb, path)
    course = load(tmp_path)
    found = "\n".join(written.problems(course, course.assignment(AID)))
    assert "worth 5 in the notebook, 6 in course.toml" in found and "no **評分標準 (rubric)**" in found
    assert "'stray' is graded by hand but not in course.toml" in found


def result(student: str, answer_state: str = "pending", score: float = 8.0) -> Result:
    r = Result(student=student, assignment=AID, path="x")
    r.tests = [Outcome("test_getdummies.py::test_shape", "shape", "GetDummies", 8.0, score,
                       "passed" if score == 8 else "failed", ""),
               Outcome("test_sample.py::test_dui[對]", "對", "sample", 2.0, 2.0, "passed", "")]
    r.written = [Outcome(written.PREFIX + QUESTION, "書面題", QUESTION, 6.0, 0.0, answer_state, "")]
    return r


def test_a_tas_points_stay_through_regrades_and_come_back_into_the_results(tmp_path, course):
    """nbgrader's API stands in for the formgrader: the TA's manual_score and comment are what it saves."""
    from nbgrader.api import Gradebook

    db = tmp_path / "gradebook.db"
    alice, bob = result("alice"), result("bob", "graded")
    gradebook.write(db, course, [alice, bob], {("bob", AID): gradebook.Answers(unanswered={QUESTION})})
    with Gradebook(gradebook.db_url(db)) as gb:
        cell = gb.find_grade_cell(QUESTION, NOTEBOOK, AID)
        assert (cell.cell_type, cell.max_score) == ("markdown", 6.0)
        assert gb.find_solution_cell(QUESTION, NOTEBOOK, AID)
        assert {c.name for c in gb.find_notebook(NOTEBOOK, AID).grade_cells} == {
            "getdummies.shape", "sample.dui-對", QUESTION}              # a case's brackets made selector-safe
        grade = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (None, None, True)
        blank = gb.find_grade(QUESTION, NOTEBOOK, AID, "bob")        # left as released: zero, nothing to do
        assert (blank.auto_score, blank.needs_manual_grade) == (0.0, False)
        grade.manual_score, grade.needs_manual_grade = 4.5, False      # what the formgrader's PUT does
        gb.find_comment(QUESTION, NOTEBOOK, AID, "alice").manual_comment = "少了第三點"
        gb.db.commit()

    regraded = [result("alice", score=0.0), result("bob", "graded")]
    found = gradebook.marks(db, course)                 # read before the regrade's results are written
    for r in regraded:
        gradebook.mark(r, found, set())
    gradebook.write(db, course, regraded, {("bob", AID): gradebook.Answers(unanswered={QUESTION})})
    alice, bob = regraded
    assert (alice.written[0].status, alice.written[0].score) == ("graded", 4.5) and "少了第三點" in alice.written[0].output
    assert (alice.score, alice.max_score, alice.pending) == (6.5, 16.0, [])
    assert (bob.written[0].status, bob.written[0].score) == ("graded", 0.0)
    with Gradebook(gradebook.db_url(db)) as gb:
        assert gb.find_submission_notebook(NOTEBOOK, AID, "alice").score == 6.5
        assert not gb.find_grade(QUESTION, NOTEBOOK, AID, "alice").needs_manual_grade

    changed = [result("alice")]                                          # she changed her answer since
    gradebook.mark(changed[0], gradebook.marks(db, course), {QUESTION})
    gradebook.write(db, course, changed, {("alice", AID): gradebook.Answers(changed={QUESTION})})
    assert changed[0].written[0].score == 4.5 and say("written_changed") in changed[0].written[0].output
    with Gradebook(gradebook.db_url(db)) as gb:
        grade = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
        assert grade.manual_score == 4.5 and grade.needs_manual_grade

    # the question gone from course.toml (a typo) would take her points with it: refused, nothing written
    renamed = dataclasses.replace(course, assignments=tuple(
        dataclasses.replace(a, written=(("why_prefx", 6.0),)) if a.id == AID else a for a in course.assignments))
    with pytest.raises(gradebook.GradebookError, match="a TA has graded it"):
        gradebook.write(db, renamed, [result("alice")])
    # a student id the formgrader would print as markup
    with pytest.raises(gradebook.GradebookError, match="student id"):
        gradebook.write(db, course, [result("<img src=x onerror=alert(1)>")])
    with Gradebook(gradebook.db_url(db)) as gb:
        assert gb.find_grade(QUESTION, NOTEBOOK, AID, "alice").manual_score == 4.5
        assert [s.id for s in gb.students] == ["alice", "bob"]


HOSTILE = ("<script>alert(1)</script> [x](javascript:alert(1)) [y](java&#115;cript:1) ![z](attachment:gone.png)\n"
           "### why_prefix\n> [i]: /api/contents\n![a][i] https://evil.example/x")


def test_the_tas_copy_carries_no_markup_and_only_the_courses_metadata(tmp_path, course):
    nb = nbformat.read(ROOT / "solutions" / AID / f"{NOTEBOOK}.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == QUESTION)
    answer.source = HOSTILE
    answer.metadata.nbgrader["points"] = 600                            # the student's metadata is not trusted
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": "<script>alert(2)</script>", "application/javascript": "alert(3)",
        "image/png": '" onerror="alert(4)', "text/plain": "<b>ok</b>"})]
    nb.cells.insert(1, code)
    r = result("mallory")
    path = autograded.write(tmp_path, course, r, nbformat.writes(nb))
    assert path == tmp_path / "autograded" / "mallory" / AID / f"{NOTEBOOK}.ipynb"
    copy = json.loads(path.read_text("utf-8"))
    graded = [c for c in copy["cells"] if "nbgrader" in c["metadata"]]
    assert [(c["metadata"]["nbgrader"]["grade_id"], c["metadata"]["nbgrader"]["points"]) for c in graded] == [
        (QUESTION, 6.0)]
    index = copy["cells"].index(graded[0])
    assert "評分標準" in copy["cells"][index + 1]["source"]              # the rubric, right after the answer
    assert "GetDummies" in copy["cells"][0]["source"]                    # the graders' verdicts on top
    markdown = "\n".join(c["source"] for c in copy["cells"] if c["cell_type"] == "markdown")
    assert "<script" not in markdown and "javascript:" not in markdown and "&#115;" not in markdown
    assert "![z](attachment:gone.png)" not in markdown                      # a missing attachment would stop nbconvert
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    html = markdown2html_mistune(graded[0]["source"])                   # as the formgrader renders her answer
    assert not re.search(r"<(script|img|a|h\d)\b|\bid=|href=|src=", html), html
    outputs = copy["cells"][2]["outputs"]
    assert outputs == [{"output_type": "display_data", "data": {"text/plain": "<b>ok</b>"}, "metadata": {}}]
    nbformat.validate(nbformat.reads(path.read_text("utf-8"), as_version=4))
    assert autograded.changed(tmp_path, course, r, nbformat.writes(nb)) == set()
    answer.source = HOSTILE + " more"
    assert autograded.changed(tmp_path, course, r, nbformat.writes(nb)) == {QUESTION}


def test_where_no_run_kept_a_notebook_the_answers_come_from_the_submission(tmp_path, course):
    """A worker that died or ran out of time leaves no executed notebook: the written answer is read from
    the file handed in and waits for a TA, not zero; a file that cannot be read has no answer to grade."""
    nb = nbformat.read(ROOT / "release" / AID / f"{NOTEBOOK}.ipynb", as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == QUESTION).source = "我的答案"
    handed_in = tmp_path / "a.ipynb"
    nbformat.write(nb, handed_in)
    broken = tmp_path / "b.ipynb"
    broken.write_text("{ not json", "utf-8")
    a = course.assignment(AID)
    assert [w.status for w in written.outcomes(course, a, written.submitted(handed_in))] == ["pending"]
    assert [(w.status, w.score) for w in written.outcomes(course, a, written.submitted(broken))] == [("graded", 0.0)]
