"""Grades into nbgrader's gradebook database, so nbgrader's formgrader and ``nbgrader export`` see them.

Everything goes through nbgrader's own :class:`nbgrader.api.Gradebook` (and, where it has no method,
its ORM classes in the gradebook's own session), so the database is exactly what nbgrader would write:

- an *assignment* per assignment id, holding one *notebook* named as nbgrader names notebooks (the
  notebook file's stem, ``char-rnn``);
- one auto-graded *grade cell* per hidden grader, named by the grader's short id
  (``test_model.py::test_recurrent`` → ``model.recurrent``, as in ``gradebook.csv``, with a case's
  brackets made selector-safe: :func:`cell_name`), its ``max_score`` the grader's points;
- a *student* per student and a *submission* per (student, assignment), each grader's score its grade's
  ``auto_score``;
- per written question (``course.toml``'s ``written``) a markdown grade cell and a solution cell named by
  the answer cell's ``grade_id`` (``why_shared``), as nbgrader makes for a "manually graded answer": its
  grade has no ``auto_score`` and ``needs_manual_grade`` until a TA gives a ``manual_score`` in the
  formgrader (an answer left as released gets an ``auto_score`` of zero at once, as nbgrader does).
  :func:`marks` reads the TA's points and comments, which go into the results before they are written.

Regrading updates rows in place: a second write changes scores, never adds rows. A grader that no
longer exists loses its grade cell (and its grades), so nbgrader's totals stay those of the current
graders. A submission that could not be graded (``Result.error``) still gets a zero for every grader.
An instructor's manual score is never touched, on a written answer or a grader; as in nbgrader's own
autograder, a grader's grade that has one is flagged for review, and so is a written answer that changed
since the TA graded it.

An assignment that ``nbgrader generate_assignment`` put in the database (its notebook has task or
source cells, from the notebook's own nbgrader metadata; we make neither) is refused with
:class:`GradebookError` before anything is written: its grade cells are the notebook's
visible test cells (``check-Model``, 12 points), ours are the hidden graders, so adding ours beside
them would count the assignment twice (100 points for 50), replacing them would break a later
``nbgrader autograde``, and the two cannot be mapped onto each other. Such a course keeps the
database nbgrader grades into and gives ``course grade`` one of its own (``course release`` already
keeps its nbgrader database in a scratch folder, so the course's own database only ever holds ours).

nbgrader's formgrader lists these submissions (as autograded, with our scores) and opens each for manual
grading when it runs with ``CourseDirectory.root`` at the folder holding ``autograded/`` (see
:mod:`autograder.autograded`: an SQLite gradebook's folder) and ``CourseDirectory.db_url`` at this
database.

nbgrader commits after every ``update_or_create_*``; a write that fails half way leaves a database
that the next write completes, since every step is idempotent.
"""

from __future__ import annotations

import contextlib
import locale
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Course, CourseError
from autograder.judge import catalogue
from autograder.messages import say
from autograder.model import Result
from autograder.results import grader_key


class GradebookError(CourseError):
    """The database holds something we must not overwrite (an assignment of nbgrader's own)."""


def db_url(db: str | Path) -> str:
    """A database URL as nbgrader takes it: a URL stays as it is, a path becomes ``sqlite:///<abs path>``
    (its folder made, as SQLite makes the file but not the folder)."""
    text = str(db)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def write(db: str | Path, course: Course, results: list[Result],
          answers: dict[tuple[str, str], Answers] | None = None) -> None:
    """Write every grader's score of ``results`` into nbgrader's gradebook at ``db`` (a path or a URL), and
    a grade to give by hand per written answer; ``answers``: what changed or was left unanswered, by
    (student, assignment)."""
    from nbgrader.api import Gradebook

    by_assignment: dict[str, list[Result]] = {}
    for result in results:
        by_assignment.setdefault(result.assignment, []).append(result)
    with warnings.catch_warnings(), nbgrader_environment(), Gradebook(db_url(db), course_id=course.id) as gb:
        # nbgrader's add_submission builds its rows before adding them to the session, which SQLAlchemy
        # warns about on every new submission (nbgrader autograde prints the same); the rows are right
        warnings.filterwarnings("ignore", message="Object of type <Submitted", category=Warning)
        # refuse before writing anything, so a refused write leaves the database as it was
        for aid in by_assignment:
            _refuse_foreign(gb, aid)
            _refuse_losing_manual(gb, aid, course.assignment(aid).written_ids)
        for result in results:
            _refuse_odd_student(result.student)
        for aid, graded in sorted(by_assignment.items()):
            notebook = Path(course.assignment(aid).notebook).stem
            cells = _cells(course, aid, graded)
            questions = dict(course.assignment(aid).written)
            _write_structure(gb, aid, notebook, cells, questions)
            for result in graded:
                _write_submission(gb, aid, notebook, cells, questions, result,
                                  (answers or {}).get((result.student, aid), Answers()))


