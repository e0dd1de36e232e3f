"""``course export``: one assignment packed for where it is graded or done.

- :func:`gradescope` writes the autograder zip Gradescope builds its image from: ``setup.sh`` and
  ``run_autograder`` at the root, the engine, this assignment's hidden graders and the reference
  modules they import, its public checks, ``source/`` and ``release/``, and a ``course.toml`` that
  knows this one assignment.  Nothing of the other assignments, no mutants, examples or tests.
- :func:`student` writes what students get: the release notebook, the public checks and the engine
  behind ``course check``, without a hidden grader, a reference module (those are solutions), a
  source notebook or a solution.

Both zips are reproducible: entries sorted, every timestamp 1980-01-01, modes fixed (0755 for the
two scripts Gradescope runs, 0644 for the rest), so exporting twice gives the same bytes.
"""

from __future__ import annotations

import ast
import io
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import store
from autograder.course import PACKAGE, Assignment, Course, CourseError

DEFAULT_OUT = Path("dist")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# The Pythons setup.sh looks for by name, the one the pins were frozen with first: every pin of
# constraints.txt must have a distribution for each (tests/test_install.py resolves them all)
SETUP_PYTHONS = ("3.11", "3.12", "3.13")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)                 # the earliest time a zip can hold: reproducible zips
SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".DS_Store"}


@dataclass(frozen=True)
class Entry:
    """One file of a zip: its path inside the zip, its bytes, and whether it is executable."""

    name: str
    data: bytes
    executable: bool = False


# ------------------------------------------------------------------------------------------ the API
def gradescope(course: Course, aid: str, out: Path = DEFAULT_OUT) -> Path:
    """Write ``<out>/<aid>-gradescope.zip`` (or ``out`` itself, if it names a .zip); return its path."""
    assignment = course.assignment(aid)
    if not assignment.graders.is_dir():
        raise CourseError(f"{aid} has no hidden graders at {assignment.graders}")
    for area in ("source", "release"):
        if not assignment.path(course.root, area).is_file():
            raise CourseError(f"{assignment.path(course.root, area)} is missing (run `course release {aid}`)")
    pin = torch_pin(_read(course.root / "constraints.txt"))
    floor = python_floor(_read(course.root / "pyproject.toml"))
    entries = [
        Entry("setup.sh", setup_sh(pin, floor).encode(), executable=True),
        Entry("run_autograder", run_autograder(assignment).encode(), executable=True),
        Entry("gradescope_results.py", template("gradescope_results.py").encode()),
        Entry("README.md", template("gradescope-README.md", {"@AID@": aid, "@NOTEBOOK@": assignment.notebook}).encode()),
        *_project_files(course, aid),
        *engine(),
        *_checks(assignment),
        Entry("autograder/graders/__init__.py", (PACKAGE / "graders" / "__init__.py").read_bytes()),
        Entry("autograder/graders/pytest.ini", (PACKAGE / "graders" / "pytest.ini").read_bytes()),
        *(Entry(f"autograder/graders/{m.name}", m.read_bytes()) for m in reference_modules(assignment.graders)),
        *tree(assignment.graders, f"autograder/graders/{aid}"),
        *tree(course.root / "source" / aid, f"source/{aid}"),
        *tree(course.root / "release" / aid, f"release/{aid}"),
    ]
    return write_zip(_target(out, f"{aid}-gradescope.zip"), entries)


def student(course: Course, aid: str, out: Path = DEFAULT_OUT) -> Path:
    """Write ``<out>/<aid>-student.zip`` (or ``out`` itself, if it names a .zip); return its path."""
    assignment = course.assignment(aid)
    if not assignment.path(course.root, "release").is_file():
        raise CourseError(f"{assignment.path(course.root, 'release')} is missing (run `course release {aid}`)")
    # pyproject.toml's lower bounds, not constraints.txt's pins: a student's own Python and torch 2.x stay
    torch = torch_pin(_read(course.root / "constraints.txt"))
    floor = ".".join(map(str, python_floor(_read(course.root / "pyproject.toml"))))
    readme = template("student-README.md", {"@AID@": aid, "@NOTEBOOK@": assignment.notebook, "@TITLE@": assignment.title,
                                            "@TORCH@": torch, "@FLOOR@": floor, "@INDEX@": TORCH_CPU_INDEX})
    entries = [
        Entry("README.md", readme.encode()),
        *_project_files(course, aid, pins=False),
        *engine(references=False),
        *_checks(assignment),
        *tree(course.root / "release" / aid, f"release/{aid}"),
    ]
    return write_zip(_target(out, f"{aid}-student.zip"), entries)


