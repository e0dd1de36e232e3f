"""Written answers graded by hand, end to end: `course grade --gradebook`, nbgrader's own formgrader in a
real Jupyter server, a TA typing a score and a comment in headless Chromium, then a regrade.

One module fixture grades two 01-rnn-foundations submissions: alice (the solution, with her own written
answer) and mallory (the solution, her written answer an attack on the TA's browser: a <script>, an
<img onerror>, javascript: links, one spelled with an entity, a MathJax \\href). Before any TA has looked,
the written answer is pending everywhere; the TA's points and comment then survive a regrade and show in
gradebook.csv, results.json (Gradescope) and the feedback page; a changed answer keeps them, flagged.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest

from autograder import feedback, gradebook  # feedback: its page's words are in its own catalogue entries
from autograder.messages import say
from autograder.release import ANSWER
from browser import CHROMIUM, Browser
from conftest import ROOT, load_results, run_course
from test_nbgrader import jupyter

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("course_language")]   # grades notebooks, runs a Jupyter server and Chromium

AID = "01-rnn-foundations"
NOTEBOOK = "rnn-foundations"
QUESTION = "why_shared"
UNANSWERED = "grad_h0"          # 01's other written question, left as released: graded 0 at once
ALICE_ANSWER = "共享權重讓同一組參數處理任何長度的序列，參數個數與 $T$ 無關；每個時間步的梯度都加到同一組參數上。"
ATTACK = """我的答案 <script>document.title='pwned-script'; alert('pwned-script')</script>

<img src=x onerror="document.title='pwned-img'; alert('pwned-img')">

