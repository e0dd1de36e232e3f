"""No answer exists in a worker, and course validate's probe would say so if one did (autograder.answers)."""

from pathlib import Path

import nbformat
import pytest

from autograder import answers, judge, references

from conftest import AID, ROOT


@pytest.fixture(scope="module")
def notebooks(course):
    assignment = course.assignment(AID)
    return (assignment, nbformat.read(str(assignment.path(course.root, "source")), as_version=4),
            nbformat.read(str(assignment.path(course.root, "release")), as_version=4))


def test_answers_are_fingerprinted_and_what_students_are_given_is_not(notebooks):
    _, source, release = notebooks
    lines, codes, anchors = answers.fingerprints(source, release)
    regions = answers.solution_regions(source)
    assert {"getdummies", "model", "train", "predict", "sample", "sample_next", "generate"} <= set(regions)
    solution = next(line for line in regions["train"].splitlines() if len(answers.normalised(line)) >= 30)
    assert lines[answers.line_hash(solution)] == "solution of train"
    assert lines[answers.line_hash("  " + solution.strip() + "   # said otherwise")] == "solution of train"
    given = next(line for c in release.cells if c.cell_type == "code" for line in c.source.splitlines()
                 if len(answers.normalised(line)) >= answers.MIN_LINE)
    assert answers.line_hash(given) not in lines                       # the release's own lines are no answer
    assert any(label == "reference getdummies" for label in lines.values())   # references.py is an answer too
    assert all(len(a) == answers.ANCHOR for a in anchors) and codes


GRADER = '''
import pytest

LEAK = {leak!r}


@pytest.mark.points(1, blank="GetDummies")
def test_leaks_an_answer(nb):
    """洩漏 / a grader that puts an answer in the worker"""
    nb.define("course_leaked", LEAK)
    nb.GetDummies([[0]], 2, 1, 1)
'''


@pytest.mark.parametrize("leak", ["solution", "reference"])
def test_the_probe_finds_an_answer_a_grader_puts_in_the_worker(course, notebooks, tmp_path, leak):
    """A grader that defines the solution of GetDummies (or a reference's code) in the worker, as the engine
    once did with the book's code: the probe, called by the next grader, finds it and says whose it is."""
    assignment, source, release = notebooks
    text = answers.solution_regions(source)["getdummies"]
    code = ("def course_leaked(sequence, dict_size, seq_len, batch_size):\n    import numpy as np\n"
            + "".join(f"    {line}\n" for line in text.splitlines())) if leak == "solution" else \
        answers.reference_sources()["getdummies"].replace("def getdummies", "def course_leaked")
    folder = tmp_path / "graders" / AID
    folder.mkdir(parents=True)
    (folder.parent / "pytest.ini").write_text((ROOT / "autograder" / "graders" / "pytest.ini").read_text())
    (folder / "test_leak.py").write_text(GRADER.format(leak=code), "utf-8")
    nbformat.write(answers.probe_notebook(source, release), str(tmp_path / "probe.ipynb"))
    result = judge.grade(tmp_path / "probe.ipynb", assignment, course, folder=folder)
    ok, detail = answers.verdict(result.output)
    assert not ok, detail
    assert ("solution of getdummies" if leak == "solution" else "reference getdummies") in detail, detail
