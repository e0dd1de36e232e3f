"""``course validate --mutate``: mutation testing of the hidden graders.

Every machine mutant of each blank's solution (made by :mod:`autograder.mutate`) is graded, with the driver
and the plans of ``course validate`` (:func:`autograder.validate.grade_plans`); one that keeps full marks
survives, and fails the run unless ``autograder/mutants/equivalent.py`` lists it, with the reason, as
computing what the solution computes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import PACKAGE, Assignment, Course, CourseError
from autograder.isolation import Policy
from autograder.mutate import OPERATORS, MachineMutant, mutants
from autograder.validate import Check, Plan, Report, apply, grade_plans, module_at, student


def notebook(source: nbformat.NotebookNode, mutant: MachineMutant) -> nbformat.NotebookNode:
    """The mutant as a notebook: the master notebook with the mutant's solution cell."""
    return apply(source, mutant.edits)


MACHINE = "machine "     # a machine mutant's task is named "machine <its folder name>"


def equivalents() -> dict[str, dict[str, str]]:
    """``autograder/mutants/equivalent.py``'s ``EQUIVALENT``: per assignment, the machine mutants that
    cannot be killed because they compute what the solution computes, each with the reason."""
    path = PACKAGE / "mutants" / "equivalent.py"
    if not path.is_file():
        return {}
    return dict(getattr(module_at(path), "EQUIVALENT", {}))


def sample(mutants: list, limit: int | None) -> list:
    """At most ``limit`` of the mutants, the same ones on every run, spread over blanks and operators
    (the first ``limit`` by a hash of their ids), in their own order."""
    if limit is None or limit >= len(mutants):
        return list(mutants)
    chosen = {m.id for m in sorted(mutants, key=lambda m: hashlib.sha256(m.id.encode()).hexdigest())[:limit]}
    return [m for m in mutants if m.id in chosen]


def folder_name(mutant) -> str:
    """A file-system-safe name for a mutant's notebook and its results under ``--out`` (``machine-<name>``):
    ids hold '/', '>', spaces..."""
    digest = hashlib.sha256(mutant.id.encode()).hexdigest()[:8]
    line, col = mutant.id.split(":")[2:4]
    return f"{mutant.blank}-{mutant.operator}-{line}-{col}-{digest}"


@dataclass
class MutationReport(Report):
    """Mutation testing of one assignment: the checks (as validate prints them) and the counts."""

    generated: int = 0                                  # the mutants graded (after --operators / --limit)
    killed: int = 0                                     # of those not listed as equivalent
    survivors: list = field(default_factory=list)       # (id, diff)
    equivalent: list = field(default_factory=list)      # (id, reason) of listed mutants graded this run
    stale: list = field(default_factory=list)           # listed ids that match no mutant
    grader_errors: list = field(default_factory=list)   # (id, [grader names])
    folders: dict = field(default_factory=dict)         # id -> the folder of its results under --out

    @property
    def score(self) -> float | None:
        """killed / (generated − equivalent); None when nothing counts."""
        counted = self.generated - len(self.equivalent)
        return self.killed / counted if counted > 0 else None

    def summary(self) -> dict:
        """The counts and the lists, as ``--report`` writes them (plain JSON)."""
        return {"generated": self.generated, "killed": self.killed, "survived": len(self.survivors),
                "equivalent": len(self.equivalent), "score": self.score, "ok": self.ok,
                "survivors": [{"id": i, "diff": d, "results": self.folders.get(i)} for i, d in self.survivors],
                "equivalents": [{"id": i, "reason": r} for i, r in self.equivalent],
                "stale": list(self.stale),
                "grader_errors": [{"id": i, "graders": g} for i, g in self.grader_errors]}


@dataclass
class MutationPlan(Plan):
    """What mutation testing of one assignment grades: the solution (the baseline) and its mutants."""

    machine: dict = field(default_factory=dict)         # task name -> MachineMutant
    every_id: list = field(default_factory=list)        # every mutant the operators make, filters aside