@dataclass(frozen=True)
class Mark:
    """A TA's grade of one written answer, as the gradebook holds it."""

    score: float            # manual score and extra credit
    comment: str
    flagged: bool           # needs_manual_grade: the answer changed since the TA graded it


def marks(db: str | Path, course: Course) -> dict[tuple[str, str, str], Mark]:
    """Every TA's grade of a written answer in the gradebook at ``db``, by (student, assignment, question):
    read before grading, so that each result is written once with the points so far (none where there
    is no database yet)."""
    text = str(db)
    if "://" not in text and not Path(text).expanduser().is_file():
        return {}
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with nbgrader_environment(), Gradebook(db_url(db), course_id=course.id) as gb:
        for assignment in course.assignments:
            try:
                submissions = gb.assignment_submissions(assignment.id)
            except MissingEntry:
                continue
            questions = set(assignment.written_ids)
            for submission in submissions:
                for submitted in submission.notebooks:
                    comments = {c.cell.name: c.comment or "" for c in submitted.comments}
                    for grade in submitted.grades:
                        if grade.cell.name in questions and grade.manual_score is not None:
                            found[submission.student.id, assignment.id, grade.cell.name] = Mark(
                                float(grade.manual_score) + float(grade.extra_credit or 0),
                                comments.get(grade.cell.name, ""), bool(grade.needs_manual_grade))
    return found


def mark(result: Result, found: dict[tuple[str, str, str], Mark], changed: set[str]) -> None:
    """The TA's points and comment into ``result``'s written answers, flagged where the answer changed since
    (now, or in a run the TA has not looked at since); the others stay as grading left them (pending, or
    zero for an answer left as released)."""
    for w in result.written:
        given = found.get((result.student, result.assignment, w.blank))
        if given is not None:
            w.status, w.score = "graded", given.score
            w.output = "\n".join(filter(None, [given.comment, say("written_changed")
                                                if given.flagged or w.blank in changed else ""]))


@dataclass
class Answers:
    """A submission's written answers as grading found them."""

    changed: set[str] = field(default_factory=set)      # differ from the copy the TA last saw
    unanswered: set[str] = field(default_factory=set)   # still the release's stub


@contextlib.contextmanager
def nbgrader_environment(**extra: str):
    """The process environment nbgrader's subprocesses need, for the duration of a ``with``; ``extra``
    variables are set too.

    - nbgrader stamps a new database with the version that its ``alembic`` command prints, found on
      PATH (and executes notebooks with the kernel found there): this environment's ``bin`` goes first,
      as ``course`` may run from a venv that is not activated.
    - ``alembic`` reads its ini file in the locale's encoding (``encoding="locale"``, which Python's
      UTF-8 mode does not change): under ``LC_ALL=C`` a path or a file with CJK characters fails to
      decode as ASCII. Where the locale's encoding is not UTF-8, the subprocesses get ``C.UTF-8``.
    """
    changes = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH") or os.defpath]),
               **extra}
    if locale.getencoding().lower().replace("-", "") != "utf8":
        changes["LC_ALL"] = "C.UTF-8"
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _refuse_foreign(gb, aid: str) -> None:
    from nbgrader.api import MissingEntry

    try:
        assignment = gb.find_assignment(aid)
    except MissingEntry:
        return
    for nb in assignment.notebooks:
        if nb.task_cells or nb.source_cells:
            raise GradebookError(
                f"the gradebook's assignment {aid!r} was made by nbgrader generate_assignment (notebook "
                f"{nb.name!r} has grade cells {sorted(c.name for c in nb.grade_cells)} from its own metadata); "
                f"writing the hidden graders beside them would count the assignment twice: "
                f"give `course grade --gradebook` a database of its own")