# ------------------------------------------------------------------------------------------ contents
NOT_ENGINE = {"graders", "checks", "mutants"}     # per-assignment folders, each exported on its own terms
# the code put in the place of blanks while others are graded (the book's GetDummies, predict, ...): a
# student bundle leaves it out, as it leaves out the solutions; its course check then runs end to end
REFERENCES = "references.py"


def engine(references: bool = True) -> list[Entry]:
    """The engine: its modules (``autograder/*.py``) and their data (``templates/``, ...), without the
    graders, the checks and the mutants, which each export picks for its one assignment; without
    ``references.py`` where ``references`` is false."""
    return [e for e in tree(PACKAGE, "autograder") if e.name.split("/")[1] not in NOT_ENGINE
            and (references or e.name != f"autograder/{REFERENCES}")]


def _checks(assignment: Assignment) -> list[Entry]:
    entries = [Entry("autograder/checks/pytest.ini", (PACKAGE / "checks" / "pytest.ini").read_bytes())]
    if assignment.checks.is_dir():
        entries += tree(assignment.checks, f"autograder/checks/{assignment.id}")
    return entries


def _project_files(course: Course, aid: str, pins: bool = True) -> list[Entry]:
    """``course.toml`` reduced to the assignment, ``pyproject.toml``, and (``pins``) ``constraints.txt``."""
    entries = [Entry("course.toml", reduced_toml(_read(course.root / "course.toml"), aid).encode()),
               Entry("pyproject.toml", (course.root / "pyproject.toml").read_bytes())]
    if pins:
        entries.append(Entry("constraints.txt", (course.root / "constraints.txt").read_bytes()))
    return entries


def tree(folder: Path, prefix: str) -> list[Entry]:
    """Every file under ``folder`` as ``prefix/<relative path>``, without caches and hidden files."""
    entries = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p in SKIPPED or p.startswith(".") for p in parts) \
                and path.suffix not in (".pyc", ".pyo"):
            entries.append(Entry(f"{prefix}/{'/'.join(parts)}", path.read_bytes()))
    return entries


def reference_modules(graders: Path) -> list[Path]:
    """The modules of ``autograder/graders/`` that the graders in ``graders`` import, transitively.

    They hold the reference implementations (``char_rnn.py`` for 02-char-rnn): the Gradescope zip
    needs them, and only them, since another assignment's reference is another assignment's solution.
    """
    found: list[Path] = []
    todo = sorted(graders.rglob("*.py"))
    while todo:
        source = todo.pop()
        for name in _graders_imports(source):
            module = PACKAGE / "graders" / f"{name}.py"
            if module.is_file() and module not in found:
                found.append(module)
                todo.append(module)
    return sorted(found)


