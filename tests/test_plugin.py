"""The grading plugin on graders of a test's own: points (split across parametrized cases), names, seeds,
and how each kind of exception becomes an outcome; and the toolkit's value comparison."""

from __future__ import annotations

import contextlib

import pytest
import torch

from autograder import judge
import autograder.graders.rnn_foundations  # noqa: F401 (registers the hints used below)
from autograder.course import GraderSetupError
from autograder.limits import Limits
from autograder.messages import Message, msg
from autograder.plugin import describe_exception
from autograder.protocol import Failure
from autograder.submission import StudentError
from autograder.worker_process import WorkerLost
from autograder.toolkit import Fail, expect_values, first_match, size_ids

GRADERS = '''
import pytest
from autograder.toolkit import fail


@pytest.mark.points(3, blank="add")
def test_adds(nb):
    """加法 / adds"""
    if nb.add(1, 2) != 3:
        fail("expected_got", what="add(1, 2)", expected=3, got=nb.add(1, 2))


@pytest.mark.points(3, blank="add")
@pytest.mark.parametrize("a", [0, 1, -5], ids=["zero", "one", "negative"])
def test_identity(nb, a):
    """加 0 不變 / adding 0 changes nothing"""
    assert nb.add(a, 0) == a, f"add({a}, 0) != {a}"


@pytest.mark.parametrize("blank", [
    pytest.param("add", marks=pytest.mark.points(2, blank="add"), id="add"),
    pytest.param("neg", marks=pytest.mark.points(1, blank="neg"), id="neg"),
])
def test_callable(nb, blank):
    """是函式 / is a function"""
    getattr(nb, blank)(1, 1) if blank == "add" else getattr(nb, blank)(1)


@pytest.mark.points(1, blank="neg")
def test_grader_bug(nb):
    """評分程式自己的錯誤 / a bug of the grader's"""
    {}["missing"]


@pytest.mark.points(1)
def test_seed(nb, retry_seeds):
    """種子 / the seed"""
    import random
    nb.record(random.random())
'''


class FakeSubmission:
    """The submission's interface as the plugin uses it: globals by name, reseeding, its limits."""

    def __init__(self, globals_: dict):
        self.globals = globals_
        self.limits = Limits()
        self.seeds: list[int] = []
        self.recorded: list[float] = []
        self.globals["record"] = self.recorded.append
        self.active: dict = {}                 # the references in force (see ``overriding``)
        self.seen: dict = {}                   # name looked up → the references in force then

    def lookup(self, name):
        self.seen.setdefault(name, dict(self.active))
        if name not in self.globals:
            raise StudentError(Failure("NameError", f"name '{name}' is not defined"))
        return self.globals[name]

    def reseed(self, seed):
        self.seeds.append(seed)

    @contextlib.contextmanager
    def overriding(self, **references):
        previous, self.active = self.active, references
        try:
            yield
        finally:
            self.active = previous

    @contextlib.contextmanager
    def scope(self):
        self.scopes = getattr(self, "scopes", 0) + 1
        yield

    def time_limit(self, seconds):
        raise NotImplementedError


def not_implemented(*args):
    raise StudentError(Failure("NotImplementedError", "add：請完成這個函式"))


@pytest.fixture
def graders(tmp_path):
    folder = tmp_path / "graders" / "demo"
    folder.mkdir(parents=True)
    (folder.parent / "pytest.ini").write_text("[pytest]\nmarkers =\n    points(n, blank): points\n", "utf-8")
    (folder / "test_demo.py").write_text(GRADERS, "utf-8")
    return folder


def grade(folder, globals_, untouched=frozenset(), references=None):
    submission = FakeSubmission(globals_)
    plugin = judge.run_graders(folder, submission, (0,), untouched, references)
    return {nodeid.split("::")[1]: plugin.outcomes[nodeid] for nodeid in plugin.order}, submission


def test_points_split_across_cases_unless_a_case_has_its_own(graders):
    outcomes = {t.nodeid.split("::")[1]: t for t in judge.catalogue(graders)}
    assert {name: t.max_score for name, t in outcomes.items()} == {
        "test_adds": 3.0, "test_identity[zero]": 1.0, "test_identity[one]": 1.0, "test_identity[negative]": 1.0,
        "test_callable[add]": 2.0, "test_callable[neg]": 1.0, "test_grader_bug": 1.0, "test_seed": 1.0}
    assert outcomes["test_callable[neg]"].blank == "neg" and outcomes["test_callable[add]"].blank == "add"
    assert outcomes["test_identity[negative]"].name.endswith("[negative]")


def test_each_case_is_graded_on_its_own(graders):
    outcomes, _ = grade(graders, {"add": lambda a, b: a + b if a >= 0 else a, "neg": lambda a: -a})
    assert outcomes["test_adds"].status == "passed" and outcomes["test_adds"].score == 3.0
    assert [outcomes[f"test_identity[{i}]"].score for i in ("zero", "one", "negative")] == [1.0, 1.0, 1.0]
    broken, _ = grade(graders, {"add": lambda a, b: a + b + (a < 0), "neg": lambda a: -a})
    assert [broken[f"test_identity[{i}]"].status for i in ("zero", "one", "negative")] == ["passed", "passed", "failed"]
    assert broken["test_identity[negative]"].output.startswith("add(-5, 0) != -5")
    assert broken["test_adds"].score == 3.0 and broken["test_callable[add]"].score == 2.0


