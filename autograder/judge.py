"""Grading one submission: a pipeline of small steps.

    read → restore locked cells → transform → run in a worker → hidden graders (pytest) → Result

The judge is this (trusted) process; the submission runs in a worker (see :mod:`submission`).  The
graders are an ordinary pytest session run in-process with :class:`~autograder.plugin.GradingPlugin`.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from autograder import notebook as notebooks
from autograder import snapshot, written
from autograder.course import Assignment, Course, CourseError, GraderSetupError
from autograder.isolation import Policy
from autograder.messages import Language, say, set_language
from autograder.model import Outcome, Result
from autograder.plugin import BriefReports, GradingPlugin
from autograder.submission import Submission
from autograder.worker_process import WorkerLost


def _pytest_args(folder: Path) -> list[str]:
    return [
        *snapshot.pytest_args(folder), "-q", "--assert=plain", "-o", "addopts=", "-o", "python_files=test_*.py",
        "--import-mode=importlib", "-W", "ignore::DeprecationWarning",
        # these two run a full gc.collect() at the end of every session: 0.6 s a submission for nothing
        "-p", "no:unraisableexception", "-p", "no:threadexception",
        # a handler set up and torn down around every phase of every grader, for logs no grader writes
        "-p", "no:logging",
    ]


def calls(aid: str) -> dict:
    """Blank → the references of the blanks it calls (``autograder.references``), or nothing where the
    engine has no references: a student's bundle, whose course check then runs each blank end to end."""
    try:
        from autograder import references
    except ImportError:
        return {}
    return references.CALLS.get(aid, {})


def _forget_other_folders(folder: Path) -> None:
    """pytest's importlib mode names a module by its path below the root (the folder itself), and takes
    one of that name from ``sys.modules`` if it is there: in a judge that graded another assignment
    first, ``test_public`` would be that assignment's public checks. Forget those of other folders."""
    names = {path.stem for path in Path(folder).glob("*.py")}
    for name in names & set(sys.modules):
        file = getattr(sys.modules[name], "__file__", None) or ""
        if Path(file).parent != Path(folder):
            del sys.modules[name]


def run_graders(folder: Path, submission: Submission, retry_seeds, untouched=frozenset(),
                references=None) -> GradingPlugin:
    """Run every grader in ``folder`` against ``submission``; the plugin holds the outcomes and curves.
    ``references``: blank → the makers of the references of the blanks it calls (``autograder.references.CALLS``)."""
    _forget_other_folders(folder)
    plugin = GradingPlugin(submission, retry_seeds, untouched, references)
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        code = pytest.main(_pytest_args(folder), plugins=[plugin, BriefReports()])
    if plugin.collection_errors or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
                                            pytest.ExitCode.NO_TESTS_COLLECTED):
        raise GraderSetupError("\n".join(plugin.collection_errors) + "\n" + log.getvalue()[-4000:])
    return plugin


def catalogue(folder: Path) -> tuple[Outcome, ...]:
    """The graders of a folder with their points, without running them (for submissions that cannot run)."""
    return _catalogue(folder, Language.current)      # grader names are in the course's language


@lru_cache(maxsize=None)
def _catalogue(folder: Path, language: str) -> tuple[Outcome, ...]:
    _forget_other_folders(folder)
    plugin = GradingPlugin(submission=None)
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        code = pytest.main(_pytest_args(folder) + ["--collect-only"], plugins=[plugin])
    if plugin.collection_errors or code != pytest.ExitCode.OK:
        raise GraderSetupError("\n".join(plugin.collection_errors) + "\n" + log.getvalue()[-4000:])
    return tuple(plugin.outcomes[n] for n in plugin.order)


def all_failed(folder: Path, message: str) -> list[Outcome]:
    """Every grader of ``folder`` failed with ``message``: the grade of a notebook that could not run."""
    return [Outcome(t.nodeid, t.name, t.blank, t.max_score, 0.0, "failed", message) for t in catalogue(folder)]


@lru_cache(maxsize=None)
def _reference(path: Path) -> nbformat.NotebookNode | None:
    return nbformat.read(str(path), as_version=4) if path.is_file() else None


def cell_notes(submission: Submission) -> list[str]:
    notes = []
    for run in submission.runs:
        if run.status == "skipped":
            notes.append(say("cell_killed", index=run.index + 1, detail=run.error["message"]))
        elif run.status in ("error", "timeout") and run.error["type"] != "NotImplementedError":
            first_line = (run.error["message"].splitlines() or [""])[0][:300]
            # what the notebook raised is its own text, quoted as data
            notes.append(f'{say("cell_failed", index=run.index + 1)}: {run.error["type"]}: {first_line!r}')
    return notes


def restoration_notes(report: notebooks.Restoration) -> list[str]:
    notes = []
    if report.tampered:
        notes.append(say("locked_restored", cells=", ".join(report.tampered)))
    if report.missing:
        notes.append(say("cells_missing", cells=", ".join(report.missing)))
    if report.duplicated:
        notes.append(say("cells_duplicated", cells=", ".join(sorted(set(report.duplicated)))))
    return notes


