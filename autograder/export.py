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

from autograder import results
from autograder.course import PACKAGE, Assignment, Course, CourseError

DEFAULT_OUT = Path("dist")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# The Pythons setup.sh looks for by name, the one the pins were frozen with first: every pin of
# constraints.txt must have a distribution for each (tests/test_install.py resolves them all)
SETUP_PYTHONS = ("3.11", "3.12", "3.13", "3.14")
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
        Entry("gradescope_results.py", RESULTS_HELPER.encode()),
        Entry("README.md", GRADESCOPE_README.format(aid=aid, notebook=assignment.notebook).encode()),
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
    readme = STUDENT_README.format(aid=aid, notebook=assignment.notebook, title=assignment.title, torch=torch,
                                   floor=floor, index=TORCH_CPU_INDEX)
    entries = [
        Entry("README.md", readme.encode()),
        *_project_files(course, aid, pins=False),
        *engine(),
        *_checks(assignment),
        *tree(course.root / "release" / aid, f"release/{aid}"),
    ]
    return write_zip(_target(out, f"{aid}-student.zip"), entries)


# ------------------------------------------------------------------------------------------ contents
NOT_ENGINE = {"graders", "checks", "mutants"}     # per-assignment folders, each exported on its own terms


def engine() -> list[Entry]:
    """The engine: its modules (``autograder/*.py``) and their data (``templates/``, ...), without the
    graders, the checks and the mutants, which each export picks for its one assignment."""
    return [e for e in tree(PACKAGE, "autograder") if e.name.split("/")[1] not in NOT_ENGINE]


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
    """Write the entries, sorted, with fixed times and modes; atomically (see :func:`results.write_atomic`)."""
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
    results.write_atomic(path, buffer.getvalue())
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
    text = SETUP_SH
    for name, value in values.items():
        text = text.replace(name, value)
    return text


def run_autograder(assignment: Assignment) -> str:
    values = {"@AID@": assignment.id, "@NOTEBOOK@": assignment.notebook, "@POINTS@": f"{assignment.points:g}"}
    for name, value in values.items():
        if "'" in value:
            raise CourseError(f"{name.strip('@').lower()} {value!r} cannot contain a quote")
    text = RUN_AUTOGRADER
    for name, value in values.items():
        text = text.replace(name, value)
    return text


SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image, in /autograder/source
# (this zip, unpacked). It installs the pinned grading environment into a virtual environment beside
# it, .venv/, which run_autograder grades every submission with.
#
# - torch comes from PyTorch's CPU index (@TORCH_INDEX@): Gradescope has no GPU, and the
#   CPU wheel is far smaller than the CUDA one (no nvidia-* packages). constraints.txt pins the rest.
# - The engine is installed editable (-e .): the venv then imports the autograder package from this
#   folder, where the judge hides the graders from student code. A plain install would copy the
#   hidden graders and the reference solutions into site-packages, which every worker can read.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DEBIAN_FRONTEND=noninteractive

HERE="$(pwd -P)"

# Python @FLOOR@ or newer, pyproject.toml's requires-python: the first of these that the image has
# (every pin of constraints.txt has a distribution for each, from @FLOOR@.0 on: Ubuntu 22.04's
# python@FLOOR@ package is @FLOOR@.0; tests/test_install.py checks), else any newer python3, else the
# distribution's python@FLOOR@ (Ubuntu 22.04's python3 is 3.10), else deadsnakes'.
# `setup.sh --which-python` prints the one it would use, or exits 3 where it would install one.
version_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < @FLOOR_TUPLE@)' >/dev/null 2>&1; }

PY=""
for candidate in @PYTHONS@ python3; do
    if command -v "$candidate" >/dev/null 2>&1 && version_ok "$(command -v "$candidate")"; then
        PY="$(command -v "$candidate")"
        break
    fi
done
if [ "${1:-}" = "--which-python" ]; then
    [ -n "$PY" ] && echo "$PY" && exit 0
    echo "none: setup.sh would install python@FLOOR@" >&2
    exit 3
