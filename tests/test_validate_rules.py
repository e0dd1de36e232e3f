"""How `course validate` reads grades: a mutant is charged to its own blank only, and no blank that fails
its public check keeps full marks in the hidden graders (grades made here, nothing graded)."""

from autograder import validate
from autograder.model import Outcome, Result
from autograder.validate import Mutant

from conftest import AID


def result(*outcomes) -> Result:
    return Result(student="s", assignment=AID, path="x.ipynb", tests=list(outcomes))


def passed(nodeid, blank, points=1.0) -> Outcome:
    return Outcome(nodeid, nodeid, blank, points, points, "passed")


def failed(nodeid, blank, output="wrong", points=1.0) -> Outcome:
    return Outcome(nodeid, nodeid, blank, points, 0.0, "failed", output)


def read(course, graded: dict, loses="train"):
    work = validate.Plan(course.assignment(AID), validate.Report(AID))
    work.tasks = [(name, "x.ipynb") for name in graded]
    work.mutants = {"m": Mutant("m", "a mistake in train", [], loses=loses)}
    return {check.what: check for check in validate.verdicts(work, graded).checks}


def test_a_mutant_caught_on_its_blank_alone_passes(course):
    checks = read(course, {"mutant m": result(failed("t::a", "train"), passed("t::b", "sample")),
                           "public mutant m": result(failed("p::a", "train"), passed("p::b", "sample"))})
    assert checks["mutant m"].ok, checks["mutant m"].detail


def test_a_mutant_also_charged_to_the_blank_that_calls_it_fails(course):
    checks = read(course, {"mutant m": result(failed("t::a", "train"), failed("t::b", "sample"))})
    assert not checks["mutant m"].ok and "ALSO charged to sample" in checks["mutant m"].detail


def test_a_blank_failing_its_public_check_must_lose_hidden_points(course):
    # the mutant is caught on train, but sample's public check fails while sample keeps full marks
    graded = {"mutant m": result(failed("t::a", "train"), passed("t::b", "sample")),
              "public mutant m": result(passed("p::a", "train"), failed("p::b", "sample", "sample(net, 4, '對') ≠ 對酒當歌"))}
    check = read(course, graded)["mutant m"]
    assert not check.ok and "sample fails its public check (sample(net, 4, '對') ≠ 對酒當歌) but keeps full marks" \
        in check.detail
    # a variant (correct by definition) that a public check rejects is flagged the same way
    variant = read(course, {"variant v": result(passed("t::a", "train")),
                            "public variant v": result(failed("p::a", "train", "too strict"))})["variant v"]
    assert not variant.ok and "train fails its public check (too strict)" in variant.detail


def test_the_solution_must_pass_every_public_check(course):
    check = read(course, {"solution": result(passed("t::a", "train")),
                          "public solution": result(failed("p::a", "train", "nope"))})["solution"]
    assert not check.ok and "the solution fails a public check" in check.detail


def test_laxer_than_public_names_only_the_blanks_kept_whole():
    hidden = result(failed("t::a", "train"), passed("t::b", "sample"), passed("t::c", "predict"))
    public = result(failed("p::a", "train"), failed("p::b", "sample", "first line\nsecond"), passed("p::c", "predict"))
    assert validate.laxer_than_public(hidden, public) == ["sample fails its public check (first line) but keeps full marks"]
