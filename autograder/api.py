"""The engine's API: what the CLI calls, and what a program (a CI script, a notebook) can call.

Every verb's work is here, outputs included (results, gradebooks, JUnit, the CI job's summary page,
mutation reports); the CLI only parses arguments and prints. Imports are made where they are needed:
``course grade one.ipynb`` starts its workers' server before torch and pytest are imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import store
from autograder.course import Course, CourseError
from autograder.isolation import Policy

if TYPE_CHECKING:
    from autograder.model import Result
    from autograder.mutation import MutationReport
    from autograder.validate import Report


def release(course: Course, aids=(), check: bool = False) -> list[str]:
    """Generate release/ and solutions/ (or, with ``check``, list what is stale)."""
    from autograder import release as releasing

    return releasing.release(course, course.select(aids), check=check)


def policy(course: Course, trust: bool = False, embedded: bool = False) -> Policy:
    """Whether grading demands isolated workers: not when the instructor trusts the submissions
    (``trust``, or ``trust_submissions`` in course.toml), nor for the ``embedded`` example class,
    which ships with the course."""
    return Policy(trusted=trust or course.trust_submissions or embedded)


def grade(course: Course, paths=(), out: Path = Path("graded"), jobs: int = 1, junit: Path | None = None,
          progress=None, resume: bool = False, shard: str | None = None, feedback: bool = False,
          gradebook: Path | str | None = None, trust: bool = False, on_isolation=None) -> list[Result]:
    """Grade notebooks or classes; write results.json files, gradebook.csv and optionally JUnit XML,
    feedback pages (with the notebooks' figures) and nbgrader's gradebook.db; on GitHub Actions, the
    grades on the job's summary page.

    Raises :class:`~autograder.isolation.IsolationRefused`, having written nothing, where this machine
    cannot isolate workers and the submissions are not trusted (see :func:`policy`)."""
    if jobs == 1 or len(paths) == 1 and Path(paths[0]).is_file():
        from autograder import spawn

        spawn.prestart()          # this process grades: its workers' server warms up while it imports
    from autograder import batch

    jobs_list = batch.shard(batch.discover(course, [Path(p) for p in paths]), shard)
    marking = _marking(course, gradebook)
    graded = batch.grade_all(course, jobs_list, Path(out), workers=jobs, progress=progress, resume=resume,
                             figures=feedback, policy=policy(course, trust, embedded=not paths),
                             on_isolation=on_isolation, feedback=feedback,
                             finish=marking.finish if marking is not None else None)
    if marking is not None:
        marking.record(graded)
    _reports(graded, junit, f"{course.id}: grades")
    return graded


def _marking(course: Course, db: Path | str | None):
    """With ``--gradebook``: every grader's score into nbgrader's gradebook.db (a path or an SQLAlchemy URL),
    each submission where nbgrader's formgrader opens it for a TA to grade the written answers, and the
    TA's points so far into the results, read before any is written. A regrade never erases a TA's points:
    they stand (flagged for review where the answer changed)."""
    if db is None:
        return None
    from autograder.gradebook import Marking

    return Marking(db, course)


def engine_failures(graded: list[Result]) -> list[Result]:
    """The submissions the engine itself failed on (each ended alone, every grader a grader error)."""
    return [r for r in graded if r.error and r.tests and all(t.grader_error for t in r.tests)]


def under(graded: list[Result], percent: float) -> list[Result]:
    """The submissions under ``percent`` of what is graded so far (a written answer a TA has yet to grade
    counts neither way)."""
    return [r for r in graded if r.graded_max and 100 * r.score / r.graded_max < percent]


def _reports(graded: list[Result], junit: Path | None, title: str) -> None:
    """JUnit XML where asked; on GitHub Actions, the grades as a table on the job's summary page."""
    from autograder import results

    if junit is not None:
        store.write_atomic(Path(junit), results.junit_xml(graded))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as page:
            page.write(results.markdown(graded, title) + "\n")


def write_feedback(course: Course, out: Path) -> list[Path]:
    """A feedback page (feedback.html) beside every results.json under ``out``."""
    from autograder import feedback

    return feedback.write_all(Path(out), course)


def export(course: Course, kind: str, aid: str, out: Path = Path("dist")) -> Path:
    """``gradescope``: the autograder zip for Gradescope; ``student``: what students get (no graders)."""
    from autograder import export as exporting

    builders = {"gradescope": exporting.gradescope, "student": exporting.student}
    if kind not in builders:
        raise CourseError(f"unknown export {kind!r}: use gradescope or student")
    return builders[kind](course, aid, Path(out))


def validate(course: Course, aids=(), jobs: int = 1, out: Path | None = None, trust: bool = False,
             attack_root: str = "/") -> list[Report]:
    """Prove the graders (see :mod:`autograder.validate`); with ``out``, keep every grade it made.
    ``attack_root``: where the attack corpus's file-system attacks look (tests confine them)."""
    from autograder import validate as validating

    return validating.validate_all(course, course.select(aids), jobs=jobs, out=out,
                                   policy=policy(course, trust), attack_root=attack_root)


def mutate(course: Course, aids=(), jobs: int = 1, out: Path | None = None, trust: bool = False,
           operators=None, limit: int | None = None, report: Path | None = None) -> tuple[list[MutationReport], float]:
    """Mutation testing of the graders (``course validate --mutate``): the reports and the seconds it took;
    with ``report``, the counts and lists as JSON there too."""
    import json
    import time

    from autograder import mutation, results

    started = time.monotonic()
    reports = mutation.mutate_all(course, course.select(aids), jobs=jobs, out=out, policy=policy(course, trust),
                                    operators=operators, limit=limit)
    seconds = time.monotonic() - started
    if report is not None:
        summary = {"operators": operators, "limit": limit, "seconds": round(seconds, 1),
                   "ok": all(r.ok for r in reports), "assignments": {r.assignment: r.summary() for r in reports}}
        store.write_atomic(Path(report), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return reports, seconds


def check(course: Course, notebook: Path) -> Result:
    """The public checks only, as a student runs them."""
    from autograder import batch, judge

    job = batch.discover(course, [Path(notebook)])[0]
    folder = job.assignment.checks
    if not folder.is_dir():
        raise CourseError(f"{job.assignment.id} has no public checks")
    # a student's own notebook on their own machine: the sandbox does what it can, and nothing is refused
    return judge.grade(job.path, job.assignment, course, student=job.student, folder=folder,
                       policy=Policy(trusted=True))


def merge(course: Course, folders, out: Path, junit: Path | None = None, gradebook: Path | str | None = None
          ) -> list[Result]:
    """Combine the results of several runs (CI shards) into ``out``; refuses conflicting results. With
    ``gradebook``, the scores go into nbgrader's gradebook.db as :func:`grade` puts them."""
    from autograder import merge as merging

    marking = _marking(course, gradebook)
    merged = merging.merge([Path(f) for f in folders], Path(out), course,
                           finish=marking.finish if marking is not None else None)
    if marking is not None:
        marking.record(merged)
    _reports(merged, junit, f"{course.id}: grades (merged)")
    return merged
