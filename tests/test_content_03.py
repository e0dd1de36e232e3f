"""03-lstm as a student reads it, after the long-range experiment (issue #16): the three new blanks (the
adding problem's data, the gradient norms ‖∂L/∂h_k‖, the training loop) with their prose, stubs and
visible checks; the points the intro, the visible checks, the graders and course.toml give; no answer in
the release; the two demonstrations tagged demo and needed by nothing; the written question on gates
asking about the new plots; one TaskNet everywhere."""

from __future__ import annotations

import ast
import json
import re

import pytest
import torch
from torch import nn

from autograder import course as courses
from conftest import ROOT

AID, NOTEBOOK = "03-lstm", "lstm.ipynb"
GRADERS = ROOT / "autograder" / "graders" / AID
NEW_BLANKS = {"adding_problem": (7, "def adding_problem(n, T, generator):"),
              "hidden_grad_norms": (8, "def hidden_grad_norms(model, x, y):"),
              "train_task": (9, "def train_task(model, batches, lr=0.01, max_norm=1.0):")}
DEMOS = ("experiment", "long-range-experiment")


def cells(area: str) -> list[dict]:
    nb = json.loads((ROOT / area / AID / NOTEBOOK).read_text("utf-8"))
    return [dict(c, source="".join(c["source"])) for c in nb["cells"]]


def by_id(area: str) -> dict:
    return {c["id"]: c for c in cells(area)}


def assignment():
    return next(a for a in courses.load(ROOT).assignments if a.id == AID)


def grader_points() -> dict[str, float]:
    """blank → the points of its hidden graders, from their markers (a BLANK constant, or a case's own blank)."""
    points: dict[str, float] = {}
    for path in GRADERS.glob("test_*.py"):
        source = path.read_text("utf-8")
        default = re.search(r'^BLANK = "(\w+)"', source, flags=re.M)
        for n, blank in re.findall(r"pytest\.mark\.points\((\d+), blank=(BLANK|blank)\)", source):
            if blank == "BLANK":
                points[default.group(1)] = points.get(default.group(1), 0) + int(n)
        for blank, n in re.findall(r'cell\("(\w+)", (\d+),', source):       # test_cell_contracts' own cases
            points[blank] = points.get(blank, 0) + int(n)
    return points


def test_nine_blanks_counted_everywhere():
    source = cells("source")
    solutions = [c for c in source if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]
    headings = sorted({int(n) for c in source for n in re.findall(r"^## 第 (\d+) 題：", c["source"], re.M)})
    assert len(solutions) == 9 and headings == list(range(1, 10))
    intro = by_id("source")["intro"]["source"]
    assert "共有 9 個程式題" in intro


def test_intro_table_visible_checks_graders_and_course_toml_agree():
    points = grader_points()
    intro = by_id("source")["intro"]["source"]
    table = {name: int(n) for name, n in re.findall(r"^\| \d \| `(\w+)` \| (\d+) \|$", intro, flags=re.M)}
    assert table == {"lstm_cell": 12, "lstm_forward": 14, "peephole_cell": 9, "coupled_cell": 8, "gru_cell": 9,
                     "adding_problem": 5, "hidden_grad_norms": 8, "train_task": 7}
    assert re.search(r"^\| 1 \| 書中的例子 `book_example`.*\| 8 \|$", intro, flags=re.M)
    table["book_example"] = 8
    assert table == points
    source = by_id("source")
    for blank, n in table.items():
        assert source[f"check-{blank}"]["metadata"]["nbgrader"]["points"] == n, blank
    a = assignment()
    assert a.points == sum(table.values()) == 80
    assert dict(a.written) == {"book_comment": 5, "why_gates": 5}
    assert "共 80 分" in intro and "全部共 90 分" in intro