fi
if [ -z "$PY" ]; then
    apt-get update -q
    if ! apt-get install -y -q python@FLOOR@ python@FLOOR@-venv; then
        apt-get install -y -q software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update -q
        apt-get install -y -q python@FLOOR@ python@FLOOR@-venv
    fi
    PY="$(command -v python@FLOOR@)"
    version_ok "$PY" || { echo "setup.sh: $PY is older than Python @FLOOR@" >&2; exit 1; }
fi
if ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then      # Debian ships venv's pip separately
    apt-get update -q
    apt-get install -y -q "$(basename "$PY")-venv"
fi

"$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt --extra-index-url "@TORCH_INDEX@" \
    "torch==@TORCH@" -e '.[grading]'

# the environment is the pinned one, and the package every process imports is this folder's
.venv/bin/python - "@TORCH@" <<'PY'
import sys
import torch
assert torch.__version__.split("+")[0] == sys.argv[1], f"torch {torch.__version__}, pinned {sys.argv[1]}"
print(f"torch {torch.__version__} (CUDA build: {torch.version.cuda})")
PY
(cd / && "$HERE/.venv/bin/python" -s -c 'import autograder.cli; print("engine:", autograder.cli.__file__)') \
    | grep -F "engine: $HERE/autograder/"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (as /autograder/run_autograder, a copy of this file):
# find the student's notebook in $AUTOGRADER_ROOT/submission, grade it with this zip's own engine,
# write $AUTOGRADER_ROOT/results/results.json.  It fails closed: whatever breaks, a valid
# results.json with score 0 and the reason is written, and the exit status is 0.
#
# Environment: AUTOGRADER_ROOT (default /autograder); COURSE_PYTHON, the Python to grade with
# (default: the .venv that setup.sh made); COURSE_GRADING_SECONDS, a bound on the whole grading
# (default 1200 s; keep it under the assignment's Gradescope timeout).
set -u

AID='@AID@'
NOTEBOOK='@NOTEBOOK@'
POINTS='@POINTS@'

ROOT="${AUTOGRADER_ROOT:-/autograder}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$HERE/course.toml" ]; then SOURCE="$HERE"; else SOURCE="$ROOT/source"; fi
PYTHON="${COURSE_PYTHON:-$SOURCE/.venv/bin/python}"
LIMIT="${COURSE_GRADING_SECONDS:-1200}"
SUBMISSION="$ROOT/submission"
RESULTS="$ROOT/results/results.json"
HELPER="$SOURCE/gradescope_results.py"

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# score 0 and why: the helper writes it; if even Python cannot run, a fixed document does
fail() {
    echo "run_autograder: $1" >&2
    if ! "$PYTHON" -I "$HELPER" fail "$RESULTS" "$POINTS" "$1" "${2:-}" \
            || ! "$PYTHON" -I -c 'import json, sys; json.load(open(sys.argv[1]))' "$RESULTS" 2>/dev/null; then
        cat > "$RESULTS" <<'JSON'
{
  "score": 0.0,
  "execution_time": 0,
  "output": "評分程式無法執行，這份作業暫記 0 分；請通知老師 / the autograder could not run, so this submission scores 0 for now: please tell your instructor",
  "visibility": "visible",
  "stdout_visibility": "hidden",
  "tests": []
}
JSON
    fi
    exit 0
}

# the notebook: by its name, else the only .ipynb there, whatever its name
notebooks=()
while IFS= read -r -d '' file; do
    notebooks+=("$file")
