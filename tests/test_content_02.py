"""The content of 02-char-rnn that the graders rely on: the visible check retries the graders' seeds, the
written question is worded and scored as course.toml says, and the released notebook gives no answer away."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from autograder import course as courses

ROOT = Path(__file__).resolve().parent.parent
AID = "02-char-rnn"
SOURCE = ROOT / "source" / AID / "char-rnn.ipynb"
RELEASE = ROOT / "release" / AID / "char-rnn.ipynb"


def cells(path: Path) -> dict:
    notebook = json.loads(path.read_text("utf-8"))
    return {c["metadata"].get("nbgrader", {}).get("grade_id") or c.get("id"): c for c in notebook["cells"]}


def text(cell) -> str:
    return "".join(cell["source"])


def test_visible_check_retries_the_graders_seeds():
    """The notebook hard-codes RETRY_SEEDS (students have no course.toml): they must be the graders' seeds."""
    tree = ast.parse(text(cells(SOURCE)["train-run"]))
    assigned = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "RETRY_SEEDS" for t in node.targets)]
    assert len(assigned) == 1
    assert tuple(ast.literal_eval(assigned[0])) == courses.load(ROOT).retry_seeds
    check = text(cells(SOURCE)["check-predict-sample"])
    assert "for seed in RETRY_SEEDS" in check and "trained_net(seed)" in check


def test_written_question_cells_and_rubric():
    points = dict(next(a for a in courses.load(ROOT).assignments if a.id == AID).written)
    assert points == {"why_prefix": 6}
    source = cells(SOURCE)
    prose, answer = source["why_prefix-prose"], source["why_prefix"]
    assert prose["metadata"]["nbgrader"] == {"grade": False, "grade_id": "why_prefix-prose", "locked": True,
                                             "schema_version": 3, "solution": False, "task": False}
    assert text(prose).startswith("## 書面題：") and "（6 分）(written question)" in text(prose).splitlines()[0]
    assert answer["cell_type"] == "markdown"
    assert answer["metadata"]["nbgrader"] == {"grade": True, "grade_id": "why_prefix", "locked": False, "points": 6,
                                              "schema_version": 3, "solution": True, "task": False}
    body = text(answer)
    assert body.startswith("**參考答案 (model answer)**") and "\n**評分標準 (rubric)**\n" in body
    rubric = body.split("**評分標準 (rubric)**", 1)[1]
    assert sum(int(n) for n in re.findall(r"^- (\d+) 分：", rubric, flags=re.M)) == 6


def test_release_gives_no_answer_away():
    released = cells(RELEASE)
    assert "summary" not in released                       # the solutions-only summary stays in solutions/
    assert "solutions-only" not in json.dumps([c["metadata"] for c in released.values()])
    everything = "\n".join(text(c) for c in released.values())
    assert "請在這裡寫下你的答案 (YOUR ANSWER HERE)" in text(released["why_prefix"])
    for answer in ("參考答案", "評分標準", "必須把整個前文重新送進去", ".contiguous().view(-1", "out[-1]",
                   "features[i, u, sequence[i][u]] = 1", "torch.max(prob"):
        assert answer not in everything, answer
    # the stubs and the instructions name the same marker
    assert "# 你的程式碼 (YOUR CODE HERE)" in text(released["intro"])
    assert "`# YOUR CODE HERE`" not in everything


def test_terms():
    everything = "\n".join(text(c) for c in cells(SOURCE).values())
    for simplified in ("基于", "批量", "列表", "拷貝", "可訓練的數字", "前激活值"):
        assert simplified not in everything, simplified


def test_intro_points_table_matches_the_graders():
    """The intro's per-blank table is what the hidden graders' points markers add up to, and the totals agree
    with course.toml."""
    graders = ROOT / "autograder" / "graders" / AID
    points: dict[str, int] = {}
    for path in graders.glob("test_*.py"):
        source = path.read_text("utf-8")
        blank = re.search(r'^BLANK = "(\w+)"', source, flags=re.M).group(1)
        points[blank] = points.get(blank, 0) + sum(
            int(n) for n in re.findall(r"@pytest\.mark\.points\((\d+), blank=BLANK\)", source))
    intro = text(cells(SOURCE)["intro"])
    table = {name: int(n) for name, n in re.findall(r"^\| \d \| `(\w+)` \| (\d+) \|$", intro, flags=re.M)}
    assert table == points
    assignment = next(a for a in courses.load(ROOT).assignments if a.id == AID)
    assert sum(table.values()) == assignment.points
    total = int(assignment.points + assignment.written_points)
    assert f"共 {int(assignment.points)} 分" in intro and f"全部共 {total} 分" in intro


def test_written_question_leaves_its_reasoning_to_the_student():
    """The prompt does not say why the whole prefix is needed (the rubric's second item)."""
    prose = text(cells(SOURCE)["why_prefix-prose"])
    for giveaway in ("全零", "init_hidden", "零狀態"):
        assert giveaway not in prose, giveaway


def test_terms_match_the_other_notebooks():
    everything = "\n".join(text(c) for c in cells(SOURCE).values())
    assert "細胞狀態" not in everything                  # 03 says 記憶細胞 (cell state)
    assert "（softmax）" not in everything               # the book's σ_y is an output activation, not named softmax
    for term in ("全連接層 (fully connected layer)", "損失函數 (loss function)", "遞迴神經網路"):
        assert term in everything, term