def test_a_graders_own_bug_is_flagged_and_the_students_failures_are_not(graders):
    outcomes, _ = grade(graders, {"add": lambda a, b: a - b})
    assert outcomes["test_grader_bug"].grader_error and "KeyError" in outcomes["test_grader_bug"].output
    assert not outcomes["test_adds"].grader_error and outcomes["test_adds"].score == 0.0
    assert "add(1, 2)" in outcomes["test_adds"].output
    # a global the notebook does not define: the student's error, named
    assert not outcomes["test_callable[neg]"].grader_error and "neg" in outcomes["test_callable[neg]"].output


def REFERENCE_ADD(a, b):
    return a + b


def test_a_blanks_graders_run_with_the_references_of_what_it_calls(graders):
    _, submission = grade(graders, {"add": lambda a, b: a + b, "neg": lambda a: -a},
                          references={"neg": {"add": lambda nb: REFERENCE_ADD}})
    assert submission.seen["add"] == {}                          # add's own graders: nothing replaced
    assert submission.seen["neg"] == {"add": REFERENCE_ADD}      # made for this submission, by its maker
    assert submission.active == {}                               # and nothing left in force afterwards
    assert submission.scopes == 8                                # each grader in a scope of its own


def test_a_stub_says_not_implemented_once(graders):
    outcomes, _ = grade(graders, {"add": not_implemented, "neg": lambda a: -a}, untouched={"add"})
    expected = msg("not_implemented", name="add").render()
    assert outcomes["test_adds"].output == expected and outcomes["test_identity[one]"].output == expected
    assert outcomes["test_callable[neg]"].status == "passed"


def test_every_grader_and_case_is_reseeded_from_its_own_name(graders):
    _, first = grade(graders, {"add": lambda a, b: a + b, "neg": lambda a: -a})
    _, second = grade(graders, {"add": lambda a, b: a + b, "neg": lambda a: -a})
    assert first.seeds == second.seeds and len(set(first.seeds)) == len(first.seeds) == 8
    assert first.recorded == second.recorded and len(first.recorded) == 1     # the judge's random too


def test_a_grader_without_points_is_a_setup_error(tmp_path, graders):
    (graders / "test_more.py").write_text("def test_unmarked(nb):\n    '''無分 / no points'''\n", "utf-8")
    judge._catalogue.cache_clear()
    with pytest.raises(GraderSetupError, match="test_unmarked: no @pytest.mark.points"):
        judge.catalogue(graders)


@pytest.mark.parametrize("exc, says, broke", [
    (Fail(msg("expected_got", what="x", expected=1, got=2)), "x: expected 1, got 2", False),
    (AssertionError("plain"), "plain", False),
    (StudentError(Failure("NotImplementedError", "")), "not implemented", False),
    (StudentError(Failure("NameError", "name 'GetDummies' is not defined")), "GetDummies", False),
    (StudentError(Failure("MemoryError", "")), "2 GiB", False),
    (StudentError(Failure("ValueError", "bad", "  File x")), "ValueError: bad", False),
    (WorkerLost("timeout"), "time", False),
    (WorkerLost("died", "signal 9"), "signal 9", False),
    (KeyError("oops"), "KeyError", True),
])
def test_each_exception_becomes_one_message(exc, says, broke):
    message, grader_broke = describe_exception(exc, "blank", memory_bytes=2 << 30)
    assert isinstance(message, Message) and says in message.render("en") and grader_broke is broke


def test_values_are_compared_with_the_worst_place_and_a_hint():
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    expect_values(expected.float(), expected, "h")                       # round-off passes
    wrong = expected.clone()
    wrong[1, 0] = -3.0
    with pytest.raises(Fail) as caught:
        expect_values(wrong.float(), expected, "h", hints=[("rf_hint_no_tanh", lambda: expected * 2),
                                                           ("rf_hint_no_bias", lambda: wrong)])
    said = caught.value.message.render("en")
    assert "h differs from the reference: at [1, 0] expected 3, got -3" in said
    assert msg("rf_hint_no_bias").render("en") in said and msg("rf_hint_no_tanh").render("en") not in said
    nan = expected.clone()
    nan[0, 1] = float("nan")
    with pytest.raises(Fail, match="at \\[0, 1\\]"):
        expect_values(nan, expected, "h")


def test_a_mistake_that_cannot_be_computed_is_not_the_answer():
    got = [torch.ones(2), torch.zeros(2)]
    assert first_match(got, [("a", lambda: 1 / 0), ("b", lambda: [torch.ones(2)]),
                             ("c", lambda: [torch.ones(2), torch.zeros(2)])]) == "c"
    assert first_match(torch.ones(3), [("a", lambda: torch.ones(2))]) is None


def test_size_ids_name_each_letter():
    assert size_ids("NDH")((3, 10, 20)) == "N=3,D=10,H=20"
    assert size_ids("TN")((5, 1)) == "T=5,N=1"
