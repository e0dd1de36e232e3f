"""`course validate`: the graders are right — and validation itself fails when they are not."""

import pytest

from autograder import validate
from autograder.validate import Mutant, Variant

from conftest import AID

pytestmark = pytest.mark.slow          # validates every assignment: grades solutions, blanks, mutants, the corpus


def test_validate_passes_for_every_assignment(validation, course):
    validation, _ = validation
    assert validation.returncode == 0, validation.stdout + validation.stderr
    assert "validation passed" in validation.stdout
    for assignment in course.assignments:
        assert f"== {assignment.id}" in validation.stdout
        mutants, variants = validate.catalogue(assignment.id)
        assert len(mutants) >= 10 and len(variants) >= 4, assignment.id
        for m in mutants:
            assert f"mutant {m.name}" in validation.stdout


def test_every_attack_of_the_corpus_gets_its_expected_outcome(validation, course):
    validation, _ = validation
    attacks = validate.attacks(course, AID)
    assert len(attacks) >= 25
    lines = [line for line in validation.stdout.splitlines() if " attack " in line]
    assert len(lines) == len(attacks)
    failed = [line for line in lines if "FAIL" in line]
    assert not failed, "\n".join(failed)


def test_validate_catches_a_mutant_that_is_not_caught_and_a_variant_that_is_wrong(course, monkeypatch):
    harmless = Mutant("harmless", "changes nothing a grader can see", [("sample", "    model.eval()\n", "")],
                      loses="sample")
    wrong = Variant("wrong", "is not correct", [("sample", "range(out_len - len(chars))", "range(1)")])
    monkeypatch.setattr(validate, "catalogue", lambda aid: ([harmless], [wrong]))
    report = validate.validate(course, course.assignment(AID), jobs=1, corpus=False)
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
