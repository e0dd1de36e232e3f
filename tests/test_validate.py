"""`course validate`: the graders are right — and validation itself fails when they are not."""

import pytest

from autograder import validate
from autograder.validate import Attack, Mutant, Variant

from conftest import AID

pytestmark = pytest.mark.slow          # validates every assignment: grades solutions, blanks, mutants, attacks


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


def test_validate_grades_each_attack_against_its_honest_twin(course, monkeypatch, tmp_path):
    """validate's own attack check, on three of the corpus's attacks and one planted to fail: an attack
    that earns more than its honest twin. (tests/test_attacks.py grades the whole corpus as a class in
    every environment the isolation policy names.)"""
    corpus = {a.name: a for a in validate.attacks(course, AID)}
    chosen = [corpus[name] for name in ("monkeypatch-comparisons", "os-exit-in-graded-function", "read-graders-from-disk")]
    planted = Attack("planted", "the solution, whose twin breaks sample: it earns more than its twin", [],
                     honest=[("sample", "    model.eval()\n", "    raise RuntimeError('broken')\n")])
    monkeypatch.setattr(validate, "catalogue", lambda aid: ([], []))
    monkeypatch.setattr(validate, "attacks", lambda course, aid: [*chosen, planted])
    walked = tmp_path / "walked"                 # the file-system attacks walk this folder, not the machine
    walked.mkdir()
    report, = validate.validate_all(course, [course.assignment(AID)], jobs=2, attack_root=str(walked))
    checks = {c.what: c for c in report.checks}
    for attack in chosen:
        assert checks[f"attack {attack.name}"].ok, checks[f"attack {attack.name}"].detail
    failed = checks["attack planted"]
    assert not failed.ok and "test_sample.py::" in failed.detail and "(honest: failed)" in failed.detail, failed.detail
    assert checks["solution"].ok and checks["blank"].ok and not report.ok


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
