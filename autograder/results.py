"""Writing grades where instructors and CI read them.

- ``results.json`` per submission, in Gradescope's autograder schema: ``score``, ``output``,
  ``execution_time``, ``tests`` (each ``name``, ``number``, ``score``, ``max_score``, ``status``,
  ``output``, ``visibility``), plus an ``extra_data`` block of our own (student, assignment, notes).
  Written answers are tests too, after the graders': with the TA's points, or pending (no ``score``).
- ``gradebook.csv``: one row per (student, assignment) with the total so far, its status (``pending``
  while a written answer awaits a TA), each grader's score and each written answer's points.
- JUnit XML: one ``testcase`` per grader and per written answer (``skipped`` while pending), points in
  ``properties``.

Every file is written atomically and every results.json signed (:mod:`autograder.store`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from autograder import store
from autograder.model import Outcome, Result
from autograder.messages import msg


def executed_text(out: Path, result: Result) -> str | None:
    """The ``executed.ipynb`` beside a result under ``out``, if the signed results.json there names it."""
    path = result_path(out, result.student, result.assignment)
    data = store.read_signed(path)
    try:
        text = path.with_name("executed.ipynb").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if data is not None and store.executed_matches(data, text) else None


def gradescope(result: Result, language: str | None = None) -> dict:
    """The submission's grade in Gradescope's results.json schema; what it adds to the graders' messages
    (the total, "graded without isolation") in ``language`` (the course's; by default the current one).

    Written answers follow the graders' tests: a graded one with the TA's points, a pending one with its
    ``max_score`` and no ``score`` (Gradescope's schema allows that beside a top-level score), so the total
    is the points so far and the page says what is still to come."""
    tests = []
    for number, t in enumerate(result.tests + result.written, start=1):
        entry = {
            "name": t.name,
            "number": f"{number}",
            "score": t.score,
            "max_score": t.max_score,
            "status": t.status if t.status in ("passed", "failed") else
            ("passed" if t.score >= t.max_score else "failed"),
            "output": t.output,
            "visibility": "visible",
            "tags": [t.blank] if t.blank else [],
        }
        if t.status == "pending":
            del entry["score"], entry["status"]
        tests.append(entry)
    lines = [msg("total", score=result.score, max_score=result.max_score).render(language)]
    if result.pending:
        lines.append(msg("written_total_pending", points=sum(w.max_score for w in result.pending)).render(language))
    if not result.isolated:
        lines.append(msg("unisolated").render(language))
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
            "auto_score": result.auto_score,
            "pending_points": sum(w.max_score for w in result.pending),
            "notes": result.notes,
            "grader_errors": [t.name for t in result.grader_errors],
            "grader_error_nodeids": [t.nodeid for t in result.grader_errors],
            "isolation": result.isolation,
            "isolated": result.isolated,
            "peak_memory_kib": result.peak_memory_kib,
            "nodeids": [t.nodeid for t in result.tests],
            "written": {w.nodeid: w.status for w in result.written},
            "error": result.error,
            "printed": result.output,
            "curves": result.curves,
        },
    }


def result_path(out: Path, student: str, assignment: str) -> Path:
    """Where a run's results go: ``out/<student>/<assignment>/results.json`` (nbgrader's layout)."""
    return Path(out) / student / assignment / "results.json"


def load(path: Path) -> Result | None:
    """A complete results.json that the engine wrote, read back (for --resume and merging), or None."""
    data = store.read_signed(path)
    return None if data is None else parse(data, path)


def parse(data, path: Path) -> Result | None:
    """The Result a results.json's data holds, or None if it is not a complete one: exactly what
    :func:`gradescope` wrote, but the executed notebook (a file of its own) and ``path`` (where it is now)."""
    try:
        extra = data["extra_data"]
        broke = set(extra.get("grader_error_nodeids", []))
        result = Result(student=str(extra["student"]), assignment=str(extra["assignment"]), path=str(path),
                        notes=list(extra.get("notes", [])), seconds=float(data.get("execution_time", 0.0)),
                        output=str(extra.get("printed", "")), error=str(extra.get("error", "")),
                        isolation=list(extra.get("isolation", [])), isolated=extra.get("isolated") is True,
                        peak_memory_kib=int(extra.get("peak_memory_kib", 0)), curves=list(extra.get("curves", [])))
        written = dict(extra.get("written", {}))
        for nodeid, test in zip([*extra["nodeids"], *written], data["tests"], strict=True):
            status = written.get(nodeid, test.get("status"))
            outcome = Outcome(nodeid=nodeid, name=test["name"], blank=(test.get("tags") or [""])[0],
                              max_score=float(test["max_score"]), score=float(test.get("score", 0.0)),
                              status=status, output=test.get("output", ""), grader_error=nodeid in broke)
            if status not in (("pending", "graded") if nodeid in written else ("passed", "failed")) or \
                    (status == "pending") == ("score" in test):
                return None
            (result.written if nodeid in written else result.tests).append(outcome)
    except (ValueError, KeyError, TypeError):
        return None
    if abs(result.score - float(data.get("score", -1))) > 1e-9 or not result.tests:
        return None
    return result


def results_json(result: Result, secret: bytes | None = None, executed: str | None = None,
                 language: str | None = None) -> str:
    """The results.json text; signed with ``secret``, and bound to the ``executed`` notebook's text."""
    data = gradescope(result, language)
    if executed is not None:
        data["extra_data"]["executed_sha256"] = hashlib.sha256(executed.encode("utf-8")).hexdigest()
    return dumps(store.sign(data, secret) if secret else data)


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def gradebook_csv(results: list[Result]) -> str:
    """One row per (student, assignment): the total so far (graders' and TA's points), the maximum, the
    status (``graded``; ``pending`` while a written answer awaits a TA; ``error``), the graders' total and
    the written answers' total, then each grader's score by its short name and each written answer's points
    (``written.why_shared``), or ``pending``."""
    columns: list[str] = []
    for r in results:
        for t in r.tests + r.written:
            key = grader_key(t.nodeid)
            if key not in columns:
                columns.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "assignment", "score", "max_score", "status", "auto_score", "written_score"] + columns)
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        scores = {grader_key(t.nodeid): ("pending" if t.status == "pending" else _num(t.score))
                  for t in r.tests + r.written}
        status = "error" if r.error else "pending" if r.pending else "graded"
        writer.writerow([r.student, r.assignment, _num(r.score), _num(r.max_score), status, _num(r.auto_score),
                         _num(r.score - r.auto_score)] + [scores.get(c, "") for c in columns])
    return out.getvalue()