def plan(course: Course, assignment: Assignment, scratch: Path, operators=None,
                  limit: int | None = None) -> MutationPlan:
    """Write the solution's machine mutants (``operators``, at most ``limit`` of them) to grade."""
    source_path = assignment.path(course.root, "source")
    source = nbformat.read(str(source_path), as_version=4)
    work = MutationPlan(assignment, MutationReport(assignment.id))
    # stale entries are judged against everything the operators make, so a subset run reports none wrongly
    every = mutants(source)
    work.every_id = [m.id for m in every]
    folder = scratch / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    work.tasks.append(("solution", source_path))        # the mutants' own base: it must keep full marks
    chosen = [m for m in every if operators is None or m.operator in operators]
    for mutant in sample(chosen, limit):
        name = folder_name(mutant)
        path = folder / f"machine-{name}.ipynb"
        nbformat.write(notebook(source, mutant), str(path))
        work.tasks.append((MACHINE + name, path))
        work.machine[MACHINE + name] = mutant
    return work


def verdicts(work: MutationPlan, graded: dict, listed: dict[str, str]) -> MutationReport:
    """Read the grades of a mutation plan: a mutant that keeps full marks survives, unless ``listed``
    (id -> reason) says it is equivalent; a listed id that matches no mutant is stale."""
    report = work.report
    base = graded["solution"]
    full = base.auto_max > 0 and base.auto_score == base.auto_max and not base.grader_errors
    report.checks.append(Check("solution", full, "" if full else "the mutants' base must keep full marks: "
                               "their verdicts mean nothing", base.auto_score, base.auto_max))
    for name, mutant in work.machine.items():
        result = graded[name]
        # killed only by a grader of its own blank (grade ids are the blanks' names in lower case): a loss
        # elsewhere would hide that the blank's own graders miss it
        caught = [t for t in result.tests if t.status != "passed" and t.blank.lower() == mutant.blank.lower()]
        survived = result.auto_max > 0 and not caught
        report.generated += 1
        report.folders[mutant.id] = student(name)
        broken = [t.name for t in result.grader_errors]
        if broken:
            report.grader_errors.append((mutant.id, broken))
            report.checks.append(Check(f"grader error {mutant.id}", False, f"graders that broke: {broken}",
                                       result.auto_score, result.auto_max))
        if mutant.id in listed:
            report.equivalent.append((mutant.id, listed[mutant.id]))
            report.checks.append(Check(f"equivalent {mutant.id}", survived, listed[mutant.id] if survived else
                                       f"killed, so not equivalent: remove it from equivalent.py ({mutant.diff})",
                                       result.auto_score, result.auto_max))
        elif survived:
            report.survivors.append((mutant.id, mutant.diff))
            report.checks.append(Check(f"survivor {mutant.id}", False, mutant.diff, result.auto_score, result.auto_max))
        else:
            report.killed += 1
    for stale in sorted(set(listed) - set(work.every_id)):
        report.stale.append(stale)
        report.checks.append(Check(f"stale equivalent {stale}", False,
                                   "listed in autograder/mutants/equivalent.py, matches no mutant"))
    score = report.score
    report.checks.append(Check("mutation score", True, f"{report.generated} generated, {report.killed} killed, "
                               f"{len(report.survivors)} survived, {len(report.equivalent)} equivalent: " +
                               ("-" if score is None else f"{100 * score:.1f}%")))
    return report


def mutate_all(course: Course, assignments: list[Assignment], jobs: int = 1, out: Path | None = None,
               policy: Policy = Policy(), operators=None, limit: int | None = None) -> list[MutationReport]:
    """Mutation testing of the hidden graders: grade every machine mutant of each assignment's solution
    (:mod:`autograder.mutate`) with the driver :func:`autograder.validate.validate_all` uses. ``operators``: names
    of :data:`autograder.mutate.OPERATORS` (default: all); ``limit``: at most that many mutants per
    assignment. With ``out``, every mutant's results are kept (``out/machine-<name>/<aid>/``)."""
    unknown = sorted(set(operators or ()) - set(OPERATORS))
    if unknown:
        raise CourseError(f"unknown mutation operator(s) {', '.join(unknown)}; known: {', '.join(OPERATORS)}")
    listed = equivalents()

    def build(scratch: Path, graders, isolated: bool) -> list[MutationPlan]:
        return [plan(course, a, scratch, operators, limit) for a in assignments]

    plans, graded = grade_plans(course, assignments, build, jobs, out, policy)
    return [verdicts(p, graded[p.assignment.id], listed.get(p.assignment.id, {})) for p in plans]
