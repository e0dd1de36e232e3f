"""``course release``: source → release (student notebooks) and solutions (executed), with nbgrader.

nbgrader's own converters do the work: ``GenerateAssignment`` (lock cells, clear solutions and
outputs, checksums) and ``GenerateSolution`` (execute the master notebook). We add two small
preprocessors to its pipeline: :class:`NameStubs`, so that every stub names what it stands for
(``raise NotImplementedError("GetDummies")``), and :class:`DropSolutionsOnly`, so that a cell tagged
``solutions-only`` (a summary that would give a blank away) reaches the solutions but not the
students. We write into a scratch course folder first, so that ``--check`` can compare without
touching the repository and a failed run leaves it as it was.
"""

from __future__ import annotations

import filecmp
import json
import logging
import re
import shutil
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

from autograder import gradebook

from autograder.course import Assignment, Course
from autograder.notebook import SOLUTIONS_ONLY

STUB = "# 你的程式碼 (YOUR CODE HERE)\nraise NotImplementedError()"
ANSWER = "請在這裡寫下你的答案 (YOUR ANSWER HERE)"      # what a written question's answer cell holds on release
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)")


class NameStubs(NbGraderPreprocessor):
    """Turn each ``raise NotImplementedError()`` stub into one that names its function or method."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = name_stubs(cell.source)
        return cell, resources


class DropSolutionsOnly(NbGraderPreprocessor):
    """Leave out of the student notebook every cell tagged ``solutions-only``: a summary that states what a
    blank asks (``h_n`` is always (L, N, H)) belongs to the solutions published after the deadline."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if SOLUTIONS_ONLY in cell.metadata.get("tags", []) and cell.metadata.get("nbgrader"):
                raise RuntimeError(f"a {SOLUTIONS_ONLY} cell may not be an nbgrader cell (it is not released, so "
                                   f"grading could not restore it): {cell.source[:60]!r}")
        nb.cells = [c for c in nb.cells if SOLUTIONS_ONLY not in c.metadata.get("tags", [])]
        return nb, resources


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
    config.ClearSolutions.text_stub = ANSWER
    config.GenerateAssignment.preprocessors = [
        DropSolutionsOnly, IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, NameStubs, ClearOutput,
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
    """Write ``into/release/<aid>/`` and ``into/solutions/<aid>/`` for the given assignments.

    Each assignment in a process of its own, side by side: executing a master notebook is one kernel on
    one thread (``OMP_NUM_THREADS=1``), so on a machine of several cores the slowest notebook sets the
    time rather than the sum of them all.
    """
    import concurrent.futures
    import multiprocessing
    import os

    (into / "source").mkdir(parents=True, exist_ok=True)
    for a in assignments:
        shutil.copytree(course.root / "source" / a.id, into / "source" / a.id, dirs_exist_ok=True)
    workers = max(1, min(len(assignments), os.cpu_count() or 1))
    # spawned, not forked: nbgrader's converters start kernels and threads of their own
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(_generate_one, a.id, into) for a in assignments]:
            done.result()


def _generate_one(aid: str, into: Path) -> None:
    """One assignment's release and executed solutions, with a gradebook of its own (nbgrader records the
    assignment there; two processes never share one SQLite file)."""
    config = _config(into, into / f"gradebook-{aid}.db")
    env = {"PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}      # solutions are executed on the CPU
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    with gradebook.nbgrader_environment(**env):
        for converter_class in (GenerateAssignment, GenerateSolution):
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = aid
            converter = converter_class(coursedir=coursedir, config=config)
            converter.force = True
            converter.start()


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
                elif not same(ours[name], theirs[name]):
                    problems.append(f"stale: {where}")
    return problems


# Executed notebooks hold what the processor decided: a float's last bits (oneDNN and MKL pick kernels by
# instruction set), so a printed "max error 2.98e-08" on one CPU is 5.96e-08 on another, and a figure's
# PNG differs in its bytes. A notebook is compared on what a change to the sources would change: cells'
# sources, types and metadata, the notebook's metadata, every output's kind, stream and MIME types, and
# its text with each number compared to a tolerance; never the bytes of an image.
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
ABSOLUTE, RELATIVE = 1e-5, 2e-3          # last-bit noise in printed errors and 4-digit values, not a change


def same(ours: Path, theirs: Path) -> bool:
    """Whether two generated files say the same: notebooks as above, anything else byte for byte."""
    if ours.suffix != ".ipynb":
        return filecmp.cmp(ours, theirs, shallow=False)
    try:
        a, b = (json.loads(p.read_text("utf-8")) for p in (ours, theirs))
    except (OSError, ValueError):
        return filecmp.cmp(ours, theirs, shallow=False)
    (shape_a, numbers_a), (shape_b, numbers_b) = _comparable(a), _comparable(b)
    return shape_a == shape_b and len(numbers_a) == len(numbers_b) and all(
        abs(x - y) <= ABSOLUTE + RELATIVE * max(abs(x), abs(y)) for x, y in zip(numbers_a, numbers_b))


def _comparable(nb: dict) -> tuple[str, list[float]]:
    """A notebook's text with every number in its outputs taken out (and returned apart), images as their
    MIME type only."""
    numbers: list[float] = []

    def text(value) -> str:
        joined = "".join(value) if isinstance(value, list) else str(value)
        numbers.extend(float(m) for m in NUMBER.findall(joined))
        return NUMBER.sub("#", joined)

    cells = []
    for cell in nb.get("cells", []):
        outputs = []
        for out in cell.get("outputs", []):
            data = {mime: ("<image>" if mime.startswith("image/") else text(value))
                    for mime, value in out.get("data", {}).items()}
            outputs.append({"type": out.get("output_type"), "name": out.get("name"), "data": data,
                            "text": text(out["text"]) if "text" in out else None,
                            "error": [out.get("ename"), text(out.get("evalue", "")), text(out.get("traceback", []))]
                            if out.get("output_type") == "error" else None})
        cells.append({k: v for k, v in cell.items() if k != "outputs"} | {"outputs": outputs})
    shape = json.dumps({"metadata": nb.get("metadata"), "cells": cells}, sort_keys=True, ensure_ascii=False)
    return shape, numbers


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
