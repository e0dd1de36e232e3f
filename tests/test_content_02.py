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
    points = grader_points()
    intro = text(cells(SOURCE)["intro"])
    table = {}
    for names, numbers in re.findall(r"^\| 第 [\d、]+ 題 \| (.+?) \| ([\d +]+) \| .+ \|$", intro, flags=re.M):
        table.update(zip(re.findall(r"`(\w+)`", names), (int(n) for n in numbers.split("+"))))
    assert table == points
    # and a time estimate for every part
    assert len(re.findall(r"\| \d+ 分鐘 \|$", intro, flags=re.M)) == 9
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
    assert "記憶細胞" not in everything                  # issue 25: 細胞狀態 (cell state), 記憶單元 for memory cell
    assert "細胞狀態 (cell state)" in everything
    assert "（softmax）" not in everything               # the book's σ_y is an output activation, not named softmax
    for term in ("全連接層 (fully connected layer)", "損失函數 (loss function)", "遞迴神經網路"):
        assert term in everything, term


# ------------------------------------------------------------------ beyond the book (issue #16)
NEW_BLANKS = {"sample_next": (6, "def sample_next(logits, temperature, generator=None):"),
              "generate": (7, "def generate(model, out_len, start='對', temperature=0.0, generator=None):"),
              "perplexity": (8, "def perplexity(model, Input, Target):")}


def grader_points() -> dict[str, int]:
    graders = ROOT / "autograder" / "graders" / AID
    points: dict[str, int] = {}
    for path in graders.glob("test_*.py"):
        source = path.read_text("utf-8")
        blank = re.search(r'^BLANK = "(\w+)"', source, flags=re.M).group(1)
        points[blank] = points.get(blank, 0) + sum(
            int(n) for n in re.findall(r"@pytest\.mark\.points\((\d+), blank=BLANK\)", source))
    return points


