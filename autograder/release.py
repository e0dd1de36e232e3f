"""``course release``: source → release (student notebooks) and solutions (executed), with nbgrader.

nbgrader's own converters do the work: ``GenerateAssignment`` (lock cells, clear solutions and
outputs, checksums) and ``GenerateSolution`` (execute the master notebook).  We add one small
preprocessor to its pipeline, :class:`NameStubs`, so that every stub names what it stands for
(``raise NotImplementedError("GetDummies")``), and we write into a scratch course folder first, so
that ``--check`` can compare without touching the repository and a failed run leaves it as it was.
"""

from __future__ import annotations

import filecmp
import logging
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from nbgrader.converters import GenerateAssignment, GenerateSolution
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput, ClearSolutions,
    ComputeChecksums, Execute, IncludeHeaderFooter, InstantiateTests, LockCells, SaveCells,
)
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets.config import Config

from autograder.course import Assignment, Course

STUB = "# 你的程式碼 (YOUR CODE HERE)\nraise NotImplementedError()"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)")


class NameStubs(NbGraderPreprocessor):
    """Turn each ``raise NotImplementedError()`` stub into one that names its function or method."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = name_stubs(cell.source)
        return cell, resources


class CoalesceStreams(NbGraderPreprocessor):
    """Join consecutive stdout (or stderr) outputs of a cell into one.

    How a kernel's prints are cut into messages depends on timing; joined, the executed solutions
    are the same bytes every time.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.outputs:
            merged = []
            for output in cell.outputs:
                if (merged and output.output_type == "stream" and merged[-1].output_type == "stream"
                        and merged[-1].name == output.name):
                    merged[-1].text += output.text
                else:
                    merged.append(output)
            cell.outputs = merged
        return cell, resources


def name_stubs(source: str) -> str:
    scopes: list[tuple[int, str]] = []      # (indent, name) of the enclosing defs and classes
    lines = []
    for line in source.split("\n"):
        indent = len(line) - len(line.lstrip())
        if line.strip():
            while scopes and scopes[-1][0] >= indent:
                scopes.pop()
        match = _DEF.match(line)
        if match:
            scopes.append((len(match.group(1)), match.group(3)))
        if line.strip() == "raise NotImplementedError()" and scopes:
            name = ".".join(n for _, n in scopes)
            line = line.replace("NotImplementedError()", f'NotImplementedError("{name}：請完成這裡 / fill in {name}")')
        lines.append(line)
    return "\n".join(lines)


def _config(root: Path, db: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.solution_directory = "solutions"
    config.CourseDirectory.db_url = f"sqlite:///{db}"
    config.ClearSolutions.code_stub = {"python": STUB}
    config.GenerateAssignment.preprocessors = [
        IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, NameStubs, ClearOutput,
        CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
        ComputeChecksums, CheckCellMetadata,
    ]
    config.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme, Execute,
                                             CoalesceStreams]
    config.Execute.timeout = 300
    config.Execute.record_timing = False      # no timestamps: the output must be byte-stable
    config.Execute.allow_errors = False
    return config


def generate(course: Course, assignments: list[Assignment], into: Path) -> None:
    """Write ``into/release/<aid>/`` and ``into/solutions/<aid>/`` for the given assignments."""
    (into / "source").mkdir(parents=True, exist_ok=True)
    for a in assignments:
        shutil.copytree(course.root / "source" / a.id, into / "source" / a.id, dirs_exist_ok=True)
    config = _config(into, into / "gradebook.db")
    env = {"PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",     # solutions are executed on the CPU
           # nbgrader's gradebook runs `alembic`, and the kernel is found, through PATH: use this environment's
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    try:
        for a in assignments:
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = a.id
            converter = GenerateAssignment(coursedir=coursedir, config=config)
            converter.force = True
            converter.start()
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = a.id
            converter = GenerateSolution(coursedir=coursedir, config=config)
            converter.force = True
            converter.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def stale(course: Course, assignments: list[Assignment], generated: Path) -> list[str]:
    """Files of release/ and solutions/ that differ from what ``generated`` holds (or are missing/extra)."""
    problems = []
    for area in ("release", "solutions"):
        for a in assignments:
            ours = _files(generated / area / a.id)
            theirs = _files(course.root / area / a.id)
            for name in sorted(set(ours) | set(theirs)):
                where = f"{area}/{a.id}/{name}"
                if name not in theirs:
                    problems.append(f"missing: {where}")
                elif name not in ours:
                    problems.append(f"not generated from source: {where}")
                elif not filecmp.cmp(ours[name], theirs[name], shallow=False):
                    problems.append(f"stale: {where}")
    return problems


def release(course: Course, assignments: list[Assignment], check: bool = False) -> list[str]:
    """Generate release/ and solutions/; with ``check``, only report what is stale. Returns the problems."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        scratch = Path(scratch)
        generate(course, assignments, scratch)
        problems = stale(course, assignments, scratch)
        if check or not problems:
            return problems
        for area in ("release", "solutions"):
            for a in assignments:
                target = course.root / area / a.id
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(scratch / area / a.id, target)
                for path in target.rglob("*"):
                    if path.is_file():
                        path.chmod(0o644)
        return []
