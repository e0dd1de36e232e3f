"""The public checks of 03-lstm: what the notebook's visible checks ask, run by `course check`.

These are deliberately the visible checks only; the hidden graders ask much more (other sizes, other
weights, each gate and each layer on its own).
"""

import pytest
import torch
from torch import nn

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