def test_new_blanks_have_prose_stub_and_check_in_the_release():
    released = by_id("release")
    order = list(released)
    points = grader_points()
    for name, (number, signature) in NEW_BLANKS.items():
        prose, stub, check = released[f"{name}-prose"], released[name], released[f"check-{name}"]
        assert prose["source"].startswith(f"## 第 {number} 題：`{name}` —— "), name
        assert prose["metadata"]["nbgrader"]["locked"] and not prose["metadata"]["nbgrader"]["solution"]
        assert stub["source"].startswith(signature), name
        assert "# 你的程式碼 (YOUR CODE HERE)" in stub["source"]
        assert f'raise NotImplementedError("{name}：請完成這裡 / fill in {name}")' in stub["source"]
        assert "### BEGIN SOLUTION" not in stub["source"]
        assert stub["metadata"]["nbgrader"]["solution"] and not stub["metadata"]["nbgrader"]["locked"]
        meta = check["metadata"]["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] == points[name], name
        assert "期望 expected" in check["source"] and "得到 got" in check["source"], name
        assert order.index(f"{name}-prose") < order.index(name) < order.index(f"check-{name}")
    # after the short experiment and the section's TaskNet; the demo and the written question on gates after them
    assert order.index("experiment") < order.index("long-range") < order.index("task-net") \
        < order.index("adding_problem-prose") < order.index("hidden_grad_norms-prose") < order.index("train_task-prose") \
        < order.index("long-range-experiment") < order.index("why_gates-prose")


def test_release_gives_no_new_answer_away():
    released = cells("release")
    everything = "\n".join(c["source"] for c in released)
    for answer in ("first = torch.randint(0, half", "markers[rows, first] = 1.0", "values[rows, first] + values[rows, second]",
                   "_, state = model.rnn(x[:, k:k + 1], state)", "torch.stack([h.grad.norm() for h in hs])",
                   "losses.append(loss.item())", "# 只在迴圈之前建立一次",
                   # blank 1's last_step: the given TaskNet reads h_n, never output's last step
                   "output[:, -1]", "out[:, -1]", "h_n[-1]"):
        assert answer not in everything, answer
    source = "\n".join(c["source"] for c in cells("source"))
    assert all(answer in source for answer in ("markers[rows, first] = 1.0", "losses.append(loss.item())"))
    for written in ("book_comment", "why_gates"):
        assert by_id("release")[written]["source"].strip() == "請在這裡寫下你的答案 (YOUR ANSWER HERE)"
    assert "**參考答案 (model answer)**" not in everything and "**評分標準 (rubric)**" not in everything
    # the visible check of hidden_grad_norms computes its expectation by hand, never with autograd
    check = by_id("release")["check-hidden_grad_norms"]["source"]
    for giveaway in ("backward", "retain_grad", "autograd", "requires_grad"):
        assert giveaway not in check, giveaway


def module_level_names(tree: ast.Module) -> set[str]:
    """The names a cell binds in the notebook's namespace: assignments, loop targets, imports, def and class at its
    top level or inside its top-level loops and blocks, never inside a function or class body."""
    names: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def test_demo_cells_are_tagged_and_needed_by_nothing():
    """The two demonstrations (the poem, the adding problem at T = 30) are tagged demo: grading does not run
    them, so no later code cell that grading runs may read a name they bind."""
    source = cells("source")
    ids = [c["id"] for c in source]
    demos = [c for c in source if "demo" in c["metadata"].get("tags", [])]
    assert [c["id"] for c in demos] == list(DEMOS)
    for demo in demos:
        meta = demo["metadata"]["nbgrader"]
        assert demo["cell_type"] == "code" and meta["locked"] and not meta["grade"] and not meta["solution"]
        bound = module_level_names(ast.parse(demo["source"]))
        later = [c for c in source[ids.index(demo["id"]) + 1:]
                 if c["cell_type"] == "code" and "demo" not in c["metadata"].get("tags", [])]
        read = {n.id for c in later for n in ast.walk(ast.parse(c["source"]))
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert not bound & read, (demo["id"], bound & read)
    released = by_id("release")
    assert all("demo" in released[name]["metadata"].get("tags", []) for name in DEMOS)
    # the long run uses the student's three functions, at the length where the difference is clear
    demo = by_id("source")["long-range-experiment"]["source"]
    for call in ("adding_problem(64, T_long, g_long)", "hidden_grad_norms(long_net, x_long, y_long)",
                 "train_task(long_net, long_batches, lr=learning_rates[name], max_norm=1.0)",
                 "for T_long in (5, 10, 20, 30):", "semilogy", "axhline(2 / 12", "axhline(1 / 12"):
        assert call in demo, call
    # each model at its own learning rate (the RNN saturates at 0.02), and the sweep's figure drawn
    assert '"RNN": 0.005' in demo and "(d) test MSE" in demo


def test_why_gates_asks_about_the_adding_problem():
    source = by_id("source")
    prose = source["why_gates-prose"]["source"]
    assert "（5 分）(written question)" in prose.splitlines()[0]
    assert "加法問題" in prose and "圖 (b)、(c)、(d)" in prose and "`hidden_grad_norms` 的可見檢查" in prose
    for name in ("why_gates", "book_comment"):
        body = source[name]["source"]
        assert body.startswith("**參考答案 (model answer)**") and "\n**評分標準 (rubric)**\n" in body
        rubric = body.split("**評分標準 (rubric)**", 1)[1]
        assert sum(int(n) for n in re.findall(r"^- (\d+) 分：", rubric, flags=re.M)) == 5, name
    rubric = source["why_gates"]["source"].split("**評分標準 (rubric)**", 1)[1]
    assert "加法問題" in rubric and "0.167" in rubric
    # the prompt leaves the explanation to the student
    for giveaway in ("diag(f_t)", "開到接近 1", "常數誤差傳送帶"):
        assert giveaway not in prose, giveaway


def test_terms_are_taiwanese():
    text = "\n".join(c["source"] for c in cells("source"))
    for wrong in ("基于", "批量", "激活", "列表", "默認", "數據", "優化器", "內存", "代碼", "信息", "拷貝", "記憶細胞",
                  "空格 ", "介面", "開度", "門控循環單元", "接著算", "帶下去", "our reading", "逐字"):
        assert wrong not in text, wrong
    for term in ("批次", "均方誤差 (mean squared error, MSE)", "梯度裁剪 (gradient clipping)", "串列 (list)",
                 "細胞狀態 (cell state)", "約定 (contract)", "閘控循環單元", "門控遞歸單元", "遞歸神經網絡", "開啟程度",
                 "延續隱藏狀態", "接續計算"):
        assert term in text, term
    # the loss is \mathcal{L}, the number of layers L: one letter, one meaning
    for cell in ("hidden_grad_norms-prose", "train_task-prose", "long-range", "why_gates-prose"):
        body = by_id("source")[cell]["source"]
        assert "$L$" not in body and "\\partial L" not in body and "\\mathcal{L}" in body, cell


def test_intro_has_glossary_and_time_estimates():
    intro = by_id("source")["intro"]["source"]
    glossary = intro.split("## 詞彙表 (glossary)", 1)[1].split("\n## ", 1)[0]
    assert "| 中文 | English |" in glossary
    for pair in ("| 細胞狀態 | cell state |", "| 記憶單元 | memory cell |", "| 約定 | contract |",
                 "| 列／欄 | row / column |"):
        assert pair in glossary, pair
    assert "**時間估計 (time estimate)**" in intro and "分鐘" in intro


def test_prose_and_checks_dictate_no_code():
    """Issue 25: the prose says what to compute and why; the lines that compute it are not in the release, and
    the locked check of blank 1 does not print the shapes lstm_shapes must give."""
    released = by_id("release")
    prose = "\n".join(c["source"] for c in released.values() if c["cell_type"] == "markdown")
    for dictated in ("gates = x @ W_ih.T", "gi = x @ W_ih.T", "gh = h_prev @ W_hh.T", "x @ W_ih.T",
                     ".retain_grad()`，之後", "model.rnn(x[:, k:k + 1], state)", "model.zero_grad(set_to_none=True)",
                     "optimizer.zero_grad()` →", "loss.backward()` →", "`torch.optim.Adam(model.parameters(), lr=lr)`",
                     "torch.arange(n)", "torch.stack([...], dim=2)"):
        assert dictated not in prose, dictated
    checks = "\n".join(c["source"] for name, c in released.items() if name.startswith("check-"))
    for dictated in ("@ W_ih", "@ W_hh", "clip_grad_norm_(", "zero_grad(", "retain_grad"):
        assert dictated not in checks, dictated
    check = released["check-book_example"]["source"]
    for shape in ("(5, 3, 20)", "(2, 3, 20)\")"):
        assert shape not in check.replace("書中的 (2, 3, 20)", ""), shape
    # the errata: the book's snippet quoted whole; what is not an error of the book is under 與 PyTorch 的差異;
    # which comment is wrong is left to blank 1 and book_comment
    errata = released["errata"]["source"]
    assert "rnn=nn.LSTM(10,20,2)#input_dim,hidden_dim,n_layers" in errata and "### 與 PyTorch 的差異" in errata
    for erratum in ("U_f", "squeeze", "r_t"):
        assert erratum in errata.split("### 勘誤", 1)[1].split("### 與 PyTorch 的差異", 1)[0], erratum
    assert "註解是錯的" not in errata and "是對的" not in errata

def test_each_new_blank_has_a_public_check_and_catalogued_mistakes():
    public = (ROOT / "autograder" / "checks" / AID / "test_public.py").read_text("utf-8")
    from autograder.validate import catalogue

    mutants, variants = catalogue(AID)
    for blank in NEW_BLANKS:
        assert f'@pytest.mark.points(1, blank="{blank}")' in public, blank
        assert sum(m.loses == blank for m in mutants) >= 3, blank
        assert any(e[0] == blank for v in variants for e in v.edits), blank
    names = {m.name for m in mutants}
    assert {"norms-output-gradient", "train-no-clip", "adding-global-rng"} <= names
    assert {"norms-autograd-grad", "norms-cells"} <= {v.name for v in variants}


def public_task_net():
    """The public checks' TaskNet: the text they give the worker, which they also run judge-side (the
    module is not imported: its markers belong to the grading engine's pytest)."""
    path = ROOT / "autograder" / "checks" / AID / "test_public.py"
    tree = ast.parse(path.read_text("utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "TASK_NET" for t in n.targets))
    namespace = {}
    exec(ast.literal_eval(node.value), namespace)
    return namespace["TaskNet"]


def notebook_task_net():
    namespace = {"nn": nn, "torch": torch, "print": lambda *a, **k: None}
    exec(by_id("source")["task-net"]["source"], namespace)
    return namespace["TaskNet"]


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_one_task_net_everywhere(kind):
    """The notebook's TaskNet, the graders' (judge twin and the worker's source) and the public check's compute
    the same prediction from the same weights."""
    from autograder.graders import lstm

    public = public_task_net()
    worker = {}
    exec(lstm.TASK_NET, worker)
    torch.manual_seed(0)
    state = lstm.task_state(kind, 5)
    x = torch.rand(3, 7, 2)
    expected = lstm.task_twin(kind, state)(x)
    models = [notebook_task_net()(getattr(nn, kind), 5), public(getattr(nn, kind), 5),
              worker["task_net"](kind, 5, state)]
    for model in models:
        model.load_state_dict(state)
        assert torch.allclose(model(x), expected, atol=1e-6)
        assert tuple(model(x).shape) == (3,)


def test_reference_grad_norms_are_the_unrolled_gradients():
    """The graders' reference (the *Cell unrolled, autograd.grad at each state) equals the master solution's
    stepping of the layer, and the catalogued whole-sequence mistake is zero before the last step."""
    from autograder.graders import lstm

    namespace = {"nn": nn, "torch": torch}
    exec(by_id("source")["hidden_grad_norms"]["source"], namespace)
    for kind in ("RNN", "LSTM", "GRU"):
        torch.manual_seed(1)
        state = lstm.task_state(kind, 4)
        x, y = torch.rand(3, 6, 2), torch.rand(3)
        model = lstm.task_twin(kind, state)
        got = namespace["hidden_grad_norms"](model, x, y)
        assert torch.allclose(got.double(), lstm.grad_norms_reference(kind, state, x, y), rtol=1e-4, atol=1e-7)
        assert all(p.grad is None for p in model.parameters())
        wrong = lstm.grad_norms_reference(kind, state, x, y, mistake="norms_output_only")
        assert bool((wrong[:-1] == 0).all()) and float(wrong[-1]) > 0


def test_reference_adding_batch_and_training_follow_the_contract():
    from autograder.graders import lstm

    g = torch.Generator().manual_seed(0)
    x, y = lstm.adding_batch(50, 9, g)
    assert x.shape == (50, 9, 2) and y.shape == (50,) and x.dtype == y.dtype == torch.float32
    assert (x[:, :4, 1].sum(1) == 1).all() and (x[:, 4:, 1].sum(1) == 1).all()
    assert torch.allclose(y.double(), lstm.adding_target(x))
    # the reference training is torch's own Adam + clip_grad_norm_, step for step
    torch.manual_seed(2)
    state = lstm.task_state("GRU", 4)
    batches = [lstm.adding_batch(6, 5, g) for _ in range(6)]
    losses, weights = lstm.train_reference("GRU", state, batches, 0.02, 0.05)
    model = lstm.task_twin("GRU", state)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    expected = []
    for bx, by in batches:
        optimizer.zero_grad()
        loss = ((model(bx) - by) ** 2).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        optimizer.step()
        expected.append(loss.item())
    assert losses == pytest.approx(expected, rel=1e-5)
    assert all(torch.allclose(weights[k], v, atol=1e-6) for k, v in model.state_dict().items())