def hidden_paths(course: Course, submission: Path, extra=()) -> list[Path]:
    """What a worker must not see: graders, sources, solutions, examples, tests, other submissions, results.

    A path that holds the Python the worker runs on (a virtual environment inside the course, say) is
    never hidden as a whole.
    """
    import site
    import sys

    from autograder.course import PACKAGE

    candidates = [course.root / name for name in ("source", "solutions", "examples", "tests", ".git")]
    candidates += [PACKAGE / name for name in ("graders", "mutants", "checks")]
    candidates += [submission.resolve().parent, *map(Path, extra)]
    python = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix, *site.getsitepackages())]
    keep = []
    for path in candidates:
        path = path.resolve()
        if path.exists() and not any(p == path or path in p.parents for p in python) and path != Path("/"):
            keep.append(path)
    return keep


def probe(course: Course, hide=(), policy: Policy = Policy()) -> tuple[list[str], bool]:
    """What this machine grants a worker, found by starting one exactly as grading would (and running
    nothing in it): its measures, and whether they make it isolated. Raises
    :class:`~autograder.isolation.IsolationRefused` where they do not and ``policy`` does not trust
    the submissions, before anything is graded."""
    import tempfile

    from autograder.worker_process import WorkerProcess

    with tempfile.TemporaryDirectory(prefix="course-probe-") as workdir:
        worker = WorkerProcess(course.limits, workdir, hide, policy)
        worker.close()
    return worker.isolation, worker.isolated


def _one_thread() -> None:
    """The graders' tensors are tiny: threads only add overhead and fight the worker for the cores."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def grade(path: Path, assignment: Assignment, course: Course, student: str = "",
          folder: Path | None = None, hide=(), figures: bool = False, policy: Policy = Policy(),
          after=None) -> Result:
    """Grade one notebook file against the assignment's hidden graders (or ``folder``'s): a finished
    result, its written answers included (pending, or zero where left as released).

    ``folder``: graders copied by the run's :class:`~autograder.snapshot.Snapshot`; any other folder (by
    default the assignment's graders) is copied by this call before the notebook runs.
    ``figures``: keep the notebook's matplotlib figures in ``Result.executed`` (about 0.08 s a figure).
    ``policy``: whether the worker must be isolated (it raises :class:`IsolationRefused` if not).
    ``after(submission, untouched)``: called once the graders are done, with the worker still running
    (``course validate`` runs the public checks there too, without running the notebook again).
    """
    folder = folder or assignment.graders
    if not snapshot.is_copy(folder):
        if not folder.is_dir():
            raise CourseError(f"no graders for {assignment.id} at {folder}")
        with snapshot.Snapshot([folder]) as graders:
            return grade(path, assignment, course, student, graders[folder], hide, figures, policy, after)
    set_language(course.language)
    _one_thread()
    snapshot.preload_shared()      # before this judge's first worker runs student code (then: already loaded)
    started = time.monotonic()
    result = Result(student=student or path.stem, assignment=assignment.id, path=str(path))
    try:
        nb = notebooks.read(path)
    except notebooks.NotebookError as exc:
        result.error = say("notebook_unreadable", reason=exc.message)
        result.tests = all_failed(folder, result.error)
        result.written = written.outcomes(course, assignment, {"cells": []})
        result.seconds = time.monotonic() - started
        return result

    source = _reference(assignment.path(course.root, "source"))
    stub = _reference(assignment.path(course.root, "release"))
    untouched: set[str] = set()
    # the locked cells are the same in the source and the release: a course shipped without its
    # source (a student bundle, a Gradescope autograder) restores them from the release
    frame = source if source is not None else stub
    if frame is not None:
        nb, report = notebooks.restore(nb, frame, stub)
        result.notes += restoration_notes(report)
    if stub is not None:
        untouched = notebooks.untouched(nb, stub)
    hidden = hidden_paths(course, path, (*hide, folder.parent.parent))     # the graders' copies too
    submission = Submission(notebooks.code_cells(nb), limits=course.limits, seed=course.seed,
                            hide=tuple(hidden), figures=figures, policy=policy)
    try:
        try:
            submission.start()
        except WorkerLost as lost:
            from autograder.plugin import describe_exception

            result.error, _ = describe_exception(lost, assignment.id)
            result.tests = all_failed(folder, result.error)
        else:
            result.notes += cell_notes(submission)
            result.executed = notebooks.executed(nb, submission.runs)
            plugin = run_graders(folder, submission, course.retry_seeds, untouched, calls(assignment.id))
            result.tests = [plugin.outcomes[n] for n in plugin.order]
            result.curves = plugin.curves
            if after is not None:
                after(submission, untouched)
        result.isolation, result.isolated = list(submission.isolation), submission.isolated
    finally:
        submission.close()          # the worker and everything it started are gone before a result exists
    result.output = submission.output()[-20000:]
    result.peak_memory_kib = submission.peak_kib
    # the written answers: pending, or zero where the answer cell is as released (the notebook as run, else
    # as handed in, when no cell ran)
    result.written = written.outcomes(course, assignment, result.executed or written.submitted(path))
    result.seconds = time.monotonic() - started
    return result
