"""Grading many notebooks: finding a class's submissions, and the one driver that grades them.

A class is a folder in nbgrader's layout, ``submitted/<student>/<assignment>/<notebook>.ipynb``;
a single notebook file works too.  :func:`grade_all` grades a class, and what ``course validate``
grades: each ``results.json`` is written as soon as it is graded, then ``gradebook.csv``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder import judge, results, store, written
from autograder.course import Assignment, Course, CourseError, GraderSetupError
from autograder.limits import Limits
from autograder.isolation import IsolationRefused, Policy
from autograder.messages import msg, say, set_language
from autograder.model import Result
from autograder.snapshot import Snapshot


@dataclass(frozen=True)
class Job:
    """One notebook to grade: whose, for which assignment, where it is."""

    student: str
    assignment: Assignment
    path: Path
    limits: Limits | None = None      # other limits than the course's (``course validate``'s for hostile notebooks)
    checks: bool = False              # also run the public checks on it, in the same worker (``course validate``)


def discover(course: Course, paths: list[Path]) -> list[Job]:
    """Every submission under ``paths`` (default: the embedded example class)."""
    if not paths:
        paths = [course.root / "examples" / "submitted"]
    jobs: list[Job] = []
    for path in paths:
        if path.is_file():
            jobs.append(_file_job(course, path))
        elif path.is_dir():
            jobs += _folder_jobs(course, path)
        else:
            raise CourseError(f"no such file or folder: {path}")
    return sorted(jobs, key=lambda j: (j.student, j.assignment.id, str(j.path)))


def shard(jobs: list[Job], spec: str | None) -> list[Job]:
    """The K-th of N deterministic slices (``spec`` = "K/N", K from 1): every N-th job from the K-th."""
    if not spec:
        return jobs
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise CourseError(f"--shard takes K/N, such as 2/4, not {spec!r}") from None
    if not 1 <= k <= n:
        raise CourseError(f"--shard {spec}: K must be between 1 and N")
    return jobs[k - 1::n]


def _file_job(course: Course, path: Path) -> Job:
    assignment = course.by_notebook(path.name)
    if assignment is None and path.parent.name in {a.id for a in course.assignments}:
        assignment = course.assignment(path.parent.name)
    if assignment is None and len(course.assignments) == 1:
        assignment = course.assignments[0]
    if assignment is None:
        raise CourseError(f"cannot tell which assignment {path} is for: name it as in course.toml "
                          f"or put it in a folder named after the assignment")
    student = path.parent.parent.name if path.parent.name == assignment.id else path.stem
    return Job(student, assignment, path)


def _folder_jobs(course: Course, folder: Path) -> list[Job]:
    if (folder / "submitted").is_dir():
        folder = folder / "submitted"
    ids = {a.id: a for a in course.assignments}
    if folder.name in ids:                                     # <student>/<assignment>/
        return [Job(folder.parent.name, ids[folder.name], folder / ids[folder.name].notebook)]
    if any((folder / aid).is_dir() for aid in ids):            # <student>/
        return [Job(folder.name, ids[aid], folder / aid / ids[aid].notebook)
                for aid in sorted(ids) if (folder / aid).is_dir()]
    jobs = []
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for sub in sorted(p for p in student.iterdir() if p.is_dir() and p.name in ids):
            assignment = ids[sub.name]
            jobs.append(Job(student.name, assignment, sub / assignment.notebook))
    if not jobs:
        raise CourseError(f"no submissions in {folder} (expected <student>/<assignment>/<notebook>.ipynb)")
    return jobs


def grade_one(course: Course, job: Job, hide=(), figures: bool = False, graders: Snapshot | None = None,
              policy: Policy = Policy()) -> list[Result]:
    """The job's result, and with ``job.checks`` its public checks' result too (``public-<student>``), run
    in the same worker after the hidden graders. ``graders``: the run's snapshot (default: copies taken
    for this call). A submission the engine itself fails on gets a result that says so, not an exception."""
    folder = graders[job.assignment.graders] if graders is not None else None
    if job.limits is not None:
        course = dataclasses.replace(course, limits=job.limits)
    if not job.path.is_file():
        result = Result(student=job.student, assignment=job.assignment.id, path=str(job.path))
        result.error = say("notebook_unreadable", reason=msg("not_submitted", name=job.path.name))
        result.tests = judge.all_failed(folder or job.assignment.graders, result.error)
        result.written = written.outcomes(course, job.assignment, {"cells": []})
        return [result]
    public = None
    if job.checks:
        checks = graders[job.assignment.checks] if graders is not None else job.assignment.checks
        public = Result(student=f"public-{job.student}", assignment=job.assignment.id, path=str(job.path))

        def public_checks(submission, untouched):
            plugin = judge.run_graders(checks, submission, course.retry_seeds, untouched, judge.calls(job.assignment.id))
            public.tests = [plugin.outcomes[n] for n in plugin.order]
    try:
        result = judge.grade(job.path, job.assignment, course, student=job.student, hide=hide, figures=figures,
                             folder=folder, policy=policy, after=public_checks if public is not None else None)
    except (CourseError, GraderSetupError, IsolationRefused):
        raise                          # the run cannot grade anything: it stops, as it must
    except Exception as exc:           # the engine's own failure on this submission: it ends here, not the batch
        result = engine_failed(course, job, folder, exc)
    if public is None:
        return [result]
    if not public.tests:               # the notebook could not run: the checks fail as the graders did
        public.tests = judge.all_failed(checks, result.error)
    return [result, public]


def engine_failed(course: Course, job: Job, folder: Path | None, exc: BaseException) -> Result:
    """The result of a submission on which the engine itself failed: every grader failed with a grader error
    (worth an instructor's look; ``course grade`` exits non-zero), and the reason."""
    import traceback

    result = Result(student=job.student, assignment=job.assignment.id, path=str(job.path))
    result.error = say("engine_failed", type=type(exc).__name__, message=str(exc)[:300])
    result.output = "".join(traceback.format_exception(exc))[-4000:]
    result.tests = [dataclasses.replace(t, grader_error=True)
                    for t in judge.all_failed(folder or job.assignment.graders, result.error)]
    result.written = written.outcomes(course, job.assignment, written.submitted(job.path))
    return result


def _grade_job(args) -> list[Result]:
    return grade_one(*args)


def write_result(out: Path, result: Result, course: Course, executed: str | None = None,
                 feedback: bool = False) -> None:
    """The one writer of a graded submission's files, each written once, from the result in memory:
    ``executed.ipynb`` (the notebook as run: ``executed``, its text, else the result's own), ``results.json``
    signed with ``out``'s key (see :func:`store.sign`) and bound to that notebook, and with ``feedback``,
    ``feedback.html``."""
    path = results.result_path(out, result.student, result.assignment)
    if executed is not None:
        store.write_atomic(path.with_name("executed.ipynb"), executed)
    store.write_atomic(path, results.results_json(result, store.key(out), executed, course.language))
    if feedback:
        from autograder import feedback as pages

        pages.write(path.parent, course, result, executed)


def notebook_text(result: Result) -> str | None:
    """The text of the notebook as it ran (None where no cell ran)."""
    import nbformat

    return nbformat.writes(result.executed) if result.executed is not None else None


def grade_all(course: Course, jobs: list[Job] | Callable[[Path, Snapshot, bool], list[Job]],
              out: Path | None = None, workers: int = 1, progress=None, resume: bool = False,
              figures: bool = False, policy: Policy = Policy(), on_isolation=None,
              assignments: list[Assignment] | None = None, feedback: bool = False, finish=None) -> list[Result]:
    """The one driver that grades many notebooks (a class, or what ``course validate`` grades): snapshot
    the graders, probe the isolation, grade every job in a pool of ``workers`` judges, and, with ``out``,
    write each results.json as it comes (atomically), then gradebook.csv. Returns the results, sorted.

    ``jobs``: a list, or ``build(scratch, graders, isolated)`` that writes its notebooks into ``scratch``
    (a folder hidden from every worker) once the probe has said whether workers are isolated here, and
    returns the jobs in the order to grade them; ``assignments``: whose graders (and public checks) to
    snapshot for it.

    With ``resume``, a submission whose complete results.json is already in ``out`` (and was written by
    the engine: see :func:`results.load`) is not graded again: an interrupted batch (Ctrl-C, a killed
    process, a full disk) picks up where it stopped.

    Before anything is graded or written, one worker is started as grading would start it: where its
    isolation falls short of :mod:`autograder.isolation`'s minimum and ``policy`` does not trust the
    submissions, :class:`IsolationRefused` is raised. ``on_isolation(measures, isolated)`` hears what
    protected the run.

    ``finish(result, executed)``: called with each result and the text of its executed notebook before
    its files are written (``--gradebook`` puts the TA's points in); ``feedback``: write each page too.
    """
    set_language(course.language)
    graded: list[Result] = []
    if resume and out is not None and not callable(jobs):
        todo = []
        for job in jobs:
            done = results.load(results.result_path(out, job.student, job.assignment.id))
            if done is not None and done.student == job.student and done.assignment == job.assignment.id:
                graded.append(done)
                executed = results.executed_text(out, done)
                if finish is not None:      # the TA may have graded since: such a result is written again
                    before = copy.deepcopy(done.written)
                    finish(done, executed)
                    if done.written != before:
                        write_result(out, done, course, executed, feedback)
                        continue
                if feedback:
                    from autograder import feedback as pages

                    pages.write(results.result_path(out, done.student, done.assignment).parent, course, done, executed)
            else:
                todo.append(job)
        jobs = todo
    if callable(jobs):
        assignments = list(assignments or [])
        folders = [a.graders for a in assignments] + [a.checks for a in assignments if a.checks.is_dir()]
    else:
        folders = {job.assignment.graders for job in jobs} | {job.assignment.checks for job in jobs if job.checks}
    announce = (lambda found: on_isolation(*found)) if on_isolation is not None else None
    with tempfile.TemporaryDirectory(prefix="course-grading-") as scratch, Snapshot(folders) as graders:
        # the class being graded, the results being written, the graders' copies and the scratch folder are
        # hidden from every worker
        classes = {str(j.path.resolve().parent.parent.parent) for j in ([] if callable(jobs) else jobs)
                   if j.path.parent.name == j.assignment.id}
        hide = tuple(sorted({scratch, str(graders.root), *([str(Path(out).resolve())] if out else [])} | classes))
        probe = functools.partial(judge.probe, course, judge.hidden_paths(course, Path(scratch) / "probe.ipynb", hide),
                                  policy)
        if callable(jobs):              # what to grade depends on the answer: ask first
            found = probe()
            if announce is not None:
                announce(found)
            jobs, probe, announce = jobs(Path(scratch), graders, found[1]), None, None
        total = len(graded) + len(jobs)
        from autograder.pool import as_completed      # (multiprocessing: not for commands that grade inline)

        tasks = [(course, job, hide, figures, graders, policy) for job in jobs]
        for finished in as_completed(_grade_job, tasks, workers, first=probe if jobs else None, on_first=announce):
            for result in finished:
                executed = notebook_text(result)
                if finish is not None:
                    finish(result, executed)
                if out is not None:
                    write_result(out, result, course, executed, feedback)
                graded.append(result)
            if progress is not None:
                progress(len(graded), total, finished[0])
    graded.sort(key=lambda r: (r.student, r.assignment))
    if out is not None:
        store.write_atomic(Path(out) / "gradebook.csv", results.gradebook_csv(graded))
    return graded
