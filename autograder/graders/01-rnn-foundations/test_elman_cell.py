"""elman_cell(x_t, h_prev, params) → h_t = tanh(x_t W_hᵀ + h_prev U_hᵀ + b_h), shape (N, H)."""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.toolkit import expect_values, tensor

BLANK = "elman_cell"
SIZES = [(3, 4, 6), (1, 5, 2), (6, 3, 3), (4, 7, 5), (2, 2, 8)]     # (N, D, H); D == H once


def cell(nb, x_t, h_prev, p, what):
    N, H = x_t.shape[0], p["W_h"].shape[0]
    return tensor(ref.call(nb, BLANK, x_t, h_prev, p), what, (N, H))


@pytest.mark.points(3, blank=BLANK)
def test_values(nb):
    """隨機參數、多種大小 (N, D, H)：形狀 (N, H)、float32、數值 / random parameters, several sizes: shape, dtype, values"""
    g = ref.generator(11)
    for N, D, H in SIZES:
        p = ref.random_params(g, D, H, 3)
        x_t, h_prev = ref.randn(g, N, D), ref.randn(g, N, H)
        what = f"elman_cell(x_t {N}×{D}, h_prev {N}×{H}, params)"
        expect_values(cell(nb, x_t, h_prev, p, what), ref.elman_cell(x_t, h_prev, p), what,
                      hints=ref.elman_cell_mistakes(x_t, h_prev, p))


@pytest.mark.points(2, blank=BLANK)
def test_every_term(nb):
    """每一項都要有：W_h x_t、U_h h_prev、b_h，再取 tanh（飽和時也對）/ every term counts, then tanh (saturated too)"""
    g = ref.generator(12)
    N, D, H = 4, 3, 5
    p = ref.random_params(g, D, H, 2)
    p["b_h"] = torch.linspace(-3.0, 3.0, H)           # large biases: tanh saturates where sigmoid does not
    x_t, h_prev = ref.randn(g, N, D), ref.randn(g, N, H)
    zeros_x, zeros_h = torch.zeros(N, D), torch.zeros(N, H)
    cases = [(zeros_x, zeros_h, "elman_cell(0, 0, params) [= tanh(b_h)]"),
             (x_t, zeros_h, "elman_cell(x_t, 0, params) [= tanh(W_h x_t + b_h)]"),
             (zeros_x, h_prev, "elman_cell(0, h_prev, params) [= tanh(U_h h_prev + b_h)]"),
             (x_t, h_prev, "elman_cell(x_t, h_prev, params)")]
    # saturated (legal): pre-activations in the hundreds, where e^a overflows but tanh is ±1
    large = {key: value * 100 for key, value in p.items()}
    cases.append((x_t, h_prev, "elman_cell(x_t, h_prev, params × 100) [saturated: tanh = ±1]"))
    for x, h, what in cases:
        params = large if "saturated" in what else p
        expect_values(cell(nb, x, h, params, what), ref.elman_cell(x, h, params), what,
                      hints=ref.elman_cell_mistakes(x, h, params))
