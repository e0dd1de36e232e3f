"""``course validate``: proof that the graders are right.

For each assignment: the points add up (graders = ``course.toml`` = the notebook's grade cells); the
solution scores full marks; the blank release notebook scores zero with a "not implemented" message
on every grader and no grader error; every mutant in ``autograder/mutants/<aid>.py`` loses points on
the blank it names; every valid variant keeps full marks.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import judge, results
from autograder.course import PACKAGE, Assignment, Course, CourseError
from autograder.isolation import Policy
from autograder.notebook import grade_id
from autograder.snapshot import Snapshot


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


def catalogue(aid: str):
    """The mutants and variants of an assignment (an empty pair when it has none)."""
    path = PACKAGE / "mutants" / f"{aid}.py"
    if not path.is_file():
        return [], []
    spec = importlib.util.spec_from_file_location(f"_mutants_{aid.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
    spec = importlib.util.spec_from_file_location(f"_attacks_{aid.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(getattr(module, "ATTACKS", []))


def grade_cell_points(nb: nbformat.NotebookNode) -> float:
    return sum(float(c.metadata.get("nbgrader", {}).get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


def _grade(args):
    course, assignment, path, key, folder, hide, policy = args
    name = key.split("\0")[-1]
    if name.startswith("attack ") or name.startswith("honest "):
        import dataclasses

        limits = dataclasses.replace(course.limits, **ATTACK_LIMITS)
        course = dataclasses.replace(course, limits=limits)
    return key, judge.grade(Path(path), assignment, course, student=name.replace(" ", "-"), folder=folder,
                            hide=hide, policy=policy)


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


def attack_notebook(base: nbformat.NotebookNode, edits, root: str = "/") -> nbformat.NotebookNode:
    """An attack's notebook: ``base`` with ``edits``, its file-system attacks looking under ``root``
    (``@ATTACK_ROOT@`` in their code; "/" in a real validation, a test's own folder in the tests)."""
    return apply(base, [(cell, old, new.replace("@ATTACK_ROOT@", root) if new else new) for cell, old, new in edits])


def plan(course: Course, assignment: Assignment, scratch: Path, corpus: bool = True, graders: Path | None = None,
         attack_root: str = "/") -> Plan:
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
    solutions = assignment.path(course.root, "solutions")
    work.tasks += [("solution", solutions if solutions.is_file() else source_path),
                   ("blank", assignment.path(course.root, "release"))]
    folder = scratch / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    mutants, variants = catalogue(assignment.id)
    work.mutants = {m.name: m for m in mutants}
    for kind, items in (("mutant", mutants), ("variant", variants)):
        for item in items:
            path = folder / f"{kind}-{item.name}.ipynb"
            nbformat.write(apply(source, item.edits), str(path))
            work.tasks.append((f"{kind} {item.name}", path))
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


def verdicts(work: Plan, graded: dict) -> Report:
    """Read the grades of a plan's notebooks into its report."""
    report = work.report
    for name, _ in work.tasks:
        result = graded[name]
        if name.startswith("honest "):
            continue
        if name.startswith("attack "):
            attack = work.attacks[name.split(" ", 1)[1]]
            twin = graded[work.twins[(attack.base, repr(attack.honest))]]
            differ = [f"{a[0]}: {a[1]} (honest: {b[1]})" for a, b in zip(_outcome(result), _outcome(twin)) if a != b]
            ok = not differ and result.score == twin.score and not result.grader_errors and not twin.grader_errors
            detail = "; ".join(differ) if differ else f"as the honest twin ({twin.score:g})"
            report.checks.append(Check(name, ok, detail, result.score, result.max_score))
            continue
        check = Check(name, True, score=result.score, max_score=result.max_score)
        broken = [t.name for t in result.grader_errors]
        if broken:
            check.ok, check.detail = False, f"grader errors: {broken}"
        elif name == "solution" or name.startswith("variant "):
            lost = [f"{t.nodeid}: {t.output[:300]}" for t in result.tests if t.status != "passed"]
            check.ok = not lost and result.score == result.max_score
            check.detail = "; ".join(lost)
        elif name == "blank":
            silent = [t.nodeid for t in result.tests if "not implemented" not in t.output]
            check.ok = result.score == 0 and not silent and not result.error
            check.detail = f"without a 'not implemented' message: {silent}" if silent else ""
        else:
            mutant = work.mutants[name.split(" ", 1)[1]]
            caught = [t.nodeid for t in result.tests if t.status != "passed" and t.blank == mutant.loses]
            check.ok = bool(caught) and result.score < result.max_score
            check.detail = f"caught by {len(caught)} grader(s) of {mutant.loses}" if caught else \
                f"NOT caught by the graders of {mutant.loses}"
        report.checks.append(check)
    return report


def validate_all(course: Course, assignments: list[Assignment], jobs: int = 1, corpus: bool = True,
                 out: Path | None = None, policy: Policy = Policy(), attack_root: str = "/") -> list[Report]:
    """Validate several assignments with one pool of judges (each judge pays its start-up once).

    With ``out``, every graded notebook's results are kept as a class would be: ``out/<name>/<aid>/``
    (``attack-fork-bomb``, ``mutant-no-step``, ...) and ``out/gradebook.csv``, to read a failure or to
    compare with another grading of the same notebooks.

    Like grading, validation refuses (:class:`IsolationRefused`) where workers cannot be isolated and
    ``policy`` does not trust the notebooks; where it trusts them, the attack corpus is never run
    (hostile notebooks only ever run isolated) and its check says so.
    """
    from autograder.batch import write_result
    from autograder.pool import parallel_map

    with tempfile.TemporaryDirectory(prefix="course-validate-") as scratch, \
            Snapshot([a.graders for a in assignments]) as graders:
        hide = tuple(str(p) for p in (Path(scratch), graders.root, *([Path(out).resolve()] if out else [])))
        _, isolated = judge.probe(course, judge.hidden_paths(course, Path(scratch) / "probe.ipynb", hide), policy)
        corpus = corpus and isolated
        plans = [plan(course, a, Path(scratch), corpus, graders[a.graders], attack_root) for a in assignments]
        if not isolated:
            for p in plans:
                p.report.checks.append(Check("attack corpus", True, "not run: workers are not isolated on this "
                                                                    "machine (the notebooks are trusted)"))
        work = [(course, p.assignment, str(path), f"{p.assignment.id}\0{name}", graders[p.assignment.graders],
                 hide, policy) for p in plans for name, path in p.tasks]
        # the slowest first, so that no judge is left with a long one at the end
        work.sort(key=lambda task: not task[3].split("\0")[1].startswith(("attack", "honest")))
        graded = dict(parallel_map(_grade, work, jobs))
    if out is not None:
        for result in graded.values():
            write_result(Path(out), result, course.language)
        results.write_atomic(Path(out) / "gradebook.csv", results.gradebook_csv(list(graded.values())))
    return [verdicts(p, {name: graded[f"{p.assignment.id}\0{name}"] for name, _ in p.tasks}) for p in plans]


def validate(course: Course, assignment: Assignment, jobs: int = 1, corpus: bool = True) -> Report:
    return validate_all(course, [assignment], jobs, corpus)[0]