def cell_name(nodeid: str) -> str:
    """A grader's grade cell: its short name (``model.recurrent``), with every character a CSS selector
    cannot take bare made a ``-`` (``elman_forward.shapes[T=5,N=3]`` → ``elman_forward.shapes-T-5-N-3``):
    the formgrader's script looks each grade up as ``$("#" + name)``, and a ``[`` or ``=`` there stops
    the whole page before its grade fields work."""
    return re.sub(r"[^\w.-]+", "-", grader_key(nodeid)).strip("-")      # \w: letters of any script too


STUDENT = re.compile(r"[\w.@+-]{1,100}")


def _refuse_odd_student(student: str) -> None:
    """A student id goes into the formgrader's pages unescaped (nbgrader's templates print it as it is):
    letters, digits and ``_.@+-`` only."""
    if not STUDENT.fullmatch(student):
        raise GradebookError(f"student id {student!r} is not letters, digits and _.@+- only: nbgrader's "
                             f"formgrader would put it into its pages as markup; rename the folder")


def _refuse_losing_manual(gb, aid: str, questions: set[str]) -> None:
    """A written question gone from course.toml (renamed, or a typo) would take the TA's points with it."""
    from nbgrader.api import MissingEntry

    try:
        assignment = gb.find_assignment(aid)
    except MissingEntry:
        return
    for nb in assignment.notebooks:
        for cell in nb.grade_cells:
            if cell.cell_type == "markdown" and cell.name not in questions and any(
                    g.manual_score is not None for g in cell.grades):
                raise GradebookError(f"{aid}: the written question {cell.name!r} is no longer in course.toml's "
                                     f"written, but a TA has graded it: put it back (or export those grades and "
                                     f"give `course grade --gradebook` a new database)")


def _cells(course: Course, aid: str, graded: list[Result]) -> dict[str, float]:
    """Grade cell name → points, in the graders' order, from the results (or the graders themselves)."""
    cells: dict[str, float] = {}
    tests = [t for r in graded for t in r.tests] or list(catalogue(course.assignment(aid).graders))
    keys: dict[str, str] = {}
    for t in tests:
        name = cell_name(t.nodeid)
        if keys.setdefault(name, t.nodeid) != t.nodeid:
            raise GradebookError(f"{aid}: graders {keys[name]} and {t.nodeid} would share the grade cell {name!r}")
        if name in cells and cells[name] != t.max_score:
            raise GradebookError(f"{aid}: grader {name} is worth {cells[name]:g} in one result and "
                                 f"{t.max_score:g} in another (results of different grader versions?)")
        cells[name] = t.max_score
    return cells


def _write_structure(gb, aid: str, notebook: str, cells: dict[str, float], questions: dict[str, float]) -> None:
    """The assignment, its one notebook, one grade cell per grader and a grade and a solution cell per
    written question; stale ones of ours removed."""
    assignment = gb.update_or_create_assignment(aid)
    for nb in list(assignment.notebooks):
        if nb.name != notebook:          # the notebook was renamed in course.toml
            gb.remove_notebook(nb.name, aid)
    nb = gb.update_or_create_notebook(notebook, aid)
    for name, points in cells.items():
        gb.update_or_create_grade_cell(name, notebook, aid, max_score=points, cell_type="code")
    for name, points in questions.items():
        gb.update_or_create_grade_cell(name, notebook, aid, max_score=points, cell_type="markdown")
        gb.update_or_create_solution_cell(name, notebook, aid)
    for cell in [c for c in nb.grade_cells if c.name not in cells and c.name not in questions]:  # removed, renamed
        for grade in list(cell.grades):
            gb.db.delete(grade)
        gb.db.delete(cell)
    for cell in [c for c in nb.solution_cells if c.name not in questions]:
        for comment in list(cell.comments):
            gb.db.delete(comment)
        gb.db.delete(cell)
    gb.db.commit()
    # nbgrader mirrors the grade and solution cells into a submission only when the submission is first
    # made: the submissions of earlier writes get a grade row for a grader added since (ungraded: nbgrader
    # counts it zero and its formgrader asks for a look) until they are regraded
    for submitted in nb.submissions:
        _grades(gb, submitted)
        _comments(gb, submitted)
    gb.db.commit()


