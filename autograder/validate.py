"""``course validate``: proof that the graders are right.

For each assignment: the points add up (graders = ``course.toml`` = the notebook's visible checks), and
each written question of ``course.toml`` is in the notebook with its points, a model answer and a rubric
(:func:`autograder.written.problems`); the
solution scores full marks; the blank release notebook scores zero with a "not implemented" message
on every grader and no grader error; every mutant in ``autograder/mutants/<aid>.py`` loses points on
the blank it names, and on no other (one mistake, one deduction); every valid variant keeps full marks.
The solution, mutants and variants also go through the public checks: a blank whose public check fails
must lose points in the hidden graders too (they are never laxer than ``course check``).

With ``--mutate`` (:func:`mutate_all`): mutation testing of the graders. Every machine mutant of each
blank's solution (:mod:`autograder.mutate`) is graded; one that keeps full marks survives, and fails the
run unless ``autograder/mutants/equivalent.py`` lists it, with the reason, as computing what the solution
computes.
"""

from __future__ import annotations

import hashlib
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


def _load(path: Path):
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
    module = _load(path)
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
    return list(getattr(_load(path), "ATTACKS", []))


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


# ------------------------------------------------------------------------------ machine mutants (--mutate)

MACHINE = "machine "     # a machine mutant's task is named "machine <its folder name>"


def equivalents() -> dict[str, dict[str, str]]:
    """``autograder/mutants/equivalent.py``'s ``EQUIVALENT``: per assignment, the machine mutants that
    cannot be killed because they compute what the solution computes, each with the reason."""
    path = PACKAGE / "mutants" / "equivalent.py"
    if not path.is_file():
        return {}
    return dict(getattr(_load(path), "EQUIVALENT", {}))


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


def mutation_plan(course: Course, assignment: Assignment, scratch: Path, operators=None,
                  limit: int | None = None) -> MutationPlan:
    """Write the solution's machine mutants (``operators``, at most ``limit`` of them) to grade."""
    from autograder import mutate

    source_path = assignment.path(course.root, "source")
    source = nbformat.read(str(source_path), as_version=4)
    work = MutationPlan(assignment, MutationReport(assignment.id))
    # stale entries are judged against everything the operators make, so a subset run reports none wrongly
    every = mutate.mutants(source)
    work.every_id = [m.id for m in every]
    folder = scratch / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    work.tasks.append(("solution", source_path))        # the mutants' own base: it must keep full marks
    chosen = [m for m in every if operators is None or m.operator in operators]
    for mutant in sample(chosen, limit):
        name = folder_name(mutant)
        path = folder / f"machine-{name}.ipynb"
        nbformat.write(mutate.notebook(source, mutant), str(path))
        work.tasks.append((MACHINE + name, path))
        work.machine[MACHINE + name] = mutant
    return work


def mutation_verdicts(work: MutationPlan, graded: dict, listed: dict[str, str]) -> MutationReport:
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
    (:mod:`autograder.mutate`) with the judges and pool :func:`validate_all` uses. ``operators``: names
    of :data:`autograder.mutate.OPERATORS` (default: all); ``limit``: at most that many mutants per
    assignment. With ``out``, every mutant's results are kept (``out/machine-<name>/<aid>/``)."""
    from autograder.mutate import OPERATORS

    unknown = sorted(set(operators or ()) - set(OPERATORS))
    if unknown:
        raise CourseError(f"unknown mutation operator(s) {', '.join(unknown)}; known: {', '.join(OPERATORS)}")
    listed = equivalents()

    def build(scratch: Path, graders, isolated: bool) -> list[MutationPlan]:
        return [mutation_plan(course, a, scratch, operators, limit) for a in assignments]

    plans, graded = grade_plans(course, assignments, build, jobs, out, policy)
    return [mutation_verdicts(p, graded[p.assignment.id], listed.get(p.assignment.id, {})) for p in plans]
