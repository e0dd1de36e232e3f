"""Writing grades where instructors and CI read them.

- ``results.json`` per submission, in Gradescope's autograder schema: ``score``, ``output``,
  ``execution_time``, ``tests`` (each ``name``, ``number``, ``score``, ``max_score``, ``status``,
  ``output``, ``visibility``), plus an ``extra_data`` block of our own (student, assignment, notes).
  Written answers are tests too, after the graders': with the TA's points, or pending (no ``score``).
- ``gradebook.csv``: one row per (student, assignment) with the total so far, its status (``pending``
  while a written answer awaits a TA), each grader's score and each written answer's points.
- JUnit XML: one ``testcase`` per grader and per written answer (``skipped`` while pending), points in
  ``properties``.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so a
reader never sees half a file.

Every ``results.json`` the engine writes under a folder is signed (``extra_data.signature``, an
HMAC-SHA256 keyed by ``<folder>/results.key``, which only the judge's user may read and no worker can
reach) and carries the SHA-256 of the ``executed.ipynb`` beside it. What reads results back
(``--resume``, ``merge``, ``feedback``, ``--gradebook``) takes only files that verify: one that a
worker or anything else wrote is not a result.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import os
import secrets
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from autograder.model import Outcome, Result
from autograder.messages import msg


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


KEY_FILE = "results.key"


def key(out: Path) -> bytes:
    """The signing key of the results under ``out``: read, or made (mode 0600) by the first writer."""
    path = Path(out) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out_file:
            out_file.write(secrets.token_hex(32) + "\n")
    secret = _read_key(path)
    if secret is None:             # never sign with a key anyone could guess
        from autograder.course import CourseError

        raise CourseError(f"{path} is not a signing key this engine wrote (64 hex digits): move it away, "
                          f"or grade into another folder")
    return secret


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as key_file:
            text = key_file.read().strip()
    except OSError:
        return None
    return text.encode() if len(text) == 64 else None


def signature(data: dict, secret: bytes) -> str:
    """HMAC-SHA256 of ``data`` without its signature, as canonical JSON."""
    extra = {k: v for k, v in data.get("extra_data", {}).items() if k != "signature"}
    body = json.dumps(dict(data, extra_data=extra), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(secret, body.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(data: dict, secret: bytes) -> dict:
    data["extra_data"]["signature"] = signature(data, secret)
    return data


def read_signed(path: Path) -> dict | None:
    """A results.json's data if it is signed with the key of its run (``<run>/<student>/<aid>/``)."""
    secret = _read_key(Path(path).parent.parent.parent / KEY_FILE)
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        claimed = data["extra_data"]["signature"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if secret is None or not isinstance(claimed, str) or not hmac.compare_digest(claimed, signature(data, secret)):
        return None
    return data


def executed_matches(data: dict, text: str) -> bool:
    """Whether ``text`` is the executed notebook that the (verified) results ``data`` were written with."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hmac.compare_digest(str(data.get("extra_data", {}).get("executed_sha256", "")), digest)


def executed_text(out: Path, result: Result) -> str | None:
    """The ``executed.ipynb`` beside a result under ``out``, if the signed results.json there names it."""
    path = result_path(out, result.student, result.assignment)
    data = read_signed(path)
    try:
        text = path.with_name("executed.ipynb").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text if data is not None and executed_matches(data, text) else None


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
    data = read_signed(path)
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
    return dumps(sign(data, secret) if secret else data)


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
