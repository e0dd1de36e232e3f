"""Feedback pages students can read: one self-contained HTML file per graded submission.

``<out>/<student>/<aid>/feedback.html`` is built from the result model (the grade, each grader's message,
the notes, the curves the graders recorded) and the notebook as the grader ran it: in memory, as grading
writes each result, or read back from a verified ``results.json`` and its ``executed.ipynb``. The page needs nothing else: its styles are inline, its plots are
inline SVG drawn here with matplotlib, the notebook's figures are ``data:`` images, and no script of
any kind is in it (its Content-Security-Policy forbids scripts and every fetch, so it reads the same
offline and from a mail attachment).

The notebook is the student's: its markdown and outputs are rendered with nbconvert's ``sanitize_html``
(bleach), with an allow-list widened to the harmless tags markdown makes (headings, paragraphs, tables),
because nbconvert's own list escapes ``<h1>`` and ``<p>`` (jupyter/nbconvert#2016). Outputs other than
streams, errors, text and PNG/JPEG images are dropped before rendering. The page's own strings are
escaped by Jinja's autoescape.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from pathlib import Path

import nbformat
from markupsafe import Markup

from autograder import messages, results, store
from autograder.course import Course, CourseError
from autograder.messages import say
from autograder.model import Outcome, Result

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE = "feedback.html"

# The two lines of a curve: colours no chrome of the page uses (tests look for them in a screenshot).
STUDENT_COLOUR = "#d95f02"
REFERENCE_COLOUR = "#1b9e77"

# Output types and MIME types an executed notebook may show; anything else is dropped before rendering.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg")

# Tags markdown produces that cannot run anything; attributes limited to these (see _allowed_attribute).
SAFE_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
SAFE_ATTRIBUTES = {
    "*": ("class", "id", "title"),
    "a": ("href",),
    "img": ("src", "alt", "width", "height"),
    "td": ("align", "colspan", "rowspan"),
    "th": ("align", "colspan", "rowspan"),
}
SAFE_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})   # data: for images only, see below
PAGE_PREFIX = "fb-"        # the page's own ids and classes; a student's markup may not use them

messages.register({
    "feedback_title": ("評分回饋：{student} — {assignment}", "feedback: {student} — {assignment}"),
    "feedback_student": ("學生", "student"),
    "feedback_assignment": ("作業", "assignment"),
    "feedback_all_passed": ("全部通過", "every grader passed"),
    "feedback_some_failed": ("{failed} / {total} 項未通過", "{failed} of {total} graders failed"),
    "feedback_notes": ("關於整份筆記本", "about the notebook as a whole"),
    "feedback_graders": ("評分項目", "graders"),
    "feedback_grader": ("項目", "grader"),
    "feedback_points": ("得分", "points"),
    "feedback_status": ("結果", "result"),
    "feedback_message": ("說明", "message"),
    "feedback_passed": ("通過", "passed"),
    "feedback_failed": ("未通過", "failed"),
    "feedback_curves": ("訓練曲線", "training curves"),
    "feedback_written": ("書面題（助教人工批改）", "written answers (graded by hand by a TA)"),
    "feedback_question": ("題目", "question"),
    "feedback_pending": ("待批改", "pending"),
    "feedback_graded": ("已批改", "graded"),
    "feedback_notebook": ("你的筆記本（評分時的執行結果）", "your notebook as the grader ran it"),
    "feedback_no_notebook": ("無法顯示你的筆記本：評分時無法讀取這個檔案", "your notebook cannot be shown: "
                             "the file could not be read when grading"),
    "feedback_bad_executed": ("無法顯示你的筆記本（{reason}）", "your notebook cannot be shown ({reason})"),
})


class FeedbackError(CourseError):
    """A folder's results.json is missing or not a complete one (an instructor's problem)."""


def page(result: Result, course: Course, executed: str | None = None, refused: str = "") -> str:
    """The feedback page of one graded submission, as HTML text: from its result (the model, in memory or
    read back) and the text of the notebook as the grader ran it (None: there is none; ``refused``: why
    the one beside a result read back is not shown)."""
    messages.set_language(course.language)
    aid = result.assignment
    assignment = next((a for a in course.assignments if a.id == aid), None)
    tests = [_row(t) for t in result.tests]
    written = [_row(w, w.status) for w in result.written]
    failed = sum(t.status != "passed" for t in result.tests)
    passed = failed == 0 and not result.error
    pending = sum(w.max_score for w in result.pending)
    notebook_html, no_notebook = _notebook_html(executed, refused)
    return _environment().get_template("feedback.html.j2").render(
        language=course.language,
        page_title=say("feedback_title", student=result.student, assignment=aid),
        styles=[Markup(css) for css in _styles()],
        course_title=course.title or course.id,
        assignment_title=(assignment.title if assignment and assignment.title else aid),
        student=result.student,
        assignment=aid,
        total=say("total", score=result.score, max_score=result.max_score),
        pending=say("written_total_pending", points=pending) if pending else "",
        passed=passed,
        verdict=say("feedback_all_passed") if passed else say("feedback_some_failed", failed=failed,
                                                                total=len(tests)),
        error=result.error,
        notes=list(result.notes),
        tests=tests,
        written=written,
        curves=[c for c in (_curve(curve, n) for n, curve in enumerate(result.curves)) if c],
        notebook_html=notebook_html,
        no_notebook=no_notebook,
        labels={key: say(f"feedback_{key}") for key in (
            "student", "assignment", "notes", "graders", "grader", "points", "status", "message", "curves",
            "notebook", "written", "question")},
    )


def write(folder: Path, course: Course, result: Result | None = None, executed: str | None = None) -> Path:
    """Write the ``feedback.html`` of one ``<out>/<student>/<aid>/`` folder (atomically); its path. From
    ``result`` and ``executed`` where the caller holds them (grading, merging), else from the verified
    results.json and executed.ipynb in the folder (``course feedback``)."""
    refused = ""
    if result is None:
        result, executed, refused = read(Path(folder))
    target = Path(folder) / PAGE
    store.write_atomic(target, page(result, course, executed, refused))
    return target


def write_all(out: Path, course: Course) -> list[Path]:
    """Write ``feedback.html`` beside every ``results.json`` under ``out``; the pages written, in order."""
    return [write(found.parent, course) for found in sorted(Path(out).rglob("results.json"))]


# ---------------------------------------------------------------------------------------------- results


def read(folder: Path) -> tuple[Result, str | None, str]:
    """The folder's results.json as the result model, once it verifies as the engine's and is complete;
    the executed notebook beside it if the results name it (else None, and why not)."""
    path = folder / "results.json"
    data = store.read_signed(path)
    result = None if data is None else results.parse(data, path)
    if result is None:
        raise FeedbackError(f"{path} is missing, not a complete results.json, or not written by the engine "
                            f"(its signature does not verify with {store.KEY_FILE} of its run)")
    try:
        text = (folder / "executed.ipynb").read_text("utf-8")
    except FileNotFoundError:
        return result, None, ""
    except (OSError, UnicodeDecodeError) as exc:
        return result, None, type(exc).__name__
    return (result, text, "") if store.executed_matches(data, text) else (result, None, "signature")


def _row(outcome: Outcome, written: str = "") -> dict:
    """A row of the graders' table, or of the written answers' (``written``: the answer's status)."""
    status = written or outcome.status
    status_text = {"passed": say("feedback_passed"), "failed": say("feedback_failed"), "pending": say("feedback_pending"),
                   "graded": say("feedback_graded")}.get(status, status)
    score = "—" if status == "pending" else f"{outcome.score:g}"
    return {
        "name": outcome.name,
        "blank": "" if written else outcome.blank,
        "points": f"{score} / {outcome.max_score:g}",
        "status": status if status in ("passed", "failed", "pending", "graded") else "other",
        "status_text": status_text,
        "output": outcome.output,
    }


# ---------------------------------------------------------------------------------------------- curves


def _curve(curve: dict, number: int) -> dict | None:
    """One recorded curve as an inline SVG plot, or None when it has nothing to draw."""
    series = []
    for s in curve.get("series") or []:
        values = [_finite(v) for v in s.get("values") or []]
        if any(not math.isnan(v) for v in values):
            series.append((str(s.get("label", "")), values))
    if not series:
        return None
    title = str(curve.get("title", ""))
    return {"name": str(curve.get("name", "")), "title": title,
            "svg": Markup(_plot(series, str(curve.get("x_label", "")), str(curve.get("y_label", "")),
                                salt=f"{number}-{curve.get('name', '')}"))}


def _finite(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _plot(series: list[tuple[str, list[float]]], x_label: str, y_label: str, salt: str) -> str:
    """The series against 1, 2, … as an SVG element: the first (the student's) on top, thin, over the
    reference's wider line, so that both show when they coincide. The title is the figure's caption
    (HTML text); the labels' text is left to the browser's fonts (``svg.fonttype: none``), because
    matplotlib's own have no Chinese, and is never read as mathtext (a ``$`` in a label is a ``$``)."""
    import matplotlib
    from matplotlib.figure import Figure

    colours = [STUDENT_COLOUR, REFERENCE_COLOUR, "#7570b3", "#e7298a", "#66a61e"]
    rc = {"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 10, "text.parse_math": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure = Figure(figsize=(6.4, 3.4))
        axes = figure.add_subplot()
        for index, (label, values) in reversed(list(enumerate(series))):
            student = index == 0
            axes.plot(range(1, len(values) + 1), values, label=label, color=colours[index % len(colours)],
                      linewidth=2.0 if student else 5.0, zorder=3 if student else 2, solid_capstyle="round")
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.grid(True, color="#e5e5e5", linewidth=0.8)
        handles, labels = axes.get_legend_handles_labels()
        axes.legend(handles[::-1], labels[::-1])
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]          # without the XML declaration and DOCTYPE


# ---------------------------------------------------------------------------------------------- notebook


def _notebook_html(text: str | None, refused: str = "") -> tuple[Markup | None, str]:
    """The executed notebook's cells as sanitised HTML, or None and the sentence saying why not."""
    if refused:
        return None, say("feedback_bad_executed", reason=refused)
    if text is None:
        return None, say("feedback_no_notebook")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:     # a damaged executed.ipynb must not stop the page: say so instead
        return None, say("feedback_bad_executed", reason=type(exc).__name__)
    html, _ = _exporter().from_notebook_node(_safe_outputs(nb))
    return Markup(html), ""


def _safe_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with only outputs that render as text or as images (no HTML, JS, SVG or widgets)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind in ("stream", "error"):
                kept.append(output)
            elif kind in ("display_data", "execute_result"):
                output["data"] = {k: v for k, v in output.get("data", {}).items() if k in SAFE_MIME}
                output["metadata"] = {}
                if output["data"]:
                    kept.append(output)
        cell["outputs"] = kept
    return nb


@functools.lru_cache(maxsize=1)
def _exporter():
    """One HTMLExporter for every page: the cells only (templates/notebook.html.j2), sanitised."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="notebook.html.j2",
                        extra_template_paths=[str(TEMPLATES)], sanitize_html=True, exclude_anchor_links=True,
                        filters={"clean_html": _clean_html})


def _clean_html(element) -> str:
    """nbconvert's ``clean_html`` with :data:`SAFE_TAGS`: bleach escapes every other tag, drops every
    other attribute, and every URL of another scheme (``javascript:``)."""
    import bleach

    text = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(text, tags=SAFE_TAGS, attributes=_allowed_attribute, protocols=SAFE_PROTOCOLS)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: :data:`SAFE_ATTRIBUTES`, no ``fb-`` id or class (a student's markup
    must not pass for the page's score), and ``data:`` URLs only as image sources."""
    if name not in SAFE_ATTRIBUTES["*"] + SAFE_ATTRIBUTES.get(tag, ()):
        return False
    if name in ("id", "class") and any(word.startswith(PAGE_PREFIX) for word in value.split()):
        return False
    if name == "href" and value.strip().lower().startswith("data:"):
        return False
    return name != "src" or value.strip().lower().startswith("data:image/") or ":" not in value


@functools.lru_cache(maxsize=1)
def _styles() -> tuple[str, ...]:
    """JupyterLab's light look (shipped with nbconvert), Pygments' colours, then the page's own CSS."""
    from pygments.formatters import HtmlFormatter

    exporter = _exporter()
    environment = exporter.environment
    lab = [environment.loader.get_source(environment, f"static/{name}")[0]
           for name in ("index.css", "theme-light.css")]
    pygments = HtmlFormatter(style="default").get_style_defs(".highlight")
    return (*lab, pygments, (TEMPLATES / "feedback.css").read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
