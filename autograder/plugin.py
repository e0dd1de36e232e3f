"""The pytest plugin that makes graders out of plain pytest functions.

- ``@pytest.mark.points(n, blank="GetDummies")`` gives a grader its points and names the blank it
  judges (used in messages such as "GetDummies is not implemented yet").  A grader parametrized with
  ``@pytest.mark.parametrize`` is graded case by case: its n points split evenly across its cases,
  each named by the docstring and the case's id, and each reseeded from its own node id.  A case
  can carry its own points and blank instead (``pytest.param(..., marks=pytest.mark.points(2,
  blank="lstm_cell"))``): one grader that checks the same property of several blanks.
- The ``nb`` fixture stands for the submission: ``nb.GetDummies(seq, 28, 3, 8)`` calls the student's
  function in the worker; ``nb.Char2int`` reads a global as plain data.
- Before every grader the worker and the judge are reseeded from the grader's name, so a grader's
  random inputs are the same for every student and every run; while it runs, the blanks its blank
  calls are their references (:mod:`autograder.references`): one mistake, one deduction.
- Outcomes are recorded as :class:`Outcome` objects from the report hook; the message shown to the
  student is the grader's own (a :class:`~autograder.toolkit.Fail`), or one made from the student's
  exception, never a traceback of grader code.
"""

from __future__ import annotations

import collections
import random
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from autograder.messages import Message, msg, name, text
from autograder.model import Outcome
from autograder.submission import StudentError, Submission
from autograder.worker_process import WorkerLost
from autograder.toolkit import Fail


@dataclass
class Notebook:
    """The ``nb`` fixture: attribute access reads the submission's globals."""

    submission: Submission = field(repr=False)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.submission.lookup(name)

    def time_limit(self, seconds: float):
        return self.submission.time_limit(seconds)

    def reseed(self, seed: int) -> None:
        """Reseed random, numpy and torch in the worker (graders that retry seeds use it)."""
        self.submission.reseed(seed)

    def define(self, name: str, source: str):
        """A handle to the instrumentation ``source`` defines in the worker (see Submission.define)."""
        return self.submission.define(name, source)

    def overriding(self, **references):
        """``with nb.overriding(lstm_cell=references.lstm_cell): nb.lstm_forward(...)``: the blanks a call
        reaches replaced by the judge's references, which run in the judge (see Submission.overriding)."""
        return self.submission.overriding(**references)

    def stub(self, fn, name: str = "reference", by_handle: bool = False):
        """A handle to a stand-in of the judge's function ``fn``, to pass to student code (Submission.stub)."""
        return self.submission.stub(fn, name, by_handle)

    def remote_module(self, module, methods=(), name: str = ""):
        """The judge's ``module`` standing in the worker, its code kept here (Submission.remote_module)."""
        return self.submission.remote_module(module, methods, name)

    def without_autograd(self):
        """``with nb.without_autograd(): nb.bptt_grad_U(...)``: see Submission.without_autograd."""
        return self.submission.without_autograd()

    def changing(self, *handles):
        """``with nb.changing(model): nb.train(model, ...)``: the calls inside may change these objects."""
        return self.submission.changing(*handles)


def _function_of(item) -> tuple[str, str]:
    """The grader function an item runs: all cases of a parametrized grader share it."""
    return item.nodeid.partition("::")[0], getattr(item, "originalname", item.name)


def _case_points(item):
    """A parametrized case's own points marker (``pytest.param(..., marks=pytest.mark.points(...))``), or None."""
    marks = item.callspec.marks if hasattr(item, "callspec") else []
    return next((m for m in marks if m.name == "points"), None)


def stable_seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF


