"""lstm_forward(x, h0, c0, layers) → (output (T, N, H), (h_n, c_n) (L, N, H)): nn.LSTM(D, H, L)."""

import pytest
import torch
from torch import nn

from autograder.graders.lstm import (
    cell_weights, hints, lstm_reference, reference_name, stack_formula, stack_weights, uniform,
)
from autograder.messages import msg
from autograder.toolkit import Fail, calling, differs, first_match, mismatch, tensor, unpack

BLANK = "lstm_forward"
STACK_MISTAKES = ("stack_feeds_x", "stack_first_weights", "stack_first_state", "stack_first_output",
                  "stack_batch_time")


def run_forward(nb, x, h0, c0, layers, what):
    """The student's (output, (h_n, c_n)) as judge-side tensors, structure and shapes checked first."""
    # (lstm_cell is the reference here, autograder.references: a wrong cell is charged to lstm_cell alone)
    with calling(BLANK, hints={"cannot be multiplied": "lstm_hint_layers"}):
        result = nb.lstm_forward(x, h0, c0, layers)
    output, states = unpack(result, what, ("output", "(h_n, c_n)"))
    h_n, c_n = unpack(states, f"{what}[1]", ("h_n", "c_n"))
    t, n = x.shape[:2]
    size, hidden = h0.shape[0], h0.shape[2]
    return [tensor(output, f"{what}: output", (t, n, hidden)),
            tensor(h_n, f"{what}: h_n", (size, n, hidden)),
            tensor(c_n, f"{what}: c_n", (size, n, hidden))]


def judge(nb, x, h0, c0, layers, what):
    """Against nn.LSTM: layer by layer (h_n[l], c_n[l]) from the bottom, then output; hints on failure."""
    got = run_forward(nb, x, h0, c0, layers, what)
    output, (h_n, c_n) = lstm_reference(x, h0, c0, layers)

    def why():
        """The hint: the known stacking mistake the answer is."""
        formula = lambda mistake: _flat(stack_formula(  # noqa: E731
            x.double(), h0.double(), c0.double(), [tuple(w.double() for w in ws) for ws in layers], mistake=mistake))
        return first_match(got, hints(formula, STACK_MISTAKES))

    for layer in range(len(layers)):
        for name, g, e in (("h_n", got[1][layer], h_n[layer]), ("c_n", got[2][layer], c_n[layer])):
            m = mismatch(g, e)
            if m is not None:
                what_layer = msg("lstm_forward_layer", layer=layer, what=f"{what}: {name}[{layer}]")
                raise Fail(differs(what_layer, m, reference_name("nn.LSTM"), why()))
    m = mismatch(got[0], output)
    if m is not None:
        raise Fail(differs(f"{what}: output", m, reference_name("nn.LSTM"), why()))


def _flat(result):
    output, (h_n, c_n) = result
    return [output, h_n, c_n]


def book_case():
    """The book's example: nn.LSTM(10, 20, 2), input 5×3×10, h0 and c0 2×3×20, weights copied into layers."""
    module = nn.LSTM(10, 20, 2)
    x, h0, c0 = torch.randn(5, 3, 10), torch.randn(2, 3, 20), torch.randn(2, 3, 20)
    return x, h0, c0, stack_weights(module)


def random_case(t, n, d, h, layers, scale=0.6):
    weights = [cell_weights(d if layer == 0 else h, h, 4, scale) for layer in range(layers)]
    return torch.randn(t, n, d), uniform(layers, n, h, scale=0.9), torch.randn(layers, n, h), weights


def label(t, n, d, h, layers):
    return f"lstm_forward (T={t}, N={n}, D={d}, H={h}, L={layers})"


@pytest.mark.points(2, blank=BLANK)
def test_book_shapes(nb):
    """書中的例子：output (5, 3, 20)、h_n 與 c_n (2, 3, 20) / the book's example: output (5, 3, 20), h_n, c_n (2, 3, 20)"""
    run_forward(nb, *book_case(), "lstm_forward(input, h0, c0, layers of nn.LSTM(10, 20, 2))")


@pytest.mark.points(4, blank=BLANK)
def test_book_matches_lstm(nb):
    """書中的例子與 nn.LSTM(10, 20, 2) 一致：output、h_n、c_n / the book's example equals nn.LSTM(10, 20, 2)"""
    judge(nb, *book_case(), "lstm_forward(input, h0, c0, layers of nn.LSTM(10, 20, 2))")


@pytest.mark.points(3, blank=BLANK)
def test_other_sizes(nb):
    """其他大小：L = 1、L = 3、T = 1、N = 1 / other sizes: one layer, three layers, one time step, one sequence"""
    for t, n, d, h, layers in ((4, 2, 6, 5, 1), (3, 2, 4, 6, 3), (1, 3, 5, 7, 2), (6, 1, 3, 5, 3)):
        judge(nb, *random_case(t, n, d, h, layers), label(t, n, d, h, layers))


@pytest.mark.points(3, blank=BLANK)
def test_layer_stacking(nb):
    """疊層：第 l 層以第 l − 1 層每個時間步的 h 為輸入，用自己的權重 / layer l reads layer l − 1's h, with its own weights"""
    t, n, d, h, layers = 4, 2, 5, 5, 3                   # D = H, so that reading x instead would still run
    x, h0, c0, weights = random_case(t, n, d, h, layers, scale=0.8)
    judge(nb, x, h0, c0, weights, label(t, n, d, h, layers))
    # the top layer must feel a change of the bottom layer's weights, as nn.LSTM's does
    changed = [tuple(w * 1.5 for w in weights[0])] + weights[1:]
    judge(nb, x, h0, c0, changed, f"{label(t, n, d, h, layers)}, layers[0] × 1.5")


@pytest.mark.points(2, blank=BLANK)
def test_initial_states(nb):
    """每一層從自己的 h0[l]、c0[l] 出發 / each layer starts from its own h0[l], c0[l]"""
    for t, n, d, h, layers in ((1, 2, 4, 5, 3), (3, 4, 3, 3, 2)):
        x, h0, c0, weights = random_case(t, n, d, h, layers)
        h0[1:] = -h0[1:] * 1.1
        c0[1:] = c0[1:] * 3
        judge(nb, x, h0, c0, weights, f"{label(t, n, d, h, layers)}, h0[l] and c0[l] different for every l")