def _graders_imports(source: Path) -> set[str]:
    """Names ``X`` of ``autograder.graders.X`` imported by a file, in any of the forms Python allows."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text("utf-8"), str(source))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "autograder.graders":
                names |= {alias.name for alias in node.names}
            elif node.module.startswith("autograder.graders."):
                names.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[2] for a in node.names if a.name.startswith("autograder.graders.")}
    return names


def reduced_toml(text: str, aid: str) -> str:
    """``course.toml`` with only ``aid``'s ``[[assignments]]`` table; comments and the rest kept as written.

    The text is cut at table headers rather than re-serialised (there is no TOML writer in the
    standard library), and the result is checked by parsing both: same tables, one assignment.
    """
    blocks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if re.match(r"\s*\[", line):
            blocks.append([])
        blocks[-1].append(line)
    kept = [b for b in blocks if not _is_assignment(b) or tomllib.loads("".join(b))["assignments"][0]["id"] == aid]
    reduced = "".join("".join(b) for b in kept)
    original, result = tomllib.loads(text), tomllib.loads(reduced)
    expected = dict(original, assignments=[a for a in original.get("assignments", []) if a.get("id") == aid])
    if result != expected or len(result["assignments"]) != 1:
        raise CourseError(f"cannot reduce course.toml to {aid}: keep each [[assignments]] table self-contained")
    return reduced


def _is_assignment(block: list[str]) -> bool:
    return bool(block) and re.match(r"\s*\[\[\s*assignments\s*\]\]", block[0]) is not None


def torch_pin(constraints: str) -> str:
    """The pinned torch version of ``constraints.txt`` (``torch==2.13.0`` → ``2.13.0``)."""
    match = re.search(r"^\s*torch\s*==\s*([^\s;#]+)", constraints, re.MULTILINE)
    if match is None:
        raise CourseError("constraints.txt pins no torch version (a line torch==X.Y.Z)")
    return match.group(1)


def python_floor(pyproject: str) -> tuple[int, int]:
    """The oldest Python ``pyproject.toml`` accepts: ``requires-python = ">=3.11"`` → ``(3, 11)``."""
    spec = tomllib.loads(pyproject).get("project", {}).get("requires-python", "")
    match = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)(?:\.0)?\s*", spec)
    if match is None:
        raise CourseError(f"pyproject.toml's requires-python is {spec!r}: setup.sh needs one floor, '>=X.Y'")
    return int(match.group(1)), int(match.group(2))


# ------------------------------------------------------------------------------------------ writing
def _target(out: Path, default_name: str) -> Path:
    out = Path(out)
    return out if out.suffix == ".zip" else out / default_name


def write_zip(path: Path, entries: list[Entry]) -> Path:
    """Write the entries, sorted, with fixed times and modes; atomically (see :func:`store.write_atomic`)."""
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CourseError(f"two files for one path in the zip: {', '.join(duplicates)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(entries, key=lambda e: e.name):
            info = zipfile.ZipInfo(entry.name, date_time=ZIP_EPOCH)
            info.create_system = 3                                   # Unix: unzip honours the modes
            info.external_attr = (0o100755 if entry.executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data)
    store.write_atomic(path, buffer.getvalue())
    return path


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise CourseError(f"cannot read {path}: {exc}") from None


# ------------------------------------------------------------------------------------------ scripts
def setup_sh(torch_version: str, floor: tuple[int, int]) -> str:
    pythons = [f"python{v}" for v in SETUP_PYTHONS if tuple(map(int, v.split("."))) >= floor]
    values = {"@TORCH@": torch_version, "@TORCH_INDEX@": TORCH_CPU_INDEX, "@PYTHONS@": " ".join(pythons),
              "@FLOOR@": f"{floor[0]}.{floor[1]}", "@FLOOR_TUPLE@": f"({floor[0]}, {floor[1]})"}
    return template("setup.sh", values)


def run_autograder(assignment: Assignment) -> str:
    values = {"@AID@": assignment.id, "@NOTEBOOK@": assignment.notebook, "@POINTS@": f"{assignment.points:g}"}
    for name, value in values.items():
        if "'" in value:
            raise CourseError(f"{name.strip('@').lower()} {value!r} cannot contain a quote")
    return template("run_autograder", values)


# The files written into the zips: shell, a standalone Python program and Markdown, kept as files
# beside the engine's other templates (a linter reads them; tests run them)
TEMPLATES = PACKAGE / "templates"


def template(name: str, values: dict[str, str] | None = None) -> str:
    """A template's text, each ``@NAME@`` of ``values`` replaced (one syntax for shell, Python and
    Markdown alike: none of them uses it for anything else)."""
    text = (TEMPLATES / name).read_text("utf-8")
    for key, value in (values or {}).items():
        text = text.replace(key, value)
    return text
