"""Written questions: answers in words, graded by hand by a TA in nbgrader's formgrader.

``course.toml`` declares each with its points (``written = { why_shared = 6 }``); the source notebook
holds it as two cells, as nbgrader would:

- a locked prompt, ``grade_id`` ``<id>-prose``, whose first heading is the question's title;
- the answer: a markdown cell that is nbgrader's "manually graded answer" (``solution`` and ``grade``,
  its ``points``), ``grade_id`` ``<id>``. Its text in ``source/`` is for the TA alone (a model answer
  under ``**參考答案 (model answer)**`` and a rubric under ``**評分標準 (rubric)**``); ``course
  release`` replaces all of it with :data:`autograder.release.ANSWER`.

Grading gives each written answer an :class:`~autograder.model.Outcome` of the result's ``written``:
``pending`` until a TA's points come back from the gradebook (:mod:`autograder.gradebook`), ``graded``
at zero at once where the answer is still the release's stub, as nbgrader's own autograder does.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Assignment, Course
from autograder.messages import say
from autograder.model import Outcome

PREFIX = "written::"                  # a written answer's node id: written::why_shared
MODEL_ANSWER = "**參考答案 (model answer)**"
RUBRIC = "**評分標準 (rubric)**"



@dataclass(frozen=True)
class Question:
    id: str
    points: float
    title: str               # the prompt's first heading (for the TA), or "書面題 <id>"
    rubric: str              # the answer cell's text in source/: model answer and rubric ("" without source/)


def questions(course: Course, assignment: Assignment) -> list[Question]:
    """The assignment's written questions, in course.toml's order, titled from its notebook (the source,
    else the release)."""
    if not assignment.written:
        return []
    cells = {}
    for area in ("source", "release"):
        cells = notebook_cells(assignment.path(course.root, area))
        if cells:
            break
    source = notebook_cells(assignment.path(course.root, "source"))
    found = []
    for qid, points in assignment.written:
        prompt = cells.get(f"{qid}-prose", {}).get("source", "")
        heading = next((line.lstrip("#").strip() for line in prompt.splitlines() if line.startswith("#")), "")
        found.append(Question(qid, points, heading or say("written_name", id=qid),
                              source.get(qid, {}).get("source", "")))
    return found


def outcomes(course: Course, assignment: Assignment, notebook: dict | None = None) -> list[Outcome]:
    """One outcome per written question: pending, or zero at once where ``notebook`` (the submission as
    graded) left the answer cell as the release holds it."""
    blank = unanswered(course, assignment, notebook) if notebook is not None else set()
    # named from the catalogue, in the course's language (the prompt's title is the notebook's own text)
    return [Outcome(PREFIX + qid, say("written_name", id=qid), qid, points, 0.0, "graded", say("written_unanswered"))
            if qid in blank else
            Outcome(PREFIX + qid, say("written_name", id=qid), qid, points, 0.0, "pending",
                    say("written_pending", points=points))
            for qid, points in assignment.written]


def unanswered(course: Course, assignment: Assignment, notebook: dict) -> set[str]:
    """The written questions whose answer cell in ``notebook`` is missing, or blank, or as released."""
    stubs = notebook_cells(assignment.path(course.root, "release"))
    given = answers(notebook)
    return {qid for qid, _ in assignment.written
            if given.get(qid, "").strip() in ("", stubs.get(qid, {}).get("source", "").strip())}


def submitted(path: str | Path) -> dict:
    """The submission as handed in, for its written answers where the run kept no executed notebook (a
    worker that died or ran out of time): {} where it cannot be read at all."""
    from autograder.notebook import NotebookError, read

    try:
        return read(Path(path))
    except NotebookError:
        return {"cells": []}


def answers(notebook: dict) -> dict[str, str]:
    """grade_id → text of each markdown answer cell (the first of a grade_id) of a notebook."""
    found: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and isinstance(meta, dict) and meta.get("solution") \
                and isinstance(meta.get("grade_id"), str) and meta["grade_id"] not in found:
            source = cell.get("source", "")
            found[meta["grade_id"]] = "".join(source) if isinstance(source, list) else str(source)
    return found


def problems(course: Course, assignment: Assignment) -> list[str]:
    """Where the source notebook and course.toml disagree about the written questions: each declared one
    has its prompt and a markdown answer cell worth its points with a model answer and a rubric, and the
    notebook has no other manually graded answer."""
    cells = notebook_cells(assignment.path(course.root, "source"))
    declared = dict(assignment.written)
    found = []
    for gid, cell in cells.items():
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and meta.get("grade") and gid not in declared:
            found.append(f"{assignment.id}: answer cell {gid!r} is graded by hand but not in course.toml's written")
    for qid, points in declared.items():
        cell = cells.get(qid)
        if cell is None:
            found.append(f"{assignment.id}: written question {qid!r} has no answer cell (grade_id {qid!r})")
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "markdown" or not (meta.get("solution") and meta.get("grade")):
            found.append(f"{assignment.id}: {qid!r} is not a markdown answer cell graded by hand")
        if meta.get("points") != points:
            found.append(f"{assignment.id}: {qid!r} is worth {meta.get('points')!r} in the notebook, "
                         f"{points:g} in course.toml")
        if f"{qid}-prose" not in cells:
            found.append(f"{assignment.id}: written question {qid!r} has no prompt cell ({qid}-prose)")
        text = cell.get("source", "")
        for part in (MODEL_ANSWER, RUBRIC):
            if part not in text:
                found.append(f"{assignment.id}: {qid!r} has no {part} for the TA")
        # the rubric's top-level bullets ("- 2 分：…") share out the points; indented ones say what earns part
        credit = sum(float(n) for n in re.findall(r"^[-*]\s*(\d+(?:\.\d+)?)\s*分", text.partition(RUBRIC)[2], re.M))
        if RUBRIC in text and credit != points:
            found.append(f"{assignment.id}: {qid!r}'s rubric gives {credit:g} points in its bullets, "
                         f"not its {points:g}")
    return found


def notebook_cells(path: Path) -> dict[str, dict]:
    """grade_id → cell (its source joined) of a notebook on disk; {} when there is none. Read once per
    version of the file: a class's every submission asks for the same source and release notebooks."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _read_cells(path, stamp)


@functools.lru_cache(maxsize=16)
def _read_cells(path: Path, stamp: int) -> dict[str, dict]:
    try:
        nb = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid not in found:
            source = cell.get("source", "")
            found[gid] = {**cell, "source": "".join(source) if isinstance(source, list) else source}
    return found
