"""Reading a submitted notebook and putting its locked cells back as the source has them.

Steps, each small: :func:`read` (a file → a v4 notebook, or a clear :class:`NotebookError`),
:func:`restore` (the submission's answers inside the source's locked frame, with a report of what
was changed), :func:`code_cells` (the Python the worker will run, after IPython's input
transformation, so that magics and ``!`` lines behave as in Jupyter, minus the shell).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.messages import Message, msg

MAX_BYTES = 64 * 1024 * 1024     # a notebook larger than this is refused (embedded outputs of a flood)


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message (a Message, nested where it is reported) is for
    the student."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message.render()


@dataclass
class Restoration:
    """What :func:`restore` found and did."""

    tampered: list[str] = field(default_factory=list)    # locked cells whose content was changed back
    missing: list[str] = field(default_factory=list)     # cells absent from the submission, put back
    duplicated: list[str] = field(default_factory=list)  # grade_ids that occurred more than once

    @property
    def clean(self) -> bool:
        return not (self.tampered or self.missing or self.duplicated)


def read(path: Path) -> nbformat.NotebookNode:
    """Read a submission, whatever state it is in, or raise NotebookError saying why not."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise NotebookError(msg("nb_too_large", size=size))
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(msg("nb_unreadable", reason=exc.strerror)) from None
    if not raw.strip():
        raise NotebookError(msg("nb_empty"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(msg("nb_not_utf8")) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(msg("nb_not_json", line=exc.lineno)) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError(msg("nb_not_notebook"))
    if data.get("nbformat") != 4:
        # nbformat 3 and older (IPython 2): refused rather than converted, so that what is graded is
        # exactly what the student's Jupyter shows once saved in today's format
        raise NotebookError(msg("nb_old_format", version=data.get("nbformat")))
    if isinstance(data.get("cells"), list):
        return nbformat.from_dict(_repair(data))
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises a variety of errors for broken structure
        raise NotebookError(msg("nb_unparseable", type=type(exc).__name__)) from None


def _repair(data: dict) -> dict:
    """A v4 notebook with what Jupyter itself would fill in (missing metadata, sources as lists)."""
    cells = []
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(msg("nb_bad_cell"))
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(msg("nb_bad_cell"))
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        fixed = {"cell_type": cell["cell_type"], "source": source, "metadata": metadata}
        if cell["cell_type"] == "code":
            fixed["outputs"], fixed["execution_count"] = [], None      # outputs are never graded
        cells.append(fixed)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 4}


def grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    value = meta.get("grade_id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def _is_locked(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked")) and not meta.get("solution")


SOLUTIONS_ONLY = "solutions-only"        # a cell tag: in source/ and solutions/, never in release/ (see release.py)
DEMO = "demo"        # a tag of a locked code cell that only shows (trains, plots) and defines nothing a grader needs:
                     # students and solutions/ run it, grading does not (see code_cells)


