"""`feedback.html` pages, opened in a real headless Chromium.

One real grading run (module fixture) grades bob's 02-char-rnn (partial marks: failures show), a hostile
copy of it (mallory: markdown with a <script>, an <img onerror>, a javascript: link and a fake score
header; a cell that prints a <script>; a stored text/html output) and frank's (invalid JSON: no executed
notebook). The pages are written by `course grade --feedback` and loaded in Chromium driven over the DevTools
protocol on a pipe (`--remote-debugging-pipe`, standard library only), which lets the tests read the DOM
after load, the layout, JavaScript dialogs, and a screenshot of the plot's own rectangle.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from autograder import feedback
from browser import CHROMIUM, Browser
from autograder.messages import say
from conftest import AID, ROOT, load_results, run_course

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("course_language")]   # grades a class and opens its pages in Chromium

SUBMITTED = ROOT / "examples" / "submitted"
HOSTILE_MARKDOWN = """## 我的筆記 / my notes

<script>document.title='pwned-script'; alert('pwned-script')</script>

<img src=x onerror="document.title='pwned-img'; alert('pwned-img')">

<a href="javascript:alert('pwned-link')">click</a>

</div></section><header class="fb-summary fb-passed"><p class="fb-total">總分 50 / 50 / total 50 / 50</p></header>

