"""``course validate``: proof that the graders are right.

For each assignment: the points add up (graders = ``course.toml`` = the notebook's visible checks), and
each written question of ``course.toml`` is in the notebook with its points, a model answer and a rubric
(:func:`autograder.written.problems`); the
solution scores full marks; the blank release notebook scores zero with a "not implemented" message
on every grader and no grader error; every mutant in ``autograder/mutants/<aid>.py`` loses points on
the blank it names, and on no other (one mistake, one deduction); every valid variant keeps full marks.
The solution, mutants and variants also go through the public checks: a blank whose public check fails
must lose points in the hidden graders too (they are never laxer than ``course check``).

With ``--mutate`` (:mod:`autograder.mutation`): mutation testing of the graders. Every machine mutant of each
blank's solution (:mod:`autograder.mutate`) is graded; one that keeps full marks survives, and fails the
run unless ``autograder/mutants/equivalent.py`` lists it, with the reason, as computing what the solution
computes.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from autograder import answers, judge, written
from autograder.course import PACKAGE, Assignment, Course, CourseError
from autograder.isolation import Policy
from autograder.notebook import grade_id


@dataclass(frozen=True)
class Mutant:
    name: str
    why: str
    edits: list
    loses: str              # the blank whose graders must catch it


@dataclass(frozen=True)
class Variant:
    name: str
    why: str
    edits: list


@dataclass(frozen=True)
class Attack:
    """A hostile or broken submission: ``base`` ("solution" or "blank") with ``edits``.

    It must be graded exactly as ``honest`` (edits of the same base; None: the base itself) is,
    grader by grader.
    """

    name: str
    why: str
    edits: list
    honest: list | None = None
    base: str = "solution"


# attacks that loop or hang are stopped by these limits rather than the course's (minutes)
ATTACK_LIMITS = {"cell_seconds": 4, "notebook_seconds": 15, "call_seconds": 3}


@dataclass
class Check:
    what: str               # "solution", "blank", "mutant onehot-off-by-one", ...
    ok: bool
    detail: str = ""
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class Report:
    assignment: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def module_at(path: Path):
    """A catalogue kept as a Python file (mutants, attacks, equivalents), loaded as a module of its own."""
    spec = importlib.util.spec_from_file_location(f"_catalogue_{path.parent.name}_{path.stem}".replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalogue(aid: str):
    """The mutants and variants of an assignment (an empty pair when it has none)."""
    path = PACKAGE / "mutants" / f"{aid}.py"
    if not path.is_file():
        return [], []
    module = module_at(path)
    return list(getattr(module, "MUTANTS", [])), list(getattr(module, "VARIANTS", []))


def apply(source: nbformat.NotebookNode, edits) -> nbformat.NotebookNode:
    """The master notebook with ``edits`` made to its cells (each ``old`` must occur exactly once)."""
    nb = nbformat.from_dict(source)
    cells = {grade_id(c): c for c in nb.cells}
    for cell_id, old, new in edits:
        if cell_id == "+":                       # a cell the student added at the end
            nb.cells.append(nbformat.v4.new_code_cell(new))
            continue
        if cell_id not in cells:
            raise CourseError(f"edit names cell {cell_id!r}, which the notebook does not have")
        cell = cells[cell_id]
        if old is None:
            cell.source = new
            continue
        count = cell.source.count(old)
        if count != 1:
            raise CourseError(f"edit of cell {cell_id!r}: {old!r} occurs {count} times (the catalogue is stale)")
        cell.source = cell.source.replace(old, new)
    return nb


def attacks(course: Course, aid: str) -> list[Attack]:
    """The attack corpus of an assignment, kept with the project's tests (none if it has no corpus)."""
    path = course.root / "tests" / "attacks" / f"{aid}.py"
    if not path.is_file():
        return []
    return list(getattr(module_at(path), "ATTACKS", []))


