"""Writing grades where instructors and CI read them.

- ``results.json`` per submission, in Gradescope's autograder schema: ``score``, ``output``,
  ``execution_time``, ``tests`` (each ``name``, ``number``, ``score``, ``max_score``, ``status``,
  ``output``, ``visibility``), plus an ``extra_data`` block of our own (student, assignment, notes).
- ``gradebook.csv``: one row per (student, assignment) with the total and each grader's score.
- JUnit XML: one ``testcase`` per grader, points in ``properties``.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so a
reader never sees half a file.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from autograder.judge import Result
from autograder.messages import say


@functools.lru_cache(maxsize=1)
def file_mode() -> int:
    """The mode ``open()`` gives a new file here: 0666 less the process's umask."""
    try:
        with open("/proc/self/status") as status:     # reads the umask without changing it
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file and a rename: a reader
    never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())     # mkstemp's 0600 would keep a TA's account or a web server out
        with (os.fdopen(fd, "wb") if isinstance(data, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def gradescope(result: Result) -> dict:
    """The submission's grade in Gradescope's results.json schema."""
    tests = []
    for number, t in enumerate(result.tests, start=1):
        tests.append({
            "name": t.name,
            "number": f"{number}",
            "score": t.score,
            "max_score": t.max_score,
            "status": t.status,
            "output": t.output,
            "visibility": "visible",
            "tags": [t.blank] if t.blank else [],
        })
    lines = [say("total", score=result.score, max_score=result.max_score)]
    if result.error:
        lines.append(result.error)
    lines += result.notes
    return {
        "score": result.score,
        "output": "\n".join(lines),
        "execution_time": round(result.seconds, 3),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "student": result.student,
            "assignment": result.assignment,
            "max_score": result.max_score,
            "notes": result.notes,
            "grader_errors": [t.name for t in result.grader_errors],
            "isolation": result.isolation,
            "peak_memory_kib": result.peak_memory_kib,
            "nodeids": [t.nodeid for t in result.tests],
            "error": result.error,
            "curves": result.curves,
        },
    }


def load(path: Path) -> Result | None:
    """A complete results.json read back (for --resume and merging), or None if it is not one."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return parse(data, path)


def parse(data, path: Path) -> Result | None:
    """The Result a results.json's data holds, or None if it is not a complete one."""
    from autograder.plugin import Outcome

    try:
        extra = data["extra_data"]
        result = Result(student=str(extra["student"]), assignment=str(extra["assignment"]), path=str(path),
                        notes=list(extra.get("notes", [])), seconds=float(data.get("execution_time", 0.0)),
                        error=str(extra.get("error", "")), isolation=list(extra.get("isolation", [])),
                        curves=list(extra.get("curves", [])))
        for nodeid, test in zip(extra["nodeids"], data["tests"], strict=True):
            result.tests.append(Outcome(nodeid=nodeid, name=test["name"], blank=(test.get("tags") or [""])[0],
                                        max_score=float(test["max_score"]), score=float(test["score"]),
                                        status=test["status"], output=test.get("output", "")))
    except (ValueError, KeyError, TypeError):
        return None
    if abs(result.score - float(data.get("score", -1))) > 1e-9 or not result.tests:
        return None
    return result


def results_json(result: Result) -> str:
    return json.dumps(gradescope(result), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def gradebook_csv(results: list[Result]) -> str:
    """One row per (student, assignment): total, maximum, and each grader's score by its short name."""
    columns: list[str] = []
    for r in results:
        for t in r.tests:
            key = grader_key(t.nodeid)
            if key not in columns:
                columns.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "assignment", "score", "max_score", "status"] + columns)
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        scores = {grader_key(t.nodeid): t.score for t in r.tests}
        status = "error" if r.error else "graded"
        writer.writerow([r.student, r.assignment, _num(r.score), _num(r.max_score), status]
                        + [_num(scores[c]) if c in scores else "" for c in columns])
    return out.getvalue()


def grader_key(nodeid: str) -> str:
    """``test_model.py::test_recurrent`` → ``model.recurrent``."""
    path, _, name = nodeid.partition("::")
    module = Path(path).stem.removeprefix("test_")
    return f"{module}.{name.removeprefix('test_')}"


def _num(x: float) -> str:
    return f"{x:g}"


def junit_xml(results: list[Result]) -> str:
    suites = ET.Element("testsuites")
    for r in results:
        suite = ET.SubElement(suites, "testsuite", name=f"{r.student}/{r.assignment}",
                              tests=str(len(r.tests)), failures=str(sum(t.status != "passed" for t in r.tests)),
                              time=f"{r.seconds:.3f}")
        for t in r.tests:
            case = ET.SubElement(suite, "testcase", classname=f"{r.student}.{r.assignment}", name=grader_key(t.nodeid))
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=_num(t.score))
            ET.SubElement(props, "property", name="max_score", value=_num(t.max_score))
            if t.status != "passed":
                failure = ET.SubElement(case, "failure", message=t.output.splitlines()[0] if t.output else "failed")
                failure.text = t.output
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def markdown(results: list[Result], title: str = "Grades") -> str:
    """A markdown table of the scores, for a CI job's summary page (GitHub's ``GITHUB_STEP_SUMMARY``)."""
    lines = [f"### {title}", "", "| student | assignment | score | % | failed graders | note |",
             "|---|---|---:|---:|---:|---|"]
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        percent = 100 * r.score / r.max_score if r.max_score else 0.0
        failed = sum(t.status != "passed" for t in r.tests)
        note = r.error.split(" / ")[-1] if r.error else "; ".join(r.notes)
        lines.append(f"| {_cell(r.student)} | {r.assignment} | {_num(r.score)}/{_num(r.max_score)} | {percent:.0f} "
                     f"| {failed} | {_cell(note[:120])} |")
    scores = [r.score / r.max_score for r in results if r.max_score]
    if scores:
        lines += ["", f"{len(results)} submission(s), mean {100 * sum(scores) / len(scores):.1f}%"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell (a student's name could hold a pipe or markup)."""
    import html

    return html.escape(text).replace("|", "&#124;").replace("\n", " ")


def table(results: list[Result]) -> str:
    """A plain text table for the terminal."""
    rows = [("student", "assignment", "score", "time", "note")]
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        note = r.error.split(" / ")[-1][:60] if r.error else (f"{len(r.notes)} note(s)" if r.notes else "")
        rows.append((r.student, r.assignment, f"{_num(r.score)}/{_num(r.max_score)}", f"{r.seconds:.1f}s", note))
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