def seed_judge(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    import torch

    # the judge computes on the CPU only. (torch.manual_seed would also queue a seeding of CUDA, XPU
    # and MTIA for their first use, formatting the call stack for each: 4 ms a grader under pytest)
    torch.default_generator.manual_seed(seed)


def describe_exception(exc: BaseException, blank: str, memory_bytes: int = 0) -> tuple[Message, bool]:
    """The student-facing message for an exception out of a grader, and whether the grader broke."""
    if isinstance(exc, Fail):                 # the grader's verdict
        return exc.message, False
    if isinstance(exc, AssertionError):       # a plain assert of a grader: its text is the verdict
        return (text(str(exc), str(exc)) if str(exc) else
                msg("grader_error", type="AssertionError", message="(no message)")), False
    if isinstance(exc, StudentError):
        if exc.not_implemented:
            return msg("not_implemented", name=blank), False
        if exc.type == "NameError" and exc.message.startswith("name '"):
            return msg("missing_name", name=exc.message.split("'")[1]), False
        if exc.timeout:
            return msg("worker_timeout"), False
        if exc.type == "ArgumentChanged":      # autograder.guard: the call changed what it was given
            return msg("argument_changed", name=blank, arguments=exc.message), False
        if exc.type == "MemoryError" or "can't allocate memory" in exc.message:
            limit = f"{memory_bytes / 2**30:g} GiB" if memory_bytes else "RLIMIT_DATA"
            return msg("memory_exceeded", limit=limit, message=exc.message[:200]), False
        raised = msg("student_raised", name=blank, type=exc.type, message=exc.message)
        return (raised + exc.traceback if exc.traceback else raised), False
    if isinstance(exc, WorkerLost):
        if exc.reason == "timeout":
            return msg("worker_timeout"), False
        if exc.reason == "protocol":
            return msg("worker_protocol"), False
        if exc.reason == "stale":
            return msg("worker_stale"), False
        return msg("worker_died", detail=exc.detail or exc.reason), False
    return msg("grader_error", type=type(exc).__name__, message=str(exc)[:500]), True


class GradingPlugin:
    """One grading session of one submission."""

    def __init__(self, submission: Submission, retry_seeds=(0, 1, 2), untouched=frozenset(), references=None):
        self.submission = submission
        # blank → {name of a blank it calls: maker of its reference} (autograder.references.CALLS), in force
        # while its graders run
        self.references = references or {}
        # named in "memory limit exceeded" (no submission: only the graders' names are collected)
        self.memory_bytes = submission.limits.memory_bytes if submission is not None else 0
        self.untouched = {name.lower() for name in untouched}   # blanks the student left as the stub
        self.seeds = tuple(retry_seeds)
        self.outcomes: dict[str, Outcome] = {}
        self.order: list[str] = []
        self.collection_errors: list[str] = []
        self.curves: list[dict] = []              # what graders drew for feedback (see ``record_curve``)

    # ------------------------------------------------------------------ configuration
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n, blank): the points of a grader and the blank it judges")

    def pytest_collection_modifyitems(self, session, config, items):
        # the cases that share their function's points
        sharing = collections.Counter(_function_of(item) for item in items if _case_points(item) is None)
        for item in items:
            own = _case_points(item)
            marker = own if own is not None else item.get_closest_marker("points")
            if marker is None or not marker.args:
                self.collection_errors.append(f"{item.nodeid}: no @pytest.mark.points(n)")
                continue
            doc = (getattr(item.function, "__doc__", None) or "").strip().splitlines() or [""]
            try:
                title = name(doc[0]).render()
            except ValueError as exc:
                self.collection_errors.append(f"{item.nodeid}: its docstring's first line names it: {exc}")
                continue
            if hasattr(item, "callspec"):      # a parametrized grader: one case, named by its id
                title = f"{title} [{item.callspec.id}]"
            # a function's points split evenly across its cases, each graded on its own
            share = 1 if own else sharing[_function_of(item)]
            self.outcomes[item.nodeid] = Outcome(
                nodeid=item.nodeid, name=title, blank=marker.kwargs.get("blank", ""),
                max_score=float(marker.args[0]) / share)
            self.order.append(item.nodeid)

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="session")
    def nb(self) -> Notebook:
        return Notebook(self.submission)

    @pytest.fixture(scope="session")
    def retry_seeds(self) -> tuple[int, ...]:
        return self.seeds

    @pytest.fixture(scope="session")
    def record_curve(self):
        """``record_curve(name, title=..., x_label=..., y_label=..., series={label: values})``: a curve
        for the feedback page (e.g. the student's losses beside the reference's); recorded once per name."""

        def record(name: str, *, title: str, x_label: str, y_label: str, series: dict) -> None:
            if any(c["name"] == name for c in self.curves):
                return
            self.curves.append({"name": name, "title": title, "x_label": x_label, "y_label": y_label,
                                "series": [{"label": label, "values": [float(v) for v in values]}
                                           for label, values in series.items()]})

        return record

    @pytest.fixture(autouse=True)
    def _reseed(self, request):
        seed = stable_seed(request.node.nodeid.split("::", 1)[-1])
        seed_judge(seed)
        self.submission.reseed(seed)
        record = self.outcomes.get(request.node.nodeid)
        makers = self.references.get(record.blank if record else "", {})
        # the references a grader registers answer only while it runs (Submission.scope)
        with self.submission.scope(), \
                self.submission.overriding(**{name: make(Notebook(self.submission)) for name, make in makers.items()}):
            yield

    # ------------------------------------------------------------------ outcomes
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        record = self.outcomes.get(item.nodeid)
        if record is None:
            return
        if report.when == "call" and report.passed:
            record.status, record.score, record.output = "passed", record.max_score, ""
        elif report.failed and call.excinfo is not None:
            message, broke = describe_exception(call.excinfo.value, record.blank or item.name, self.memory_bytes)
            if record.blank.lower() in self.untouched:
                # one clear message rather than the chain of errors a stub causes; keep any other reason
                original = message.render("en")
                stub = msg("not_implemented", name=record.blank)
                message = stub if "NotImplementedError" in original or "not implemented" in original \
                    else stub + message
            if not record.output:          # the first failure (setup or call) is the one that counts
                record.status, record.score = "failed", 0.0
                record.output, record.grader_error = message.render(), broke


class BriefReports:
    """A failed grader's pytest report carries one line, not pytest's traceback.

    pytest formats a long traceback for every failure, reading and parsing (``ast``) the source of
    every frame: about 0.2 s of a failing submission's grading, for text nobody reads (the outcome
    and the student's message come from the exception itself, in :class:`GradingPlugin`).  Passes
    and skips go on to pytest's own report, which is cheap.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        excinfo = call.excinfo
        if excinfo is None or isinstance(excinfo.value, (pytest.skip.Exception, BaseExceptionGroup)):
            return None
        line = f"{excinfo.typename}: {str(excinfo.value)[:2000]}"
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", line,
                                 call.when, (), call.duration, call.start, call.stop,
                                 user_properties=item.user_properties)