def grade_cell_points(nb: nbformat.NotebookNode) -> float:
    """The points of the notebook's visible checks (a written answer's are course.toml's ``written``)."""
    return sum(float(c.metadata.get("nbgrader", {}).get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")


def _outcome(result) -> list[tuple[str, str]]:
    return [(t.nodeid, t.status) for t in result.tests]


@dataclass
class Plan:
    """What validating one assignment grades, and how to read the grades."""

    assignment: Assignment
    report: Report
    tasks: list = field(default_factory=list)         # (name, notebook path)
    mutants: dict = field(default_factory=dict)
    attacks: dict = field(default_factory=dict)
    twins: dict = field(default_factory=dict)         # (base, honest edits) -> name of the twin's task
    public: set = field(default_factory=set)          # tasks also graded by the public checks


def attack_notebook(base: nbformat.NotebookNode, edits, root: str = "/") -> nbformat.NotebookNode:
    """An attack's notebook: ``base`` with ``edits``, its file-system attacks looking under ``root``
    (``@ATTACK_ROOT@`` in their code; "/" in a real validation, a test's own folder in the tests)."""
    return apply(base, [(cell, old, new.replace("@ATTACK_ROOT@", root) if new else new) for cell, old, new in edits])


def plan(course: Course, assignment: Assignment, scratch: Path, corpus: bool = True, graders: Path | None = None,
         attack_root: str = "/", public: bool = True) -> Plan:
    """Write every notebook to grade (solution, blank, mutants, variants, attacks and their twins).
    ``graders``: the assignment's graders as the run's snapshot holds them."""
    source_path = assignment.path(course.root, "source")
    source = nbformat.read(str(source_path), as_version=4)
    work = Plan(assignment, Report(assignment.id))
    total = sum(t.max_score for t in judge.catalogue(graders or assignment.graders))
    cells = grade_cell_points(source)
    # a parametrized grader's cases hold fractions of its points: their sum is exact only to round-off
    agree = math.isclose(total, assignment.points, abs_tol=1e-9) and math.isclose(cells, assignment.points, abs_tol=1e-9)
    work.report.checks.append(Check("points", agree,
                                    f"graders {total:g}, course.toml {assignment.points:g}, grade cells {cells:g}"))
    wrong = written.problems(course, assignment)
    work.report.checks.append(Check("written", not wrong, "; ".join(wrong) or
                                    f"{len(assignment.written)} question(s), {assignment.written_points:g} points, "
                                    f"each with a model answer and a rubric"))
    solutions = assignment.path(course.root, "solutions")
    work.tasks += [("solution", solutions if solutions.is_file() else source_path),
                   ("blank", assignment.path(course.root, "release"))]
    folder = scratch / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    # no answer in a worker: the blank notebook, searching its own memory whenever a grader calls it
    release = nbformat.read(str(assignment.path(course.root, "release")), as_version=4)
    nbformat.write(answers.probe_notebook(source, release), str(folder / "probe.ipynb"))
    work.tasks.append((PROBE, folder / "probe.ipynb"))
    mutants, variants = catalogue(assignment.id)
    work.mutants = {m.name: m for m in mutants}
    for kind, items in (("mutant", mutants), ("variant", variants)):
        for item in items:
            path = folder / f"{kind}-{item.name}.ipynb"
            nbformat.write(apply(source, item.edits), str(path))
            work.tasks.append((f"{kind} {item.name}", path))
    if public and assignment.checks.is_dir():   # these also go through the public checks (see verdicts)
        work.public = {name for name, _ in work.tasks if name != "blank"}
    bases = {"solution": source,
             "blank": nbformat.read(str(assignment.path(course.root, "release")), as_version=4)}
    for n, attack in enumerate(attacks(course, assignment.id) if corpus else []):
        work.attacks[attack.name] = attack
        path = folder / f"attack-{n}.ipynb"
        nbformat.write(attack_notebook(bases[attack.base], attack.edits, attack_root), str(path))
        work.tasks.append((f"attack {attack.name}", path))
        key = (attack.base, repr(attack.honest))
        if key not in work.twins:
            work.twins[key] = f"honest {len(work.twins)}"
            path = folder / f"honest-{len(work.twins)}.ipynb"
            nbformat.write(apply(bases[attack.base], attack.honest or []), str(path))
            work.tasks.append((work.twins[key], path))
    return work


PUBLIC = "public "      # a task graded by the public checks (course check) rather than the hidden graders
PROBE = "answer probe"  # the blank notebook that searches the worker for answers (autograder.answers)


def laxer_than_public(result, public) -> list[str]:
    """The blanks a public check fails whose hidden graders still give full marks: a submission that
    `course check` rejects must lose points on that blank in the hidden grade too."""
    failed = {t.blank: t.output for t in public.tests if t.status != "passed" and t.blank}
    kept = [blank for blank in failed if not any(t.blank == blank and t.status != "passed" for t in result.tests)]
    return [f"{blank} fails its public check ({failed[blank].splitlines()[0][:160]}) but keeps full marks"
            for blank in sorted(kept)]


def verdicts(work: Plan, graded: dict) -> Report:
    """Read the grades of a plan's notebooks into its report."""
    report = work.report
    for name, _ in work.tasks:
        result = graded[name]
        if name.startswith(("honest ", PUBLIC)):
            continue
        if name == PROBE:
            ok, detail = answers.verdict(result.output)
            report.checks.append(Check("answers never in the worker", ok and not result.grader_errors,
                                       detail + (f"; grader errors: {[t.name for t in result.grader_errors]}"
                                                 if result.grader_errors else ""), result.auto_score, result.auto_max))
            continue
        if name.startswith("attack "):
            attack = work.attacks[name.split(" ", 1)[1]]
            twin = graded[work.twins[(attack.base, repr(attack.honest))]]
            differ = [f"{a[0]}: {a[1]} (honest: {b[1]})" for a, b in zip(_outcome(result), _outcome(twin)) if a != b]
            ok = not differ and result.auto_score == twin.auto_score and not result.grader_errors and not twin.grader_errors
            detail = "; ".join(differ) if differ else f"as the honest twin ({twin.auto_score:g})"
            report.checks.append(Check(name, ok, detail, result.auto_score, result.auto_max))
            continue
        check = Check(name, True, score=result.auto_score, max_score=result.auto_max)
        broken = [t.name for t in result.grader_errors]
        if broken:
            check.ok, check.detail = False, f"grader errors: {broken}"
        elif name == "solution" or name.startswith("variant "):
            lost = [f"{t.nodeid}: {t.output[:300]}" for t in result.tests if t.status != "passed"]
            check.ok = not lost and result.auto_score == result.auto_max
            check.detail = "; ".join(lost)
        elif name == "blank":
            silent = [t.nodeid for t in result.tests if "not implemented" not in t.output]
            check.ok = result.auto_score == 0 and not silent and not result.error
            check.detail = f"without a 'not implemented' message: {silent}" if silent else ""
        else:
            mutant = work.mutants[name.split(" ", 1)[1]]
            caught = [t.nodeid for t in result.tests if t.status != "passed" and t.blank == mutant.loses]
            # one mistake, one deduction: the graders of a blank that calls this one use its reference
            elsewhere = sorted({t.blank or t.nodeid for t in result.tests if t.status != "passed"} - {mutant.loses})
            check.ok = bool(caught) and result.auto_score < result.auto_max and not elsewhere
            check.detail = f"caught by {len(caught)} grader(s) of {mutant.loses}" if caught else \
                f"NOT caught by the graders of {mutant.loses}"
            if elsewhere:
                check.detail += f"; ALSO charged to {', '.join(elsewhere)}"
        public = graded.get(PUBLIC + name)
        if public is not None:
            lax = laxer_than_public(result, public)
            if name == "solution" and public.auto_score < public.auto_max:
                lax.append("the solution fails a public check: " + "; ".join(
                    f"{t.nodeid}: {t.output[:200]}" for t in public.tests if t.status != "passed"))
            if lax:
                check.ok = False
                check.detail = "; ".join(filter(None, [check.detail, *lax]))
        report.checks.append(check)
    return report


def student(name: str) -> str:
    """The student a task of a plan is graded as (and its results' folder under ``--out``)."""
    return name.replace(" ", "-")


def grade_plans(course: Course, assignments: list[Assignment], build, jobs: int = 1, out: Path | None = None,
                policy: Policy = Policy()) -> tuple[list, dict]:
    """Grade the notebooks of the plans ``build(scratch, graders, isolated)`` writes, with the one driver
    that grades a class (:func:`autograder.batch.grade_all`): one pool of judges for them all. ``build``
    gets the scratch folder, the graders' snapshot and whether workers are isolated here; it returns plans
    (anything with ``assignment`` and ``tasks``, a list of (name, notebook path); ``public``, the names
    also graded by the public checks).

    Returns the plans and their grades, ``{aid: {name: Result}}``. With ``out``, every graded notebook's
    results are kept as a class's would be: ``out/<name>/<aid>/`` and ``out/gradebook.csv``.

    Like grading, it refuses (:class:`IsolationRefused`) where workers cannot be isolated and ``policy``
    does not trust the notebooks.
    """
    from autograder.batch import Job, grade_all

    plans = []
    hostile = replace(course.limits, **ATTACK_LIMITS)

    def jobs_of(scratch: Path, graders, isolated: bool) -> list[Job]:
        plans.extend(build(scratch, graders, isolated))
        todo = [Job(student(name), p.assignment, Path(path),
                    hostile if name.startswith(("attack ", "honest ")) else None, name in getattr(p, "public", ()))
                for p in plans for name, path in p.tasks]
        # the slowest first, so that no judge is left with a long one at the end
        return sorted(todo, key=lambda job: job.limits is None)

    graded = {(r.assignment, r.student): r
              for r in grade_all(course, jobs_of, out, jobs, policy=policy, assignments=assignments)}
    return plans, {p.assignment.id: {name: graded[p.assignment.id, student(name)]
                                     for name in [n for n, _ in p.tasks] + [PUBLIC + n for n in getattr(p, "public", ())]}
                   for p in plans}


def validate_all(course: Course, assignments: list[Assignment], jobs: int = 1, corpus: bool = True,
                 out: Path | None = None, policy: Policy = Policy(), attack_root: str = "/",
                 public: bool = True) -> list[Report]:
    """Validate several assignments with one pool of judges (see :func:`grade_plans`).

    With ``out``, every graded notebook's results are kept (``out/attack-fork-bomb/<aid>/``,
    ``out/mutant-no-step/<aid>/``, ...), to read a failure or to compare with another grading.

    Where ``policy`` trusts the notebooks and workers cannot be isolated, the attack corpus is never run
    (hostile notebooks only ever run isolated) and its check says so. ``public=False`` leaves out the
    grading through the public checks (and so the rule that the hidden graders are never laxer).
    """
    def build(scratch: Path, graders, isolated: bool) -> list[Plan]:
        plans = [plan(course, a, scratch, corpus and isolated, graders[a.graders], attack_root, public)
                 for a in assignments]
        if not isolated:
            for p in plans:
                p.report.checks.append(Check("attack corpus", True, "not run: workers are not isolated on this "
                                                                    "machine (the notebooks are trusted)"))
        return plans

    plans, graded = grade_plans(course, assignments, build, jobs, out, policy)
    return [verdicts(p, graded[p.assignment.id]) for p in plans]


def validate(course: Course, assignment: Assignment, jobs: int = 1, corpus: bool = True) -> Report:
    return validate_all(course, [assignment], jobs, corpus)[0]
