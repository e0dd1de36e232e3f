"""`course validate`: the graders are right — and validation itself fails when they are not."""

from autograder import validate
from autograder.validate import Mutant, Variant

from conftest import AID, run_course


def test_validate_passes_for_every_assignment():
    proc = run_course("validate", "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validation passed" in proc.stdout
    mutants, variants = validate.catalogue(AID)
    assert len(mutants) >= 16 and len(variants) >= 5
    for m in mutants:
        assert f"mutant {m.name}" in proc.stdout


def test_validate_catches_a_mutant_that_is_not_caught_and_a_variant_that_is_wrong(course, monkeypatch):
    harmless = Mutant("harmless", "changes nothing a grader can see", [("sample", "    model.eval()\n", "")],
                      loses="sample")
    wrong = Variant("wrong", "is not correct", [("sample", "range(out_len - len(chars))", "range(1)")])
    monkeypatch.setattr(validate, "catalogue", lambda aid: ([harmless], [wrong]))
    report = validate.validate(course, course.assignment(AID), jobs=1)
    verdicts = {c.what: c.ok for c in report.checks}
    assert verdicts["solution"] and verdicts["blank"] and verdicts["points"]
    assert verdicts["mutant harmless"] is False and verdicts["variant wrong"] is False
    assert not report.ok


def test_a_stale_catalogue_is_an_error(course):
    import nbformat
    import pytest

    from autograder.course import CourseError

    source = nbformat.read(str(course.assignment(AID).path(course.root, "source")), as_version=4)
    with pytest.raises(CourseError, match="occurs 0 times"):
        validate.apply(source, [("train", "no such text", "x")])