[點我](javascript:document.title='pwned-link') [再點](java&#115;cript:alert(1)) [三](JaVa\tScRiPt:alert(1))

$\\href{javascript:alert('pwned-math')}{x}$

> [i]: /api/contents
![a][i] see https://evil.example/track

### why_shared
#### why_shared-comment
"""
# The formgrader's page loads MathJax 2 from cdnjs, which this machine (and CI) cannot reach; without it
# the page's script stops before it wires up the grade fields. A stub answers for it: its start-up signal.
MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
MATHJAX_STUB = ("window.MathJax = {Hub: {Queue: function () {}, Config: function () {}, "
                "Startup: {signal: {Interest: function (f) { setTimeout(function () { f('End'); }, 0); }}}}};")
TA_COMMENT = "第一點說得好；少了「同一個模式在任何位置都用同樣的規則辨認」。"


def submission(folder: Path, student: str, answer: str) -> Path:
    """The solution notebook with ``answer`` in the written answer cell (and the other one left as
    released), as ``student`` hands it in."""
    nb = nbformat.read(ROOT / "solutions" / AID / f"{NOTEBOOK}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == QUESTION)
    cell.source = answer
    other = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == UNANSWERED)
    other.source = ANSWER
    path = folder / "submitted" / student / AID / f"{NOTEBOOK}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def grade(tmp: Path) -> None:
    proc = run_course("grade", tmp / "submitted", "--out", tmp / "graded", "--gradebook",
                      tmp / "course" / "gradebook.db", "--feedback", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def rows(tmp: Path) -> dict[str, dict]:
    with open(tmp / "graded" / "gradebook.csv", encoding="utf-8", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def written_test(data: dict) -> dict:
    return next(t for t in data["tests"] if QUESTION in t.get("name", "") or t.get("tags") == [QUESTION])


def opened(db: Path):
    from nbgrader.api import Gradebook

    return Gradebook(gradebook.db_url(db), course_id="")



@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """Two submissions graded once with --gradebook (nobody has graded by hand yet)."""
    tmp = tmp_path_factory.mktemp("formgrader")
    submission(tmp, "alice", ALICE_ANSWER)
    submission(tmp, "mallory", ATTACK)
    grade(tmp)
    return tmp


@pytest.fixture(scope="module")
def server(course_dir):
    """nbgrader's formgrader in a Jupyter server rooted at the gradebook's folder."""
    root = course_dir / "course"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {gradebook.db_url(root / 'gradebook.db')!r}\n"
        f"c.Exchange.root = {str(course_dir / 'exchange')!r}\n", "utf-8")
    with jupyter("server", root, course_dir / "home") as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory, server):
    """Chromium, logged in to the server as a TA logs in: the token typed into Jupyter's login form (the
    formgrader's own requests then carry the session cookie and the XSRF token)."""
    assert Path(CHROMIUM).is_file(), "these tests need Chromium: apt-get install chromium"
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    b.stubs[MATHJAX] = MATHJAX_STUB
    base, token = server
    login = b.open(f"{base}/login")
    login.js(f"document.querySelector('input[name=password]').value = {json.dumps(token)}; "
             "document.querySelector('form').submit()")
    b.wait_for("Page.loadEventFired")
    yield b
    b.close()


def submission_page(browser, server, db: Path, student: str):
    base, token = server
    with opened(db) as gb:
        sid = gb.find_submission_notebook(NOTEBOOK, AID, student).id
    page = browser.open(f"{base}/formgrader/submissions/{sid}/")
    deadline = time.monotonic() + 30           # the grade inputs are filled in by the page's own scripts
    while not page.js(f"!!document.getElementById('{QUESTION}')") and time.monotonic() < deadline:
        time.sleep(0.2)
    return page


def type_into(page, selector: str, text: str) -> None:
    """Focus a field, type as a person would (DevTools input events), and leave it: the browser's own
    change event, which the formgrader saves on."""
    page.send("Emulation.setFocusEmulationEnabled", enabled=True)   # a background tab keeps its focus events
    page.js(f"document.querySelector({json.dumps(selector)}).focus()")
    page.send("Input.insertText", text=text)
    page.js(f"document.querySelector({json.dumps(selector)}).blur()")


def wait_for(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------------------------------------- tests


def test_before_a_ta_looks_the_written_answer_is_pending_everywhere(course_dir, course):
    row = rows(course_dir)["alice"]
    assert (row["status"], row[f"written.{QUESTION}"], row[f"written.{UNANSWERED}"]) == ("pending", "pending", "0")
    assert float(row["score"]) == float(row["auto_score"]) == 67 and float(row["max_score"]) == 78
    data = load_results(course_dir / "graded", "alice", AID)
    test = written_test(data)
    assert "score" not in test and "status" not in test and test["max_score"] == 6    # Gradescope: no score yet
    assert data["score"] == 67
    assert say("written_total_pending", points=6) in data["output"]
    page = (course_dir / "graded" / "alice" / AID / "feedback.html").read_text("utf-8")
    assert feedback.PAGE and say("written_total_pending", points=6) in page and say("feedback_pending") in page
    with opened(course_dir / "course" / "gradebook.db") as gb:
        grade = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
        assert grade.auto_score is None and grade.manual_score is None and grade.needs_manual_grade
        assert grade.cell.cell_type == "markdown" and grade.max_score == 6


def test_the_formgrader_shows_the_answer_and_the_rubric_and_runs_none_of_mallorys_markup(
        course_dir, server, browser):
    page = submission_page(browser, server, course_dir / "course" / "gradebook.db", "mallory")
    text = page.js("document.body.innerText")
    assert "助教用" in text and "評分標準" in text                           # the rubric, for the TA
    assert "<script>" in text and "onerror" in text                         # the attack shows as text
    assert page.dialogs == [] and "pwned" not in page.js("document.title")
    assert page.js("document.querySelectorAll('script:not([src])').length") == page.js(
        "[...document.querySelectorAll('script:not([src])')].filter(s => !s.textContent.includes('pwned')).length")
    hrefs = page.js("[...document.querySelectorAll('a[href]')].map(a => [a.href, a.outerHTML])")
    scripts = [h for h in hrefs if h[0].lower().replace("\t", "").startswith(("javascript:", "vbscript:"))]
    assert hrefs and not scripts
    # her links are text: no anchor carries any of her words, no image of hers asks the server for anything
    assert not page.js("[...document.querySelectorAll('a')].filter(a => /點我|再點|三|pwned|evil/.test(a.textContent)).length")
    assert not page.js("[...document.querySelectorAll('img')].filter(i => /api|evil/.test(i.src)).length")
    # her headings are text too: the one element with the grade field's id is the grade field
    assert page.js(f"[...document.querySelectorAll('[id=\"{QUESTION}\"]')].map(e => e.tagName)") == ["INPUT"]
    assert page.js(f"[...document.querySelectorAll('[id=\"{QUESTION}-comment\"]')].map(e => e.tagName)") == [
        "TEXTAREA"]


def test_a_tas_grade_survives_a_regrade_and_counts_in_every_total(course_dir, server, browser):
    db = course_dir / "course" / "gradebook.db"
    page = submission_page(browser, server, db, "alice")
    assert ALICE_ANSWER[:12] in page.js("document.body.innerText")
    type_into(page, f"#{QUESTION}", "5")
    type_into(page, f"#{QUESTION}-comment", TA_COMMENT)

    def saved():
        with opened(db) as gb:
            grade = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
            comment = gb.find_comment(QUESTION, NOTEBOOK, AID, "alice")
            return grade.manual_score == 5 and comment.manual_comment == TA_COMMENT
    wait_for(saved, "the formgrader to save the TA's score and comment")

    grade(course_dir)                                   # the regrade: every notebook run and judged again
    with opened(db) as gb:
        graded = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
        assert graded.manual_score == 5 and not graded.needs_manual_grade
        assert gb.find_submission_notebook(NOTEBOOK, AID, "alice").score == pytest.approx(72)   # cases split points: round-off
    row = rows(course_dir)["alice"]
    assert (row["status"], row[f"written.{QUESTION}"], row["score"], row["written_score"]) == ("graded", "5", "72", "5")
    assert rows(course_dir)["mallory"]["status"] == "pending"
    data = load_results(course_dir / "graded", "alice", AID)
    test = written_test(data)
    assert (data["score"], test["score"], test["max_score"]) == (72, 5, 6) and TA_COMMENT in test["output"]
    assert say("written_total_pending", points=6) not in data["output"]
    feedback = browser.open(course_dir / "graded" / "alice" / AID / "feedback.html")
    assert feedback.js("document.getElementById('fb-total').textContent") == say("total", score=72, max_score=78)
    assert feedback.js("document.getElementById('fb-pending')") is None
    answers = feedback.js("[...document.querySelectorAll('#fb-written tbody tr')].map(r => r.innerText)")
    assert len(answers) == 2 and "0 / 5" in answers[0] and UNANSWERED in answers[0]      # grad_h0, left as released
    answer = [a for a in answers if QUESTION in a]
    assert len(answer) == 1 and "5 / 6" in answer[0] and TA_COMMENT in answer[0]


def test_a_changed_answer_keeps_the_points_and_is_flagged_for_review(course_dir):
    submission(course_dir, "alice", ALICE_ANSWER + "\n\n補充：參數少，也比較不容易過度擬合。")
    grade(course_dir)
    with opened(course_dir / "course" / "gradebook.db") as gb:
        graded = gb.find_grade(QUESTION, NOTEBOOK, AID, "alice")
        assert graded.manual_score == 5 and graded.needs_manual_grade
    test = written_test(load_results(course_dir / "graded", "alice", AID))
    assert test["score"] == 5 and say("written_changed") in test["output"]
