"""The public checks of 03-lstm: what the notebook's visible checks ask, run by `course check`.

These are deliberately the visible checks only; the hidden graders ask much more (other sizes, other
weights, each gate and each layer on its own).
"""

import pytest
import torch
from torch import nn

from autograder.submission import keep
from autograder.toolkit import expect, named, tolerance_of


def expect_tensor(got, want, name, reference):
    """``reference``: a name, or a (Chinese, English) pair of names."""
    zh_ref, en_ref = reference if isinstance(reference, tuple) else (reference, reference)
    expect(isinstance(got, torch.Tensor), f"{name} 應為 torch.Tensor，得到 {type(got).__name__}",
           f"{name} should be a torch.Tensor, got {type(got).__name__}")
    shape, expected = tuple(got.shape), tuple(want.shape)
    expect(shape == expected, f"{name} 的形狀應為 {expected}，得到 {shape}",
           f"{name} should have shape {expected}, got {shape}")
    error, tolerance = float((got.double() - want.double()).abs().max()), tolerance_of(want)   # the graders' tolerance
    expect(error <= tolerance, f"{name} 與 {zh_ref} 不同，最大誤差 {error:.2e}（容許 {tolerance:.1e}）",
           f"{name} differs from {en_ref} by up to {error:.2e} (tolerance {tolerance:.1e})")


def pair_of(result, name):
    expect(type(result) in (tuple, list) and len(result) == 2, f"{name} 應回傳兩個值",
           f"{name} should return two values")
    return result


BOOK_NAMES = {"input": "book_input_name"}          # the book's Input, as PyTorch's docs spell it


@pytest.mark.points(1, blank="book_example")
def test_book_example(nb):
    """書中的例子：形狀與答案的格式 / the book's example: shapes and the format of the answers"""
    for name, expected in (("Input", (5, 3, 10)), ("output", (5, 3, 20)), ("hn", (2, 3, 20)), ("cn", (2, 3, 20))):
        shape = tuple(getattr(named(nb, name, BOOK_NAMES if name == "Input" else None), "shape", ()))
        expect(shape == expected, f"{name} 的形狀應為 {expected}，得到 {shape}",
               f"{name} should have shape {expected}, got {shape}")
    for batch_first in (False, True):
        shapes = nb.lstm_shapes(5, 3, 10, 20, 2, batch_first=batch_first)
        keys = sorted(map(str, shapes)) if type(shapes) is dict else type(shapes).__name__
        expect(keys == ["c_n", "h_n", "input", "output"], f"lstm_shapes 應回傳有 input、output、h_n、c_n 四個鍵的 dict，得到 {keys}",
               f"lstm_shapes should return a dict with the keys input, output, h_n, c_n, got {keys}")
        for key, value in shapes.items():
            if getattr(value, "kind", None) == "Size":     # a torch.Size stays in the worker: it is a tuple of ints
                continue
            expect(type(value) in (tuple, list) and len(value) == 3 and all(type(v) is int for v in value),
                   f"lstm_shapes(...)[{key!r}] 應為 3 個 int 的 tuple，得到 {value!r}",
                   f"lstm_shapes(...)[{key!r}] should be a tuple of 3 ints, got {value!r}")
    step = nb.last_step(nb.output)
    expect(isinstance(step, torch.Tensor), f"last_step 應回傳張量，得到 {type(step).__name__}",
           f"last_step should return a tensor, got {type(step).__name__}")


