"""The result model: what grading one submission gives, and nothing else (no pytest, no torch).

- :class:`Outcome`: one grader's verdict (points, status, the message for the student).
- :class:`Result`: one submission's grade: its outcomes and what the run noted about it. Its written
  answers are outcomes too, graded by hand: ``pending`` until a TA scores them in nbgrader's formgrader.

Everything that writes or reads grades (``results.json``, ``gradebook.csv``, JUnit, ``merge``,
``feedback``, the nbgrader gradebook, ``--resume``) uses these; ``results.parse`` reads back exactly
what ``results.gradescope`` writes (tests/test_results.py checks the round trip).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    """One grader's verdict on one submission."""

    nodeid: str                     # the grader's pytest node id (test_file.py::test_name): its identity
    name: str                       # the grader's name as students read it
    blank: str                      # the blank it judges ("GetDummies"), or ""
    max_score: float
    score: float = 0.0
    status: str = "failed"          # "passed" or "failed"; a written answer: "pending" or "graded" (by hand)
    output: str = ""                # the message for the student
    grader_error: bool = False      # the grader itself broke: worth an instructor's look


def total(*points: float) -> float:
    """A sum of points, to a millionth: a grader's points split evenly across its cases (7 across 3) are
    not exact in binary, and their sum must still read 80, not 79.99999999999997."""
    return round(sum(points), 6) + 0.0


@dataclass
class Result:
    """The grade of one submission of one assignment."""

    student: str
    assignment: str
    path: str
    tests: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # about the notebook as a whole (cells, tampering)
    seconds: float = 0.0
    output: str = ""                                     # the tail of what the submission printed
    error: str = ""                                      # the submission could not be graded at all
    isolation: list[str] = field(default_factory=list)   # the sandbox measures the worker ran under
    isolated: bool = True                                # they gave every property isolation needs
    peak_memory_kib: int = 0                             # the largest resident set of its workers
    executed: dict | None = None                         # the notebook as run, with outputs (executed.ipynb)
    curves: list[dict] = field(default_factory=list)     # series the graders recorded (loss curves)
    written: list[Outcome] = field(default_factory=list)  # written answers: a TA's points, or pending

    @property
    def score(self) -> float:
        """The points so far: the graders' and the TA's (a pending written answer counts nothing yet)."""
        return total(self.auto_score, *(w.score for w in self.written))

    @property
    def max_score(self) -> float:
        return total(*(t.max_score for t in self.tests), *(w.max_score for w in self.written))

    @property
    def auto_score(self) -> float:
        """The graders' points (the written answers' left out)."""
        return total(*(t.score for t in self.tests))

    @property
    def auto_max(self) -> float:
        return total(*(t.max_score for t in self.tests))

    @property
    def pending(self) -> list[Outcome]:
        """The written answers no TA has graded yet."""
        return [w for w in self.written if w.status == "pending"]

    @property
    def graded_max(self) -> float:
        """The maximum of what has been graded: a percentage of this is fair while answers are pending."""
        return total(self.max_score, *(-w.max_score for w in self.pending))

    @property
    def grader_errors(self) -> list[Outcome]:
        return [t for t in self.tests if t.grader_error]