def restore(submission: nbformat.NotebookNode, source: nbformat.NotebookNode,
            stub: nbformat.NotebookNode | None = None) -> tuple[nbformat.NotebookNode, Restoration]:
    """The source's cells in the source's order: locked ones as in the source, answers from the submission.

    Cells the student added (no grade_id of the source) stay, after the source cell they followed. A
    source cell tagged ``solutions-only`` is left out, as the release leaves it out.
    A solution cell missing from the submission becomes the release's stub (``stub`` notebook), so
    that its blank fails as "not implemented" rather than as a missing name.
    """
    report = Restoration()
    source_ids = [gid for c in source.cells if (gid := grade_id(c)) is not None]
    stubs = {grade_id(c): c for c in (stub.cells if stub is not None else [])}

    answers: dict[str, nbformat.NotebookNode] = {}
    extras: dict[str | None, list] = {}       # student cells, keyed by the source cell they follow
    last = None
    seen: set[str] = set()
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid in source_ids:
            if gid in seen:
                report.duplicated.append(gid)
                continue
            seen.add(gid)
            answers[gid] = cell
            last = gid
        else:
            extras.setdefault(last, []).append(cell)

    cells = list(extras.get(None, []))
    for cell in source.cells:
        gid = grade_id(cell)
        if gid is None:                       # a source cell without nbgrader metadata: given as is,
            if SOLUTIONS_ONLY not in cell.get("metadata", {}).get("tags", []):   # unless students never get it
                cells.append(cell)
            continue
        if _is_locked(cell):
            theirs = answers.get(gid)
            if theirs is None:
                report.missing.append(gid)
            elif theirs.get("source", "") != cell.source or theirs.get("cell_type") != cell.cell_type:
                report.tampered.append(gid)
            cells.append(cell)
        else:
            theirs = answers.get(gid)
            if theirs is None:
                report.missing.append(gid)
                theirs = stubs.get(gid, cell)
            # a solution cell keeps the source's type and metadata; only its text is the student's
            answer = nbformat.from_dict(dict(cell))
            answer["source"] = theirs.get("source", "")
            cells.append(answer)
        cells.extend(extras.get(gid, []))
    restored = nbformat.from_dict(dict(source))
    restored["cells"] = cells
    return restored, report


def untouched(nb: nbformat.NotebookNode, stub: nbformat.NotebookNode) -> set[str]:
    """grade_ids of the solution cells that are still exactly the release's stub."""
    stubs = {grade_id(c): c.get("source", "") for c in stub.cells
             if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    return {gid for c in nb.cells if (gid := grade_id(c)) in stubs and c.get("source", "") == stubs[gid]}


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The notebook's code cells as plain Python, magics turned into calls as IPython would.

    A locked cell tagged ``demo`` becomes an empty cell: it is there for the student to watch (a training
    run, a plot) and costs every submission its time if graded. Its tag is the source's, since
    :func:`restore` puts every locked cell back as the source has it.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    out = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        if _is_locked(cell) and DEMO in cell.get("metadata", {}).get("tags", []):
            out.append("")
            continue
        source = cell.get("source", "")
        try:
            out.append(manager.transform_cell(source))
        except Exception:  # leave it as it is: the worker will report the syntax error
            out.append(source)
    return out


def executed(nb: nbformat.NotebookNode, runs) -> nbformat.NotebookNode:
    """The notebook as the grader ran it: each code cell with what it printed, drew and raised.

    ``runs`` are the worker's :class:`~autograder.submission.CellRun` records, indexed by code cell.
    Only streams, PNG figures and errors are ever put in: nothing the student wrote becomes HTML.
    """
    import base64

    by_index = {run.index: run for run in runs}
    out = nbformat.from_dict(nbformat.v4.new_notebook(metadata=dict(nb.get("metadata", {}))))
    index = 0
    out["nbformat_minor"] = max(int(nb.get("nbformat_minor", 5)), 5)
    for number, cell in enumerate(nb.cells):
        cell = nbformat.from_dict(dict(cell))
        cell.setdefault("id", f"cell-{number}")          # nbformat 4.5 wants one (cells a student added may lack it)
        if cell.get("cell_type") == "code":
            run = by_index.get(index)
            outputs = []
            if run is not None:
                for name in ("stdout", "stderr"):
                    if getattr(run, name):
                        outputs.append(nbformat.v4.new_output("stream", name=name, text=getattr(run, name)))
                for image in run.figures:
                    outputs.append(nbformat.v4.new_output(
                        "display_data", data={"image/png": base64.b64encode(image).decode("ascii")}))
                if run.error is not None:
                    error = run.error
                    traceback = [line for line in error.get("traceback", "").splitlines() if line]
                    outputs.append(nbformat.v4.new_output(
                        "error", ename=error.get("type", "Error"), evalue=error.get("message", ""),
                        traceback=traceback + [f"{error.get('type', 'Error')}: {error.get('message', '')}"]))
            cell["outputs"] = outputs
            cell["execution_count"] = index + 1 if run is not None and run.status != "skipped" else None
            index += 1
        out.cells.append(cell)
    return out
