"""The notebooks a TA grades by hand in nbgrader's formgrader.

nbgrader's formgrader opens ``<root>/autograded/<student>/<aid>/<notebook>.ipynb`` (its
``CourseDirectory.autograded_directory``), renders it with nbconvert and, for each cell whose nbgrader
metadata makes it a grade or solution cell, shows the grade and comment that the gradebook holds for it.
``course grade --gradebook DB`` writes that file for every submission it grades (``root``: the folder of
an SQLite gradebook, as in nbgrader's own layout, where ``gradebook.db`` lies in the course folder):

- the notebook as the engine ran it (the submission with its locked cells restored), so the TA reads
  what was graded;
- nbgrader metadata on the written answer cells only, rebuilt from ``course.toml`` (the student's own
  metadata is not trusted: points, ids and flags come from the course), so the formgrader asks for a
  grade exactly for the written questions, whose rows :mod:`autograder.gradebook` made;
- after each written answer, a cell for the TA with the model answer and the rubric from ``source/``;
- at the top, the graders' verdicts, so the TA sees the whole grade on one page.

The page runs in the TA's browser, logged in to a Jupyter server: student text must not become markup
there, nor take a grade field's id. Markdown keeps its emphasis and math and loses tags, entities,
links, images and headings (:func:`_escape`); attachments other than PNG/JPEG images are dropped, and
outputs keep only streams, errors, plain text and PNG/JPEG images, as on the feedback pages.

The copy carries the TA's rubric: nbgrader's "generate feedback" must never be run on it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autograder import store
from autograder import written
from autograder.course import Course
from autograder.feedback import SAFE_MIME
from autograder.model import Result

FOLDER = "autograded"          # nbgrader's CourseDirectory.autograded_directory
TA_CELL = "ta-rubric"          # the grade_id-free marker of the cells added for the TA (metadata "course")
IMAGES = ("image/png", "image/jpeg")
IMAGE = re.compile(r"!\[([^\[\]\n]*)\]\(attachment:([^)\s]+)\)")    # ![alt](attachment:name)
URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")                 # a bare URL, which markdown would link
# a line that markdown would make a heading (ATX "# …" or a setext underline), inside quotes and lists too:
# nbconvert gives a heading an id from its text, and the formgrader finds each grade field by id
BLOCK = r"^((?:[ \t]*(?:>|[-*+]|\d{1,9}[.)])(?=[ \t]|$))*[ \t]*)"
HEADING = re.compile(BLOCK + r"(#)", re.M)
UNDERLINE = re.compile(BLOCK + r"(=+|-+)([ \t]*)$", re.M)
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")       # an image's data goes into an attribute: base64 and nothing else
# a link or \href to a script: URL schemes ignore case and ASCII tabs and newlines between their letters
SCRIPT_SCHEME = re.compile(r"(?i)\b(" + "|".join("[\t\n\r ]*".join(w) for w in ("javascript", "vbscript")) + r")[\t\n\r ]*:")


def root(db: str | Path, course: Course) -> Path:
    """The course folder the formgrader runs in: an SQLite gradebook's folder, else the course's own."""
    text = str(db)
    if text.startswith("sqlite:///"):
        return Path(text.removeprefix("sqlite:///")).parent
    if "://" in text:
        return course.root
    return Path(text).expanduser().resolve().parent


def path(folder: Path, course: Course, result: Result) -> Path:
    notebook = Path(course.assignment(result.assignment).notebook).stem
    return folder / FOLDER / result.student / result.assignment / f"{notebook}.ipynb"


def changed(folder: Path, course: Course, result: Result, executed: str | None) -> set[str]:
    """The written questions whose answer differs from the copy a TA last saw of this submission (none
    when there is no such copy: nothing was graded yet)."""
    try:
        seen = written.answers(json.loads(path(folder, course, result).read_text("utf-8")))
    except (OSError, ValueError):
        return set()
    now = written.answers({"cells": [_safe(c) for c in _cells(executed)]})
    return {qid for qid, text in seen.items() if text != now.get(qid, "")}


def _cells(executed: str | None) -> list[dict]:
    try:
        nb = json.loads(executed) if executed is not None else {}
    except ValueError:
        return []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def write(folder: Path, course: Course, result: Result, executed: str | None) -> Path:
    """Write the submission's notebook for the formgrader (atomically); its path."""
    assignment = course.assignment(result.assignment)
    questions = {q.id: q for q in written.questions(course, assignment)}
    # the course's own locked prose, exactly as the source has it, keeps its headings (the TA reads it as
    # the students did); everything else is the student's to write, and is escaped
    ours = {gid: c["source"] for gid, c in written.notebook_cells(assignment.path(course.root, "source")).items()
            if c.get("cell_type") == "markdown" and c.get("metadata", {}).get("nbgrader", {}).get("locked")}
    cells = []
    seen: set[str] = set()
    for cell in _cells(executed):
        given = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        gid = given.get("grade_id") if isinstance(given, dict) else None
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        trusted = cell.get("cell_type") == "markdown" and isinstance(gid, str) and ours.get(gid) == source
        cell = _safe(cell)
        if trusted:
            cell["source"] = source
        meta = cell["metadata"].pop("nbgrader", None)
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        cells.append(cell)
        if cell["cell_type"] == "markdown" and gid in questions and gid not in seen:
            seen.add(gid)
            cell["metadata"]["nbgrader"] = _answer_metadata(questions[gid])
            cells.append(_ta_cell(questions[gid]))
    for q in questions.values():        # an answer cell the run did not keep (unreadable notebook): empty
        if q.id not in seen:
            cells += [{"cell_type": "markdown", "metadata": {"nbgrader": _answer_metadata(q)}, "source": ""},
                      _ta_cell(q)]
    cells.insert(0, _verdicts(result))
    out = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"},
                                        "language_info": {"name": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    for n, cell in enumerate(out["cells"]):
        cell["id"] = f"cell-{n}"
    target = path(folder, course, result)
    target.parent.mkdir(parents=True, exist_ok=True)
    store.write_atomic(target, json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    return target


def _answer_metadata(q: written.Question) -> dict:
    return {"grade": True, "grade_id": q.id, "locked": False, "points": q.points, "schema_version": 3,
            "solution": True, "task": False}


def _ta_cell(q: written.Question) -> dict:
    text = q.rubric.strip() or "（source/ 中沒有這題的參考答案與評分標準 / no model answer or rubric in source/）"
    return {"cell_type": "markdown", "metadata": {"course": TA_CELL},
            "source": f"> **助教用 (for the TA only)：{q.title}：參考答案與評分標準 ({q.points:g} 分)**\n>\n"
                      + "\n".join(f"> {line}" for line in text.splitlines())}


def _verdicts(result: Result) -> dict:
    """A markdown cell with the graders' verdicts (escaped: a message may quote the student's values)."""
    rows = ["**自動評分 (automatic grading)**：" + f"{result.auto_score:g} / "
            f"{sum(t.max_score for t in result.tests):g}", "",
            "| 評分項目 (grader) | 分數 (score) | 訊息 (message) |", "|---|---:|---|"]
    for t in result.tests:
        message = t.output.splitlines()[0] if t.output else ""
        name = f"`{t.blank}` {t.name}" if t.blank else t.name
        rows.append(f"| {_table_text(name)} | {t.score:g} / {t.max_score:g} | {_table_text(message[:200])} |")
    if result.error:
        rows += ["", _escape(result.error.splitlines()[0])]
    return {"cell_type": "markdown", "metadata": {"course": TA_CELL}, "source": "\n".join(rows)}


def _safe(cell: dict) -> dict:
    """A cell that cannot carry markup or script into the TA's page."""
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    safe = {"cell_type": kind, "metadata": {k: v for k, v in meta.items() if k == "nbgrader"}, "source": source}
    if kind == "markdown":
        attachments = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
        kept = {name: images for name, data in attachments.items() if isinstance(data, dict)
                if (images := {m: v for m, v in data.items() if m in IMAGES and _base64(v)})}
        if kept:
            safe["attachments"] = kept
        safe["source"] = _escape(source, kept)
    elif kind == "raw":
        safe["source"] = _escape(source)
        safe["cell_type"] = "markdown"          # a raw cell goes into the page as it is: make it text
    else:
        safe["execution_count"] = None
        safe["outputs"] = _outputs(cell.get("outputs"))
    return safe


def _outputs(outputs) -> list[dict]:
    kept = []
    for output in outputs if isinstance(outputs, list) else []:
        kind = output.get("output_type") if isinstance(output, dict) else None
        if kind == "stream":
            kept.append({"output_type": "stream", "name": "stderr" if output.get("name") == "stderr" else "stdout",
                         "text": _text(output.get("text"))})
        elif kind == "error":
            kept.append({"output_type": "error", "ename": _text(output.get("ename")),
                         "evalue": _text(output.get("evalue")),
                         "traceback": [_text(line) for line in output.get("traceback", []) if isinstance(line, str)]})
        elif kind in ("display_data", "execute_result"):
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            data = {mime: _text(value) for mime, value in data.items()
                    if mime in SAFE_MIME and (mime == "text/plain" or _base64(value))}
            if data:
                kept.append({"output_type": "display_data", "data": data, "metadata": {}})
    return kept


def _base64(value) -> bool:
    return isinstance(value, str) and BASE64.fullmatch(value) is not None


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _escape(text: str, attachments=()) -> str:
    """Student markdown as the TA's page may show it: text, with its emphasis and math, and nothing else.

    - ``<`` as an entity: no tag, comment or CDATA can open;
    - ``&`` as a full-width ＆: no entity can spell a character (nbconvert puts a link's destination into
      ``href`` with its entities undone, and ``java&#115;cript:`` is a script);
    - every ``[`` escaped: no link, image or reference definition, in a quote or a list or anywhere (a
      same-origin image would be a request with the TA's cookies); only an image of the cell's own
      ``attachments`` stays, a missing one would stop nbconvert;
    - a bare URL's ``:`` escaped, so it is not made a link;
    - no heading: its id, made from its text, could take a grade field's (``#why_gates``) and with it
      the TA's score;
    - a script scheme left in text (MathJax's ``\\href``) gets a full-width colon."""
    text = text.replace("&", "＆").replace("<", "&lt;")
    kept: list[str] = []

    def keep(m):
        if m.group(2) not in attachments:
            return m.group(0)
        kept.append(m.group(0).replace("[", "\0"))
        return f"\0{len(kept) - 1}\0"
    text = IMAGE.sub(keep, text.replace("\0", ""))
    text = text.replace("[", "\\[")
    text = re.sub("\0(\\d+)\0", lambda m: kept[int(m.group(1))].replace("\0", "["), text)
    text = URL.sub(lambda m: m.group(1) + "\\:", text)
    text = HEADING.sub(lambda m: m.group(1) + "\\#", text)
    text = UNDERLINE.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), text)
    return SCRIPT_SCHEME.sub(lambda m: m.group(1) + "：", text)


def _table_text(text: str) -> str:
    return _escape(text).replace("|", "\\|").replace("\n", " ")