<p id="fb-total" class="fb-total">總分 50 / 50 / total 50 / 50</p>
"""
HOSTILE_PRINT = "print(\"<script>document.title='pwned-print'</script>\")"
HOSTILE_OUTPUT = "<script>document.title='pwned-output'; alert('pwned-output')</script>"


# ---------------------------------------------------------------------------------------------- fixtures


def _hostile_copy(folder: Path) -> Path:
    """bob's notebook with mallory's additions, in the submitted/<student>/<aid>/ layout."""
    nb = nbformat.read(SUBMITTED / "bob" / AID / "char-rnn.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN))
    printing = nbformat.v4.new_code_cell(HOSTILE_PRINT)
    printing.outputs = [nbformat.v4.new_output("display_data", data={"text/html": HOSTILE_OUTPUT})]
    nb.cells.insert(2, printing)
    path = folder / "submitted" / "mallory" / AID / "char-rnn.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course):
    tmp = tmp_path_factory.mktemp("feedback")
    out = tmp / "graded"
    hostile = _hostile_copy(tmp)
    proc = run_course("grade", SUBMITTED / "bob" / AID / "char-rnn.ipynb", hostile,
                      SUBMITTED / "frank" / AID / "char-rnn.ipynb", "--out", out, "--jobs", "2", "--quiet",
                      "--feedback")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, sorted(out.glob("*/*/feedback.html"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert Path(CHROMIUM).is_file(), "these tests need Chromium: apt-get install chromium"
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def bob(graded, browser):
    return browser.open(graded[0] / "bob" / AID / "feedback.html")


@pytest.fixture(scope="module")
def mallory(graded, browser):
    return browser.open(graded[0] / "mallory" / AID / "feedback.html")



# ---------------------------------------------------------------------------------------------- tests


def test_a_page_beside_every_results_json(graded):
    out, pages = graded
    expected = sorted(p.with_name("feedback.html") for p in out.rglob("results.json"))
    assert sorted(pages) == expected and len(expected) == 3
    assert all(p.is_file() and p.stat().st_size > 0 for p in pages)


def test_header_total_and_every_grader(graded, bob, course):
    data = load_results(graded[0], "bob")
    assert data["score"] == 59 and data["extra_data"]["max_score"] == 85      # 79 of graders, 6 written (pending)
    assert bob.js("document.title") == say("feedback_title", student="bob", assignment=AID)
    header = bob.js("document.querySelector('body > header').innerText")
    assert course.assignment(AID).title in header and "bob" in header
    assert bob.js("document.getElementById('fb-total').textContent") == say("total", score=59, max_score=85)
    assert bob.js("document.querySelector('body > header').className").split() == ["fb-summary", "fb-failed"]
    # a failed run is red, a passed one green: the colour is really applied
    background = bob.js("getComputedStyle(document.querySelector('body > header')).backgroundColor")
    assert background == "rgb(180, 35, 24)"
    rows = bob.js("[...document.querySelectorAll('#fb-graders tbody tr')].map(r => ["
                  "r.querySelector('.fb-name').textContent, r.querySelector('.fb-points').textContent, "
                  "r.querySelector('.fb-status').textContent, r.querySelector('.fb-message').textContent])")
    graders, answers = data["tests"][:39], data["tests"][39:]
    assert len(rows) == len(data["extra_data"]["nodeids"]) == 39 and len(answers) == 1
    for (name, points, status, message), test in zip(rows, graders):
        assert test["name"] in name and test["tags"][0] in name
        assert points == f"{test['score']:g} / {test['max_score']:g}"
        assert status == say("feedback_passed" if test["status"] == "passed" else "feedback_failed")
        assert message == test["output"]            # escaped, whole, newlines kept (pre-wrap below)
    failed = sum(t["status"] != "passed" for t in graders)
    assert sum(r[2] == say("feedback_failed") for r in rows) == failed > 0
    # the written answer: its own table, no points yet, pending, and the header says how many are to come
    written = bob.js("[...document.querySelectorAll('#fb-written tbody tr')].map(r => r.innerText)")
    assert len(written) == 1 and answers[0]["name"] in written[0] and "— / 6" in written[0]
    assert say("feedback_pending") in written[0]
    assert bob.js("document.getElementById('fb-pending').textContent") == say("written_total_pending", points=6)
    assert bob.js("getComputedStyle(document.querySelector('.fb-message')).whiteSpace") == "pre-wrap"
    notes = bob.js("document.getElementById('fb-notes').innerText")
    assert all(note in notes for note in data["extra_data"]["notes"]) and "AssertionError" in notes


def test_executed_notebook_is_in_the_page(graded, bob):
    executed = nbformat.read(graded[0] / "bob" / AID / "executed.ipynb", as_version=4)
    assert bob.js("document.querySelectorAll('#fb-notebook .jp-Cell').length") == len(executed.cells)
    assert bob.js("document.querySelectorAll('#fb-notebook .jp-MarkdownCell').length") == sum(
        c.cell_type == "markdown" for c in executed.cells)
    # markdown is rendered (headings), not shown as escaped tags
    assert bob.js("document.querySelectorAll('#fb-notebook .jp-MarkdownCell h1').length") == 1
    outputs = bob.js("document.getElementById('fb-notebook').innerText")
    streams = [o.text for c in executed.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "stream"]
    assert streams and all(line in outputs for text in streams for line in text.splitlines() if line.strip())
    errors = bob.js("[...document.querySelectorAll('#fb-notebook "
                    "[data-mime-type=\"application/vnd.jupyter.stderr\"]')].map(e => e.textContent).join(' ')")
    assert "對酒酒酒" in errors
    # graded with --feedback: the notebook's own loss plot is in the page, drawn
    figures = bob.js("[...document.querySelectorAll('#fb-notebook img')].filter(i => "
                     "i.src.startsWith('data:image/png') && i.naturalWidth > 100).length")
    assert figures == 1
    assert bob.dialogs == []


def test_loss_curve_is_drawn(graded, bob):
    curves = load_results(graded[0], "bob")["extra_data"]["curves"]
    assert [c["name"] for c in curves] == ["loss"]
    assert bob.js("document.querySelectorAll('#fb-curves figure svg').length") == 1
    rect = bob.js("(() => { const r = document.querySelector('#fb-curves figure svg').getBoundingClientRect();"
                  " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()")
    assert rect["width"] > 300 and rect["height"] > 150
    caption = bob.js("document.querySelector('#fb-curves figcaption').textContent")
    assert caption == curves[0]["title"]
    legend = bob.js("document.querySelector('#fb-curves svg').textContent")
    assert all(s["label"] in legend for s in curves[0]["series"])
    image = bob.screenshot(rect)
    for colour in (feedback.STUDENT_COLOUR, feedback.REFERENCE_COLOUR):
        assert _pixels_near(image, colour) > 200, colour


def _pixels_near(image, colour: str, tolerance: int = 12) -> int:
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, rgb in image.getcolors(1 << 20)
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, target)))


def test_page_is_self_contained(graded):
    for page in graded[1]:
        html = page.read_text("utf-8")
        assert not re.search(r"<script|<link|<iframe|<object|<embed", html, re.I)
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
        assert "mathjax" not in html.lower() and "cdnjs" not in html.lower()


def test_hostile_notebook_does_not_run(graded, mallory):
    out = graded[0]
    assert load_results(out, "mallory")["score"] == load_results(out, "bob")["score"]
    html = (out / "mallory" / AID / "feedback.html").read_text("utf-8")
    assert not re.search(r"<script", html, re.I)                        # sanitised, not only blocked
    assert not re.search(r"\sonerror\s*=|javascript:", html, re.I)
    assert mallory.js("document.title") == say("feedback_title", student="mallory", assignment=AID)
    assert mallory.dialogs == []
    assert mallory.js("document.querySelectorAll('script, [onerror], iframe, object, embed').length") == 0
    assert mallory.js("document.querySelectorAll('body > header').length") == 1     # no fake score header
    assert mallory.js("document.querySelectorAll('#fb-total, .fb-total').length") == 1
    assert mallory.js("document.getElementById('fb-total').textContent") == say("total", score=59, max_score=85)
    # the student sees what they wrote, as text
    text = mallory.js("document.getElementById('fb-notebook').innerText")
    assert "document.title='pwned-script'" in text and "document.title='pwned-print'" in text
    assert "pwned-output" not in text                                  # a stored text/html output is never shown


def test_the_probe_sees_a_script_that_runs(tmp_path, browser):
    """The checks above can fail: the same markup unsanitised changes the title and opens dialogs."""
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><title>mine</title><body>{HOSTILE_MARKDOWN}</body>", "utf-8")
    opened = browser.open(page)
    assert opened.js("document.title").startswith("pwned")
    assert "pwned-script" in opened.dialogs


def test_unreadable_notebook_says_so(graded, browser):
    folder = graded[0] / "frank" / AID
    assert load_results(graded[0], "frank")["extra_data"]["error"]
    assert not (folder / "executed.ipynb").exists()
    page = browser.open(folder / "feedback.html")
    assert page.js("document.querySelector('.fb-no-notebook').textContent") == say("feedback_no_notebook")
    assert page.js("document.querySelectorAll('#fb-notebook .jp-Cell').length") == 0
    assert page.js("document.getElementById('fb-total').textContent") == say("total", score=0, max_score=85)
    assert "fb-failed" in page.js("document.querySelector('body > header').className")


def test_page_chrome_follows_the_course_language(graded, course):
    result, executed, refused = feedback.read(graded[0] / "bob" / AID)
    html = feedback.page(result, replace(course, language="en"), executed, refused)
    assert '<html lang="en">' in html
    assert ">total 59 / 85<" in html and "總分 59 / 85" not in html
    assert ">student<" in html and "學生" not in html.split('id="fb-graders"')[0]