def grader_key(nodeid: str) -> str:
    """``test_model.py::test_recurrent`` → ``model.recurrent``; ``written::why_shared`` → ``written.why_shared``."""
    path, _, name = nodeid.partition("::")
    if path == "written":
        return f"written.{name}"
    module = Path(path).stem.removeprefix("test_")
    return f"{module}.{name.removeprefix('test_')}"


def _num(x: float) -> str:
    return f"{x:g}"


def junit_xml(results: list[Result]) -> str:
    suites = ET.Element("testsuites")
    for r in results:
        done = [w for w in r.written if w.status != "pending"]
        suite = ET.SubElement(suites, "testsuite", name=f"{r.student}/{r.assignment}",
                              tests=str(len(r.tests) + len(r.written)), skipped=str(len(r.pending)),
                              failures=str(sum(t.status != "passed" for t in r.tests) +
                                           sum(w.score < w.max_score for w in done)),
                              time=f"{r.seconds:.3f}")
        for t in r.tests + r.written:
            case = ET.SubElement(suite, "testcase", classname=f"{r.student}.{r.assignment}", name=grader_key(t.nodeid))
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=_num(t.score))
            ET.SubElement(props, "property", name="max_score", value=_num(t.max_score))
            if t.status == "pending":
                ET.SubElement(case, "skipped", message=t.output)
            elif t.status == "graded" and t.score >= t.max_score:
                pass
            elif t.status != "passed":
                failure = ET.SubElement(case, "failure", message=t.output.splitlines()[0] if t.output else "failed")
                failure.text = t.output
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def markdown(results: list[Result], title: str = "Grades") -> str:
    """A markdown table of the scores, for a CI job's summary page (GitHub's ``GITHUB_STEP_SUMMARY``)."""
    lines = [f"### {title}", "", "| student | assignment | score | % | failed graders | note |",
             "|---|---|---:|---:|---:|---|"]
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
        percent = 100 * r.score / r.graded_max if r.graded_max else 0.0
        failed = sum(t.status != "passed" for t in r.tests)
        note = r.error.splitlines()[0] if r.error else "; ".join(r.notes)
        if r.pending:
            note = f"{_num(sum(w.max_score for w in r.pending))} written point(s) pending" + (f"; {note}" if note else "")
        lines.append(f"| {_cell(r.student)} | {r.assignment} | {_num(r.score)}/{_num(r.max_score)} | {percent:.0f} "
                     f"| {failed} | {_cell(note[:120])} |")
    scores = [r.score / r.graded_max for r in results if r.graded_max]
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
        note = r.error.splitlines()[0][:100] if r.error else (f"{len(r.notes)} note(s)" if r.notes else "")
        if r.pending:
            note = f"{_num(sum(w.max_score for w in r.pending))} written pt pending" + (f"; {note}" if note else "")
        if not r.isolated:
            note = "UNISOLATED" + (f"; {note}" if note else "")
        rows.append((r.student, r.assignment, f"{_num(r.score)}/{_num(r.max_score)}", f"{r.seconds:.1f}s", note))
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines + isolation_lines(results))


def isolation_lines(results: list[Result]) -> list[str]:
    """What protected the results, in words: one line per distinct set of measures (UNISOLATED first)."""
    from autograder import isolation

    seen = {(tuple(r.isolation), r.isolated) for r in results if r.isolation}
    lines = [isolation.notice(list(m), ok) for m, ok in sorted(seen, key=lambda s: (s[1], s[0]))]
    return ([""] + lines) if lines else []


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