def _grades(gb, submitted) -> dict:
    """Grade cell name → the submitted notebook's grade, one made for every cell that has none."""
    from nbgrader.api import Grade

    grades = {g.cell.name: g for g in submitted.grades}
    for cell in submitted.notebook.grade_cells:
        if cell.name not in grades:
            grades[cell.name] = Grade(cell_id=cell.id, notebook=submitted)
            gb.db.add(grades[cell.name])
    return grades


def _comments(gb, submitted) -> None:
    """A comment row (empty) for every solution cell that has none: the formgrader looks one up per answer."""
    from nbgrader.api import Comment

    have = {c.cell.name for c in submitted.comments}
    for cell in submitted.notebook.solution_cells:
        if cell.name not in have:
            gb.db.add(Comment(cell_id=cell.id, notebook=submitted))


def _write_submission(gb, aid: str, notebook: str, cells: dict[str, float], questions: dict[str, float],
                      result: Result, answers: Answers) -> None:
    from nbgrader.api import SubmittedNotebook

    gb.update_or_create_student(result.student)
    submission = gb.update_or_create_submission(aid, result.student)
    submitted = next((n for n in submission.notebooks if n.name == notebook), None)
    if submitted is None:                # a submission of a notebook since renamed
        submitted = SubmittedNotebook(notebook=gb.find_notebook(notebook, aid), assignment=submission)
        gb.db.add(submitted)
    grades = _grades(gb, submitted)
    _comments(gb, submitted)
    scores = {cell_name(t.nodeid): t.score for t in result.tests}
    for name in cells:
        grade = grades[name]
        grade.auto_score = float(scores.get(name, 0.0))    # not graded (Result.error): zero
        # as nbgrader's autograder does: an instructor's manual score stands, and is flagged for review
        grade.needs_manual_grade = grade.manual_score is not None
    for name in questions:
        grade = grades[name]
        grade.auto_score = 0.0 if name in answers.unanswered else None
        if grade.manual_score is None:
            grade.needs_manual_grade = grade.auto_score is None
        elif name in answers.changed:    # the TA's points stand, but they graded another answer
            grade.needs_manual_grade = True
    gb.db.commit()


class Marking:
    """What ``--gradebook`` does around grading: the TA's points read before it (:func:`marks`), put into
    each result before it is written (:meth:`finish`), and after it the scores into the database and each
    submission where the formgrader opens it (:meth:`record`)."""

    def __init__(self, db: str | Path, course: Course):
        from autograder import autograded

        self.db, self.course = db, course
        self.folder = autograded.root(db, course)
        self.found = marks(db, course)
        self.answers: dict[tuple[str, str], Answers] = {}
        self.shown: dict[tuple[str, str], str | None] = {}

    def finish(self, result: Result, executed: str | None) -> None:
        """Before ``result`` is written: what the TA will read (the notebook as run, else as handed in), what
        changed since the TA last saw it, what is left unanswered; the TA's points so far."""
        import json

        import nbformat

        from autograder import autograded, written

        text = executed
        if text is None and Path(result.path).is_file() and (handed_in := written.submitted(result.path)).get("cells"):
            text = nbformat.writes(nbformat.from_dict(handed_in))
        try:
            notebook = json.loads(text) if text is not None else {}
        except ValueError:
            notebook = {}
        key = (result.student, result.assignment)
        self.shown[key] = text
        changed = autograded.changed(self.folder, self.course, result, text)
        self.answers[key] = Answers(changed=changed, unanswered=written.unanswered(
            self.course, self.course.assignment(result.assignment), notebook if isinstance(notebook, dict) else {}))
        mark(result, self.found, changed)

    def record(self, graded: list[Result]) -> None:
        """Every grader's score into the database; each submission into ``autograded/`` for the formgrader."""
        from autograder import autograded

        write(self.db, self.course, graded, self.answers)
        for r in graded:
            autograded.write(self.folder, self.course, r, self.shown.get((r.student, r.assignment)))
