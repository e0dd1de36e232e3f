"""``course validate``: proof that the graders are right.

For each assignment: the points add up (graders = ``course.toml`` = the notebook's grade cells); the
solution scores full marks; the blank release notebook scores zero with a "not implemented" message
on every grader and no grader error; every mutant in ``autograder/mutants/<aid>.py`` loses points on
the blank it names; every valid variant keeps full marks.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import judge
from autograder.course import PACKAGE, Assignment, Course, CourseError
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
ATTACK_LIMITS = {"cell_seconds": 8, "notebook_seconds": 25, "call_seconds": 6}


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
    course, assignment, path, name = args
    if name.startswith("attack ") or name.startswith("honest "):
        import dataclasses

        limits = dataclasses.replace(course.limits, **ATTACK_LIMITS)
        course = dataclasses.replace(course, limits=limits)
    return name, judge.grade(Path(path), assignment, course, student=name)


def _outcome(result) -> list[tuple[str, str]]:
    return [(t.nodeid, t.status) for t in result.tests]


def validate(course: Course, assignment: Assignment, jobs: int = 1, corpus: bool = True) -> Report:
    from autograder.grade import parallel_map

    report = Report(assignment.id)
    source_path = assignment.path(course.root, "source")
    source = nbformat.read(str(source_path), as_version=4)
    graders = judge.catalogue(assignment.graders)
    total = sum(t.max_score for t in graders)
    cells = grade_cell_points(source)
    report.checks.append(Check("points", total == assignment.points == cells,
                               f"graders {total:g}, course.toml {assignment.points:g}, grade cells {cells:g}"))
    mutants, variants = catalogue(assignment.id)
    with tempfile.TemporaryDirectory(prefix="course-validate-") as scratch:
        tasks = [("solution", assignment.path(course.root, "solutions")
                  if assignment.path(course.root, "solutions").is_file() else source_path),
                 ("blank", assignment.path(course.root, "release"))]
        for kind, items in (("mutant", mutants), ("variant", variants)):
            for item in items:
                path = Path(scratch) / f"{kind}-{item.name}.ipynb"
                nbformat.write(apply(source, item.edits), str(path))
                tasks.append((f"{kind} {item.name}", path))
        corpus_items = attacks(course, assignment.id) if corpus else []
        bases = {"solution": source,
                 "blank": nbformat.read(str(assignment.path(course.root, "release")), as_version=4)}
        twins: dict = {}
        for n, attack in enumerate(corpus_items):
            path = Path(scratch) / f"attack-{n}.ipynb"
            nbformat.write(apply(bases[attack.base], attack.edits), str(path))
            tasks.append((f"attack {attack.name}", path))
            key = (attack.base, repr(attack.honest))
            if key not in twins:
                twins[key] = f"honest {len(twins)}"
                path = Path(scratch) / f"honest-{len(twins)}.ipynb"
                nbformat.write(apply(bases[attack.base], attack.honest or []), str(path))
                tasks.append((twins[key], path))
        graded = dict(parallel_map(_grade, [(course, assignment, str(p), n) for n, p in tasks], jobs))
    by_name = {m.name: m for m in mutants}
    by_attack = {a.name: a for a in corpus_items}
    for name, _ in tasks:
        result = graded[name]
        if name.startswith("honest "):
            continue
        if name.startswith("attack "):
            attack = by_attack[name.split(" ", 1)[1]]
            twin = graded[twins[(attack.base, repr(attack.honest))]]
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
            mutant = by_name[name.split(" ", 1)[1]]
            caught = [t.nodeid for t in result.tests if t.status != "passed" and t.blank == mutant.loses]
            check.ok = bool(caught) and result.score < result.max_score
            check.detail = f"caught by {len(caught)} grader(s) of {mutant.loses}" if caught else \
                f"NOT caught by the graders of {mutant.loses}"
        report.checks.append(check)
    return report