done < <(find "$SUBMISSION" -type f -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' \
              -not -path '*/__MACOSX/*' -not -name '._*' -print0 2>/dev/null | sort -z)
named=()
for file in ${notebooks[@]+"${notebooks[@]}"}; do
    [ "$(basename "$file")" = "$NOTEBOOK" ] && named+=("$file")
done
chosen=""
kind="none"
if [ -f "$SUBMISSION/$NOTEBOOK" ]; then
    chosen="$SUBMISSION/$NOTEBOOK"; kind="exact"
elif [ "${#named[@]}" -eq 1 ]; then
    chosen="${named[0]}"; kind="exact"
elif [ "${#notebooks[@]}" -eq 1 ]; then
    chosen="${notebooks[0]}"; kind="renamed"
elif [ "${#notebooks[@]}" -gt 1 ]; then
    kind="ambiguous"
fi

# graded under its canonical name in nbgrader's layout; without a notebook the engine grades the
# empty folder, which gives every grader 0 with "was not submitted"
CASE="$WORK/submitted/submission/$AID"
mkdir -p "$CASE" "$WORK/out"
TARGET="$CASE"
if [ -n "$chosen" ]; then
    cp -- "$chosen" "$CASE/$NOTEBOOK" || fail "cannot copy $chosen"
    TARGET="$CASE/$NOTEBOOK"
fi
echo "run_autograder: grading ${chosen:-(no notebook)} as $AID with $PYTHON"

# the hidden graders readable by this (root) user alone: where the machine gives no namespaces or Landlock,
# a worker with a uid of its own then still cannot read them. Grading refuses (a zero that says why)
# where student code cannot be isolated: see the README's sandbox section.
chmod -R go-rwx "$SOURCE/autograder/graders" 2>/dev/null

# this zip's engine, not any other install: its folder first on the path, and the working directory
cd "$SOURCE" || fail "no folder $SOURCE"
export PYTHONPATH="$SOURCE"
unset PYTHONHOME PYTHONSTARTUP
echo "engine: $("$PYTHON" -c 'import importlib.util as u; print(u.find_spec("autograder.cli").origin)' 2>&1)"
timeout --kill-after=15 "$LIMIT" "$PYTHON" -m autograder.cli --course "$SOURCE" \
    grade "$TARGET" --out "$WORK/out" --jobs 1 --quiet 2> "$WORK/engine.err"
status=$?
cat "$WORK/engine.err"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    fail "grading ran past ${LIMIT} s" "$WORK/engine.err"
elif [ "$status" -ne 0 ]; then
    fail "the engine exited with status $status" "$WORK/engine.err"
fi
"$PYTHON" -I "$HELPER" finish "$WORK/out/submission/$AID/results.json" "$RESULTS" "$NOTEBOOK" "$kind" \
    ${notebooks[@]+"${notebooks[@]}"} || fail "the engine wrote no valid results.json" "$WORK/engine.err"
exit 0
"""

RESULTS_HELPER = r'''"""results.json for run_autograder: the engine's, with a note on what was graded, or a zero
that says why.

The standard library only, run as ``python -I``: it has to work when the engine itself does not.

    python -I gradescope_results.py finish ENGINE_RESULTS RESULTS NOTEBOOK KIND [FOUND...]
    python -I gradescope_results.py fail RESULTS POINTS MESSAGE [STDERR_FILE]
"""

import json
import os
import sys
import tempfile
from pathlib import Path


def write(path, text):
    """Atomically: Gradescope never reads half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def names(found):
    return ", ".join(Path(f).name for f in found) or "無 / none"


def note(kind, notebook, found):
    if kind == "renamed":
        return (f"評分的是 {Path(found[0]).name}（請命名為 {notebook}） / "
                f"graded {Path(found[0]).name} (please name it {notebook})")
    if kind == "none":
        return f"沒有找到筆記本：請上傳 {notebook} / no notebook was submitted: upload {notebook}"
    if kind == "ambiguous":
        return (f"上傳了多個筆記本，沒有一個叫做 {notebook}，無法判斷要評分哪一個（{names(found)}） / "
                f"several notebooks were submitted and none is named {notebook}, so none was graded "
                f"({names(found)})")
    return ""


def finish(engine_results, results, notebook, kind, *found):
    text = Path(engine_results).read_text("utf-8")
    data = json.loads(text)
    tests = data.get("tests")
    if not isinstance(data, dict) or not isinstance(data.get("score"), (int, float)) or not isinstance(tests, list) \
            or not all(isinstance(t, dict) and "score" in t and "max_score" in t for t in tests):
        raise SystemExit(f"{engine_results} is not a complete results.json")
    extra = note(kind, notebook, found)
    if extra:
        lines = str(data.get("output", "")).split("\n")
        data["output"] = "\n".join(lines[:1] + [extra] + lines[1:])
        data.setdefault("extra_data", {})["submitted"] = [Path(f).name for f in found]
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    write(results, text)


def summary(stderr_file):
    """The engine's own one-line reason ("course: ..."), else the last line: never a whole traceback,
    whose source lines could show a hidden grader to the student."""
    try:
        lines = [line.strip() for line in Path(stderr_file).read_text("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    reason = next((line for line in lines if line.startswith("course: ")), lines[-1] if lines else "")
    return reason[:1000]


def fail(results, points, message, stderr_file=""):
    reason = summary(stderr_file) if stderr_file else ""
    detail = f"{message}: {reason}" if reason else message
    output = (f"評分程式出錯，這份作業暫記 0 分；請通知老師 / the autograder failed, so this submission "
              f"scores 0 for now: please tell your instructor\n{detail}")
    doc = {
        "score": 0.0,
        "output": output,
        "execution_time": 0,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": "評分 / grading", "number": "1", "score": 0.0, "max_score": float(points),
                   "status": "failed", "output": detail, "tags": [], "visibility": "visible"}],
        "extra_data": {"error": detail},
    }
    write(results, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"finish": finish, "fail": fail}[command](*args)
'''

GRADESCOPE_README = """# Gradescope autograder: {aid}

Upload this zip as the assignment's autograder (Configure Autograder → Zip file upload; base image
Ubuntu 22.04 or later). `setup.sh` installs the pinned environment into `.venv/` when the image is
built; `run_autograder` grades each submission's `{notebook}` (or its only `.ipynb`, whatever its name)
with the engine in `autograder/` and writes `/autograder/results/results.json`.

Try it without Gradescope: unpack to `X/source`, put a notebook in `X/submission/`, run
`AUTOGRADER_ROOT=X COURSE_PYTHON=path/to/python X/source/run_autograder`, read `X/results/results.json`.
"""

STUDENT_README = """# {aid}：{title}

## 安裝 / Setup

需要 Python {floor} 以上，以及 PyTorch 2.x；評分用的是 torch {torch}，只用 CPU。已經裝好 torch 的環境
（自己的電腦、Colab 一類的線上筆記本）會保留原來的 torch，只補上缺少的套件。在 Linux 上測試過。
Python {floor} or newer and PyTorch 2.x; grading uses torch {torch}, on the CPU. Where torch is already
installed (your laptop, a hosted notebook such as Colab), the install keeps it and adds only what is
missing. Tested on Linux.

在這個資料夾裡，裝進目前的環境 / in this folder, into the environment you already use:

```bash
python3 -m pip install -e .
```

或者另開一個獨立的環境 / or into an environment of its own:

```bash
python3 -m venv .venv
.venv/bin/pip install --extra-index-url {index} -e .
```

（`--extra-index-url` 安裝只用 CPU 的 torch，較小；省略它則安裝預設的版本 / it installs the smaller
CPU-only torch; leave it out to get the default build.）還沒有 Jupyter 的話 / no Jupyter yet:
`pip install jupyterlab`。

## 作業 / The assignment

用 Jupyter 打開 `release/{aid}/{notebook}`，在 `# 你的程式碼 (YOUR CODE HERE)` 的地方填入程式，並執行每個空格下方的檢查。
不要修改鎖定的儲存格：評分前它們會被還原。
Open `release/{aid}/{notebook}` in Jupyter, fill in the blanks where it says `# 你的程式碼 (YOUR CODE HERE)`
and run the checks under each blank. Do not edit the locked cells: they are restored before grading.

## 自我檢查 / Self-check

```bash
course check release/{aid}/{notebook}          # 獨立的環境裡 / in a .venv: .venv/bin/course check ...
```

它以評分時的方式執行你的筆記本，再跑公開檢查；全部通過時結束碼為 0。隱藏的評分會檢查更多。
It runs your notebook the way the grader does, then the public checks; the exit status is 0 when all
pass. The hidden graders check much more.
"""