def lstm_cell_case(n, d, hidden):
    """Inputs, nn.LSTMCell(d, hidden)'s weights, and its (h, c) for them."""
    cell = nn.LSTMCell(d, hidden)
    x, h, c = torch.randn(n, d), torch.randn(n, hidden), torch.randn(n, hidden)
    with torch.no_grad():
        want = cell(x, (h, c))
        weights = [p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    return x, h, c, weights, want


@pytest.mark.points(1, blank="lstm_cell")
def test_lstm_cell(nb):
    """lstm_cell 與 nn.LSTMCell(10, 20) 一致 / lstm_cell equals nn.LSTMCell(10, 20)"""
    x, h, c, weights, want = lstm_cell_case(n=3, d=10, hidden=20)
    got = pair_of(nb.lstm_cell(x, h, c, *weights), "lstm_cell")
    for name, g, w in zip("hc", got, want):
        expect_tensor(g, w, name, "nn.LSTMCell")


@pytest.mark.points(1, blank="lstm_forward")
def test_lstm_forward(nb):
    """一層一步等於 nn.LSTMCell；分層計算、分段計算與一次算完相同 / one layer, one step: nn.LSTMCell; layer by layer and time in two parts: the same as all at once

    As the visible check: no nn.LSTM (its layout is what blank 1 asks), only nn.LSTMCell for one step, and the
    structure of the function's own contract (T=6, N=4, D=7, H=5, L=3)."""
    t, n, d, hidden, size = 6, 4, 7, 5, 3
    cells = [nn.LSTMCell(d if layer == 0 else hidden, hidden) for layer in range(size)]
    layers = [tuple(p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
              for cell in cells]
    x, h0, c0 = torch.randn(t, n, d), torch.randn(size, n, hidden), torch.randn(size, n, hidden)

    def forward(*args, what="lstm_forward"):
        output, states = pair_of(nb.lstm_forward(*args), what)
        h_n, c_n = pair_of(states, f"{what}[1]")
        return output, h_n, c_n

    output, h_n, c_n = forward(x, h0, c0, layers)
    for name, value, shape in (("output", output, (t, n, hidden)), ("h_n", h_n, (size, n, hidden)),
                               ("c_n", c_n, (size, n, hidden))):
        expect(isinstance(value, torch.Tensor), f"{name} 應為 torch.Tensor，得到 {type(value).__name__}",
               f"{name} should be a torch.Tensor, got {type(value).__name__}")
        expect(tuple(value.shape) == shape, f"{name} 的形狀應為 {shape}，得到 {tuple(value.shape)}",
               f"{name} should have shape {shape}, got {tuple(value.shape)}")
    with torch.no_grad():
        want_h, want_c = cells[0](x[0], (h0[0], c0[0]))
    one = forward(x[:1], h0[:1], c0[:1], layers[:1])
    for name, got, want in zip(("output", "h_n", "c_n"), one, (want_h, want_h, want_c)):
        expect_tensor(got, want[None], f"{name} (L=1, T=1)", "nn.LSTMCell")
    low = forward(x, h0[:1], c0[:1], layers[:1])
    high = forward(low[0], h0[1:], c0[1:], layers[1:])
    for name, got, want in zip(("output", "h_n", "c_n"), (output, h_n, c_n),
                               (high[0], torch.cat([low[1], high[1]]), torch.cat([low[2], high[2]]))):
        expect_tensor(got, want, name, ("先單獨算第 0 層、再把它的 output 交給其餘各層的結果",
                                        "layer 0 alone, then its output through the other layers"))
    first = forward(x[:2], h0, c0, layers)
    rest = forward(x[2:], first[1], first[2], layers)
    for name, got, want in zip(("output", "h_n", "c_n"), (output, h_n, c_n),
                               (torch.cat([first[0], rest[0]]), rest[1], rest[2])):
        expect_tensor(got, want, name, ("先算第 0–1 步、再從它的 (h_n, c_n) 接著算第 2–5 步的結果",
                                        "steps 0–1, then steps 2–5 from their (h_n, c_n)"))


def peephole_reference(x, h, c, weights, p_i, p_f, p_o):
    """The peephole step computed with nn.LSTMCell alone, as the visible check does: for one sample a
    peephole term p ⊙ c is a vector of length H, a shift of that gate's bias. i and f see c_prev; the
    output gate sees the new c."""
    n_in, hidden = x.shape[1], h.shape[1]
    zeros = torch.zeros(hidden)
    hs, cs = [], []
    for n in range(x.shape[0]):
        row = (x[n:n + 1], (h[n:n + 1], c[n:n + 1]))
        shifted = nn.LSTMCell(n_in, hidden)
        with torch.no_grad():
            for p, v in zip((shifted.weight_ih, shifted.weight_hh, shifted.bias_ih, shifted.bias_hh), weights):
                p.copy_(v)
            shifted.bias_ih += torch.cat([p_i * c[n], p_f * c[n], zeros, zeros])
            _, c_new = shifted(*row)
            shifted.bias_ih += torch.cat([zeros, zeros, zeros, p_o * c_new[0]])
            h_new, _ = shifted(*row)
        hs.append(h_new)
        cs.append(c_new)
    return torch.cat(hs), torch.cat(cs)


@pytest.mark.points(1, blank="peephole_cell")
def test_peephole_cell(nb):
    """窺視孔為 0 時等於 nn.LSTMCell；只有 p_i、p_f 或 p_o（看新的 c）不為 0 時符合公式 / zero peepholes: nn.LSTMCell; only p_i, p_f or p_o (it sees the new c): the formulas

    Also all three at once. The reference is nn.LSTMCell with shifted biases, one sample at a time."""
    x, h, c, weights, want = lstm_cell_case(n=4, d=6, hidden=5)
    c = 2 * c
    zeros, peep = torch.zeros(5), torch.randn(5)
    cases = [("p_i = p_f = p_o = 0", (zeros, zeros, zeros)), ("only p_i ≠ 0", (peep, zeros, zeros)),
             ("only p_f ≠ 0", (zeros, peep, zeros)), ("only p_o ≠ 0", (zeros, zeros, peep)),
             ("p_i, p_f, p_o ≠ 0", (peep, -peep, peep.flip(0)))]
    for label, peepholes in cases:
        got = pair_of(nb.peephole_cell(x, h, c, *weights, *peepholes), "peephole_cell")
        for name, g, w in zip("hc", got, peephole_reference(x, h, c, weights, *peepholes)):
            expect_tensor(g, w, f"{name} ({label})", "窺視孔 LSTM 的公式 / the peephole formulas")


@pytest.mark.points(1, blank="coupled_cell")
def test_coupled_cell(nb):
    """形狀 (N, H)；h = o ⊙ tanh(c)；f ≈ 1 時 c = c_prev，f ≈ 0 時 c = g / shapes (N, H); h = o ⊙ tanh(c); f ≈ 1: c = c_prev; f ≈ 0: c = g"""
    w_ih, w_hh = torch.randn(15, 6) * 0.5, torch.randn(15, 5) * 0.5
    b_ih, b_hh = torch.randn(15) * 0.5, torch.randn(15) * 0.5
    x, h, c = torch.randn(4, 6), torch.randn(4, 5), torch.randn(4, 5)

    def chunk(k, bias_ih):                      # chunk k of [f, g, o] before its activation, (N, H)
        rows = slice(5 * k, 5 * (k + 1))
        return x @ w_ih[rows].T + bias_ih[rows] + h @ w_hh[rows].T + b_hh[rows]

    got_h, got_c = pair_of(nb.coupled_cell(x, h, c, w_ih, w_hh, b_ih, b_hh), "coupled_cell")
    for name, value in (("h", got_h), ("c", got_c)):
        expect(isinstance(value, torch.Tensor), f"{name} 應為 torch.Tensor，得到 {type(value).__name__}",
               f"{name} should be a torch.Tensor, got {type(value).__name__}")
        shape = tuple(value.shape)
        expect(shape == (4, 5), f"{name} 的形狀應為 (4, 5)，得到 {shape}", f"{name} should have shape (4, 5), got {shape}")
    expect_tensor(got_h, torch.sigmoid(chunk(2, b_ih)) * torch.tanh(got_c), "h", "o ⊙ tanh(c), o = σ(chunk 3)")
    for shift, want, label in ((40.0, lambda bias: c, "c (f ≈ 1)"),
                               (-40.0, lambda bias: torch.tanh(chunk(1, bias)), "c (f ≈ 0)")):
        bias = b_ih.clone()
        bias[:5] += shift
        _, got = pair_of(nb.coupled_cell(x, h, c, w_ih, w_hh, bias, b_hh), "coupled_cell")
        expect_tensor(got, want(bias), label, "c_prev" if shift > 0 else "g = tanh(chunk 2)")


@pytest.mark.points(1, blank="gru_cell")
def test_gru_cell(nb):
    """gru_cell 與 nn.GRUCell(10, 20) 一致 / gru_cell equals nn.GRUCell(10, 20)"""
    cell = nn.GRUCell(10, 20)
    x, h = torch.randn(3, 10), torch.randn(3, 20)
    with torch.no_grad():
        want = cell(x, h)
        weights = [p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    expect_tensor(nb.gru_cell(x, h, *weights), want, "h", "nn.GRUCell")


# ------------------------------------------------------------------ the long-range experiment (blanks 7–9)
# The notebook's TaskNet (a locked cell), made in the worker with the check's weights
TASK_NET = """
import torch
from torch import nn


class TaskNet(nn.Module):
    def __init__(self, kind, hidden_size, input_size=2):
        super().__init__()
        self.rnn = kind(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        return self.head(h_n[0]).squeeze(-1)


def task_net(kind, hidden_size, state):
    model = TaskNet(getattr(nn, kind), hidden_size)
    model.load_state_dict(state)
    return model
"""

GRADS = """
def parameters_with_grad(model):
    return [name for name, p in model.named_parameters() if p.grad is not None]
"""


_judge_side: dict = {}
exec(TASK_NET, _judge_side)           # the judge's TaskNet: the same text the worker gets, run here
TaskNet = _judge_side["TaskNet"]


def worker_net(nb, net):
    """The same TaskNet, with the same weights, in the worker."""
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return nb.define("task_net", TASK_NET)(type(net.rnn).__name__, net.rnn.hidden_size, state)


def seeded(nb, seed):
    g = keep(nb.torch.Generator)
    g.manual_seed(seed)
    return g


@pytest.mark.points(1, blank="adding_problem")
def test_adding_problem(nb):
    """(n, T, 2) 與 (n,) 的 float32；前後半段各一個標記；y 是兩個被標記的數的和；同一個種子同一批、不動用全域亂數 / shapes, one marker in each half, y the sum, same seed same batch, global RNG untouched"""
    state = nb.torch.get_rng_state()
    result = nb.adding_problem(6, 7, seeded(nb, 0))
    expect(type(result) in (tuple, list) and len(result) == 2, "adding_problem 應回傳 (x, y)",
           "adding_problem should return (x, y)")
    x, y = result
    for name, value, shape in (("x", x, (6, 7, 2)), ("y", y, (6,))):
        expect(isinstance(value, torch.Tensor) and tuple(value.shape) == shape and value.dtype == torch.float32,
               f"{name} 應為形狀 {shape} 的 float32 張量，得到 {getattr(value, 'shape', type(value).__name__)}",
               f"{name} should be a float32 tensor of shape {shape}, got {getattr(value, 'shape', type(value).__name__)}")
    marks, numbers = x[:, :, 1], x[:, :, 0]
    expect(bool(((marks == 0) | (marks == 1)).all()) and marks[:, :3].sum(dim=1).tolist() == [1.0] * 6
           and marks[:, 3:].sum(dim=1).tolist() == [1.0] * 6,
           "每個序列的標記應恰好兩個 1：前半段 (0–2) 一個、後半段 (3–6) 一個",
           "each sequence should have exactly two markers: one in 0–2, one in 3–6")
    expect(float(numbers.min()) >= 0 and float(numbers.max()) < 1, "x[:, :, 0] 應在 [0, 1) 之間",
           "x[:, :, 0] should lie in [0, 1)")
    expect_tensor(y, (numbers * marks).sum(dim=1), "y", ("兩個被標記的數的和", "the sum of the two marked numbers"))
    again = nb.adding_problem(6, 7, seeded(nb, 0))
    expect(torch.equal(again[0], x) and torch.equal(again[1], y), "同一個種子應給出同一批資料",
           "the same seed should give the same batch")
    other = nb.adding_problem(6, 7, seeded(nb, 1))
    expect(not torch.equal(other[0], x), "不同種子應給出不同的資料", "another seed should give another batch")
    expect(torch.equal(nb.torch.get_rng_state(), state), "所有亂數都只能從傳入的 generator 取（全域亂數產生器被動用了）",
           "every random number must come from the generator (the global RNG was used)")


def last_step_grad(net, x, y):
    """∂L/∂h_T = (2/N)(ŷ − y) W_head: h_T reaches L through the linear head alone."""
    with torch.no_grad():
        return 2 * (net(x) - y)[:, None] / len(y) * net.head.weight


@pytest.mark.points(1, blank="hidden_grad_norms")
def test_hidden_grad_norms(nb):
    """RNN 與 BPTT 遞迴式一致；LSTM、GRU 最後一步為 ‖∂L/∂h_T‖、每一步大於 0；不改變模型、不留下 .grad / RNN: BPTT's recursion; LSTM, GRU: the last step, every step > 0; the model left as it was"""
    torch.manual_seed(7)
    x, y = torch.rand(4, 6, 2), torch.rand(4) * 2
    net = TaskNet(nn.RNN, 5)
    with torch.no_grad():
        net.rnn.weight_hh_l0.mul_(3.0)
        every_h, _ = net.rnn(x)
        grad_h = last_step_grad(net, x, y)
        wanted = [grad_h.norm()]
        for k in range(4, -1, -1):
            grad_h = (grad_h * (1 - every_h[:, k + 1] ** 2)) @ net.rnn.weight_hh_l0
            wanted.append(grad_h.norm())
    model = worker_net(nb, net)
    got = nb.hidden_grad_norms(model, x, y)
    expect_tensor(got, torch.stack(wanted[::-1]), "‖∂L/∂h_k‖ (RNN)",
                  ("BPTT 的遞迴式 ∂L/∂h_k = [(1 − h_{k+1}²) ⊙ ∂L/∂h_{k+1}] W_hh", "BPTT's recursion"))
    left = nb.define("parameters_with_grad", GRADS)(model)
    expect(not left, f"不可以留下參數的 .grad：{left}", f"leave no .grad behind: {left}")
    for kind in (nn.LSTM, nn.GRU):
        torch.manual_seed(8)
        net = TaskNet(kind, 5)
        model = worker_net(nb, net)
        got = nb.hidden_grad_norms(model, x, y)
        name = kind.__name__
        expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (6,),
               f"{name}：應回傳形狀 (6,) 的張量，得到 {getattr(got, 'shape', type(got).__name__)}",
               f"{name}: should return a tensor of shape (6,), got {getattr(got, 'shape', type(got).__name__)}")
        last = last_step_grad(net, x, y).norm()
        expect_tensor(got[-1:], last[None], f"{name}：‖∂L/∂h_T‖", ("(2/N)(ŷ − y) W_head 的範數", "the norm of (2/N)(ŷ − y) W_head"))
        expect(bool((got > 0).all()), f"{name}：每一步的 ‖∂L/∂h_k‖ 都應大於 0，得到 {got.tolist()}",
               f"{name}: every ‖∂L/∂h_k‖ should be above 0, got {got.tolist()}")
        left = nb.define("parameters_with_grad", GRADS)(model)
        expect(not left, f"{name}：不可以留下參數的 .grad：{left}", f"{name}: leave no .grad behind: {left}")


@pytest.mark.points(1, blank="train_task")
def test_train_task(nb):
    """每批一個 float；lr = 0 時參數不動、損失是初始模型的；max_norm 極小時幾乎不動；訓練後損失下降 / one float per batch; lr = 0: no move, the initial losses; tiny max_norm: barely a move; the loss goes down"""
    g = torch.Generator().manual_seed(3)
    batches = []
    for _ in range(60):
        x = torch.rand(16, 5, 2, generator=g)
        batches.append((x, x[:, :, 0].mean(dim=1)))
    torch.manual_seed(0)
    net = TaskNet(nn.LSTM, 8)
    start = {k: v.detach().clone() for k, v in net.state_dict().items()}

    def train(batches, **kwargs):
        model = worker_net(nb, net)
        with nb.changing(model):
            losses = nb.train_task(model, batches, **kwargs)
        return model, losses

    with torch.no_grad():
        want = [float(((net(x) - y) ** 2).mean()) for x, y in batches[:5]]
    model, losses = train(batches[:5], lr=0.0)
    expect(type(losses) in (list, tuple) and len(losses) == 5 and all(type(v) is float for v in losses),
           f"train_task 應回傳每一批一個 Python float，得到 {losses!r:.200}",
           f"train_task should return one Python float per batch, got {losses!r:.200}")
    expect(all(abs(g - w) <= 1e-5 + 1e-4 * abs(w) for g, w in zip(losses, want)),
           f"lr = 0 時每一批的損失應是初始模型的均方誤差 {want}，得到 {losses}",
           f"with lr = 0 each loss is the initial model's mean squared error {want}, got {losses}")
    after = model.state_dict()
    expect(all(torch.equal(after[k].float(), start[k]) for k in start), "lr = 0 時參數不應改變",
           "with lr = 0 the parameters should not move")

    def largest_move(max_norm):
        model, _ = train(batches[:5], lr=0.01, max_norm=max_norm)
        after = model.state_dict()
        return max(float((after[k].float() - start[k]).abs().max()) for k in start)

    tiny, normal = largest_move(1e-12), largest_move(1.0)
    expect(tiny < normal / 10, f"max_norm = 1e-12 時參數應幾乎不動（梯度裁剪），卻移動了 {tiny:.2e}（max_norm = 1 時 {normal:.2e}）",
           f"with max_norm = 1e-12 the parameters should barely move (clipping), they moved {tiny:.2e} "
           f"({normal:.2e} with max_norm = 1)")
    _, losses = train(batches, lr=0.03)
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    expect(last < first / 2, f"訓練 60 批後損失應降到一半以下，得到 {first:.4f} → {last:.4f}",
           f"after 60 batches the loss should be below half its start, got {first:.4f} → {last:.4f}")
