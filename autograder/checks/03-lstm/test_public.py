"""The public checks of 03-lstm: what the notebook's visible checks ask, run by `course check`.

These are deliberately the visible checks only; the hidden graders ask much more (other sizes, other
weights, each gate and each layer on its own).
"""

import pytest
import torch
from torch import nn

from autograder.toolkit import expect

TOLERANCE = 1e-5


def expect_tensor(got, want, name, reference):
    expect(isinstance(got, torch.Tensor), f"{name} 應為 torch.Tensor，得到 {type(got).__name__}",
           f"{name} should be a torch.Tensor, got {type(got).__name__}")
    shape, expected = tuple(got.shape), tuple(want.shape)
    expect(shape == expected, f"{name} 的形狀應為 {expected}，得到 {shape}",
           f"{name} should have shape {expected}, got {shape}")
    error = float((got.double() - want.double()).abs().max())
    expect(error < TOLERANCE, f"{name} 與 {reference} 不同，最大誤差 {error:.2e}",
           f"{name} differs from {reference} by up to {error:.2e}")


def pair_of(result, name):
    expect(type(result) in (tuple, list) and len(result) == 2, f"{name} 應回傳兩個值",
           f"{name} should return two values")
    return result


@pytest.mark.points(1, blank="book_example")
def test_book_example(nb):
    """書中的例子：形狀與答案的格式 / the book's example: shapes and the format of the answers"""
    for name, expected in (("input", (5, 3, 10)), ("output", (5, 3, 20)), ("hn", (2, 3, 20)), ("cn", (2, 3, 20))):
        shape = tuple(getattr(getattr(nb, name), "shape", ()))
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
    """lstm_forward 與書中的 nn.LSTM(10, 20, 2) 一致 / lstm_forward equals the book's nn.LSTM(10, 20, 2)"""
    lstm = nn.LSTM(10, 20, 2)
    x, h0, c0 = torch.randn(5, 3, 10), torch.randn(2, 3, 20), torch.randn(2, 3, 20)
    layers = [tuple(getattr(lstm, f"{name}_l{l}").detach().clone()
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")) for l in range(2)]
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x, (h0, c0))
    got_output, states = pair_of(nb.lstm_forward(x, h0, c0, layers), "lstm_forward")
    got_h_n, got_c_n = pair_of(states, "lstm_forward(...)[1]")
    for name, g, w in (("output", got_output, output), ("h_n", got_h_n, h_n), ("c_n", got_c_n, c_n)):
        expect_tensor(g, w, name, "nn.LSTM")


@pytest.mark.points(1, blank="peephole_cell")
def test_peephole_cell(nb):
    """窺視孔為 0 時等於 nn.LSTMCell；只改變 p_o 時 c 不變、h 改變 / zero peepholes: nn.LSTMCell; p_o changes h only"""
    x, h, c, weights, want = lstm_cell_case(n=4, d=6, hidden=5)
    zeros = torch.zeros(5)
    got = pair_of(nb.peephole_cell(x, h, c, *weights, zeros, zeros, zeros), "peephole_cell")
    for name, g, w in zip("hc", got, want):
        expect_tensor(g, w, name, "nn.LSTMCell")
    peek_h, peek_c = pair_of(nb.peephole_cell(x, h, c, *weights, zeros, zeros, torch.ones(5)), "peephole_cell")
    change_h, change_c = float((peek_h - got[0]).abs().max()), float((peek_c - got[1]).abs().max())
    expect(change_c < 1e-6 and change_h > 1e-3, f"只改變 p_o 時 c 應不變、h 應改變，得到 c 變化 {change_c:.2e}、h 變化 {change_h:.2e}",
           f"changing only p_o should leave c alone and change h, got changes {change_c:.2e} (c), {change_h:.2e} (h)")


@pytest.mark.points(1, blank="coupled_cell")
def test_coupled_cell(nb):
    """形狀 (N, H)；遺忘閘全開 (f ≈ 1) 時 c 等於 c_prev / shapes (N, H); with f ≈ 1, c equals c_prev"""
    w_ih, w_hh = torch.randn(15, 6) * 0.5, torch.randn(15, 5) * 0.5
    b_ih, b_hh = torch.randn(15) * 0.5, torch.randn(15) * 0.5
    x, h, c = torch.randn(4, 6), torch.randn(4, 5), torch.randn(4, 5)
    for name, value in zip("hc", pair_of(nb.coupled_cell(x, h, c, w_ih, w_hh, b_ih, b_hh), "coupled_cell")):
        shape = tuple(getattr(value, "shape", ()))
        expect(shape == (4, 5), f"{name} 的形狀應為 (4, 5)，得到 {shape}", f"{name} should have shape (4, 5), got {shape}")
    b_ih[:5] += 40.0
    _, kept = pair_of(nb.coupled_cell(x, h, c, w_ih, w_hh, b_ih, b_hh), "coupled_cell")
    expect_tensor(kept, c, "c (f ≈ 1)", "c_prev")


@pytest.mark.points(1, blank="gru_cell")
def test_gru_cell(nb):
    """gru_cell 與 nn.GRUCell(10, 20) 一致 / gru_cell equals nn.GRUCell(10, 20)"""
    cell = nn.GRUCell(10, 20)
    x, h = torch.randn(3, 10), torch.randn(3, 20)
    with torch.no_grad():
        want = cell(x, h)
        weights = [p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    expect_tensor(nb.gru_cell(x, h, *weights), want, "h", "nn.GRUCell")