def test_new_blanks_have_prose_stub_and_check_in_the_release():
    released = cells(RELEASE)
    order = list(released)
    points = grader_points()
    for name, (number, signature) in NEW_BLANKS.items():
        prose, stub, check = released[f"{name}-prose"], released[name], released[f"check-{name}"]
        assert text(prose).startswith(f"## 第 {number} 題：`{name}` — "), name
        assert prose["metadata"]["nbgrader"]["locked"] and not prose["metadata"]["nbgrader"]["solution"]
        body = text(stub)
        assert body.startswith(signature), name
        assert "# 你的程式碼 (YOUR CODE HERE)" in body
        assert f'raise NotImplementedError("{name}：請完成這裡 / fill in {name}")' in body
        assert stub["metadata"]["nbgrader"]["solution"] and not stub["metadata"]["nbgrader"]["locked"]
        meta = check["metadata"]["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] == points[name], name
        assert "期望 expected" in text(check) and "得到 got" in text(check), name
        assert order.index(f"{name}-prose") < order.index(name) < order.index(f"check-{name}")
    # after predict and sample, in the order of their numbers; the written question after them all
    assert order.index("check-predict-sample") < order.index("sample_next-prose") < order.index("generate-prose") \
        < order.index("perplexity-prose") < order.index("why_prefix-prose")


def test_changed_contracts_keep_the_old_calls():
    """Model.forward and train grew an argument whose default is the book's behaviour."""
    released = cells(RELEASE)
    assert "    def forward(self, x, hidden=None):" in text(released["model"])
    assert text(released["train"]).startswith("def train(net, Input, Target, n_epochs=100, lr=0.01, max_norm=None):")
    assert "`forward(self, x, hidden=None)`" in text(released["model-prose"])
    assert "`nn.utils.clip_grad_norm_`" in text(released["train-prose"])      # the API named, not the call
    # the cells that train and sample with the book's calls are unchanged: no hidden, no max_norm
    assert "train(model, Input, Target, n_epochs=100, lr=0.01)" in text(released["train-run"])


def test_new_answers_stay_out_of_the_release():
    everything = "\n".join(text(c) for c in cells(RELEASE).values())
    for answer in ("if hidden is None:", "if max_norm is not None:", "int(torch.argmax(logits))",
                   "chars.append(Int2char[index])", "torch.exp(loss)", "out[-1]"):
        assert answer not in everything, answer
    source = "\n".join(text(c) for c in cells(SOURCE).values())
    assert all(answer in source for answer in ("if hidden is None:", "if max_norm is not None:", "torch.exp(loss)"))


def test_demo_cells_are_tagged_and_needed_by_nothing():
    """The two demonstrations (temperatures, perplexities) are tagged demo: grading does not run them, so
    nothing after them may use a name they bind."""
    source = json.loads(SOURCE.read_text("utf-8"))["cells"]
    ids = [c.get("id") for c in source]
    demos = [c for c in source if "demo" in c["metadata"].get("tags", [])]
    assert [c["id"] for c in demos] == ["generate-demo", "perplexity-demo"]
    for demo in demos:
        assert demo["cell_type"] == "code" and demo["metadata"]["nbgrader"]["locked"]
        assert not demo["metadata"]["nbgrader"]["grade"] and not demo["metadata"]["nbgrader"]["solution"]
        bound = {n.id for n in ast.walk(ast.parse(text(demo))) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        later = [c for c in source[ids.index(demo["id"]) + 1:] if c["cell_type"] == "code"]
        used = {n.id for c in later for n in ast.walk(ast.parse(text(c))) if isinstance(n, ast.Name)}
        assert not bound & used, (demo["id"], bound & used)
    assert all("demo" in c["metadata"].get("tags", []) for c in cells(RELEASE).values()
               if c.get("id") in ("generate-demo", "perplexity-demo"))


def test_visible_check_points_match_the_graders():
    points = grader_points()
    checks = {"check-GetDummies": ["GetDummies"], "check-Model": ["Model"], "check-train": ["train"],
              "check-predict-sample": ["predict", "sample"], "check-sample_next": ["sample_next"],
              "check-generate": ["generate"], "check-perplexity": ["perplexity"]}
    source = cells(SOURCE)
    for check, blanks in checks.items():
        assert source[check]["metadata"]["nbgrader"]["points"] == sum(points[b] for b in blanks), check
    assert sorted(b for bs in checks.values() for b in bs) == sorted(points)


def test_written_question_asks_about_generate():
    prose = text(cells(SOURCE)["why_prefix-prose"])
    assert "`generate`" in prose and "溫度為 0" in prose
    rubric = text(cells(SOURCE)["why_prefix"]).split("**評分標準 (rubric)**", 1)[1]
    assert "確定性" in rubric and "dropout" in rubric
    # the prose of generate gives the time steps each way: the question does not ask for them
    assert "多少個時間步" not in prose


def test_each_new_blank_has_a_public_check_and_catalogued_mistakes():
    public = (ROOT / "autograder" / "checks" / AID / "test_public.py").read_text("utf-8")
    from autograder.validate import catalogue

    mutants, variants = catalogue(AID)
    for blank in ("sample_next", "generate", "perplexity"):
        assert f'@pytest.mark.points(1, blank="{blank}")' in public, blank
        assert sum(m.loses == blank for m in mutants) >= 2, blank
        assert any(e[0] == blank for v in variants for e in v.edits), blank
    assert 'def test_train_clipping(' in public and 'def test_model_hidden(' in public
    assert {"clip-value", "clip-before-backward", "forward-ignores-hidden"} <= {m.name for m in mutants}


# ------------------------------------------------------------------ teaching, not dictating (issue 25)
def test_prose_and_checks_give_no_line_to_type():
    """The blanks' prose says what and why, never the line that computes it; the visible checks print expected
    values without computing them the way the answer does."""
    released = cells(RELEASE)
    everything = "\n".join(text(c) for c in released.values())
    for line in ("nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)", "nn.Linear(hidden_dim, output_size)",
                 "torch.optim.Adam(net.parameters(), lr=lr)", "optimizer.zero_grad()` →", "loss.backward()` →",
                 "clip_grad_norm_(net.parameters(), max_norm)", "torch.multinomial(torch.softmax(",
                 "softmax(scores / temperature", "logits / temperature, dim", "torch.exp(-p.log()",
                 "nn.functional.cross_entropy"):
        assert line not in everything, line
    prose = "\n".join(text(c) for c in released.values() if c["cell_type"] == "markdown")
    for line in ("next(self.parameters()).device", "Target.view(-1)", ".item()", "model.eval()`", "torch.no_grad()`",
                 "`torch.argmax`", "Char2int` 與 `GetDummies` 編碼"):
        assert line not in prose, line


def test_terms_of_issue_25():
    everything = "\n".join(text(c) for c in cells(SOURCE).values())
    for old in ("空格 1", "空格 2", "空格 3", "空格 4", "空格 5", "空格 6", "空格 7", "空格 8", "下一個空格", "介面 (contract)",
                "門控循環單元", "開度", "帶下去", "接著算", "行向量", "逐字", "手邊沒有"):
        assert old not in everything, old
    for new in ("第 1 題", "第 8 題", "約定 (contract)", "閘控循環單元 (gated recurrent unit, GRU", "門控遞歸單元",
                "「門」與「閘」都是 gate", "延續隱藏狀態", "遞歸神經網絡", "欄向量 (column vector)"):
        assert new in everything, new
    intro = text(cells(SOURCE)["intro"])
    assert "## 名詞對照 (glossary)" in intro and "| 中文 | English |" in intro


def test_errata_name_errors_and_differences_apart():
    """勘誤 lists the book's errors; what is no error (from_numpy vs torch.Tensor) stands under 與 PyTorch 的差異,
    with the book's code quoted as two statements, as the book has it."""
    errata = text(cells(SOURCE)["errata"])
    errors, differences = errata.split("## 與 PyTorch 的差異", 1)
    assert "勘誤 1" in errors and "勘誤 2" in errors and "勘誤 3" not in errata
    assert "from_numpy" not in errors.split("勘誤 2")[0]
    assert "character=torch.from_numpy(character)\ncharacter=character.to(device)" in differences
    assert "Target=torch.Tensor(Target)" in differences
    notation = text(cells(SOURCE)["notation"])
    assert "這裡包含了常數項" in notation and "$W_y$（含偏差）" not in notation


def test_sample_next_prose_says_how_it_is_graded():
    prose = text(cells(SOURCE)["sample_next-prose"])
    assert "適合度檢定 (goodness-of-fit test)" in prose and "generator=" in prose
    assert "評分程式用同一個種子比對你抽到的每一個編號" not in prose
