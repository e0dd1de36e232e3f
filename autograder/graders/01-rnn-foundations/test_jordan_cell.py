"""jordan_cell(x_t, y_prev, params) → (h_t, y_t): h_t = tanh(x_t W_hᵀ + y_prev U_hᵀ + b_h), y_t = sigmoid(h_t W_yᵀ + b_y)."""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.toolkit import expect_values

BLANK = "jordan_cell"
SIZES = [(3, 4, 6, 2), (2, 3, 5, 1), (5, 2, 3, 3), (1, 6, 4, 7)]     # (N, D, H, O)


def cell(nb, x_t, y_prev, p, what):
    N, H, O = x_t.shape[0], p["W_h"].shape[0], p["W_y"].shape[0]
    return ref.pair_of(ref.call(nb, BLANK, x_t, y_prev, p), what, (N, H), (N, O), names=("h_t", "y_t"))


def expect_cell(nb, x_t, y_prev, p, what):
    h, y = cell(nb, x_t, y_prev, p, what)
    expected_h, expected_y = ref.jordan_cell(x_t, y_prev, p)
    mistakes = ref.jordan_cell_mistakes(x_t, y_prev, p)
    expect_values(h, expected_h, f"{what}[0] (h_t)", hints=mistakes, pick=lambda r: r[0])
    expect_values(y, expected_y, f"{what}[1] (y_t)", hints=mistakes, pick=lambda r: r[1])


@pytest.mark.points(3, blank=BLANK)
def test_values(nb):
    """隨機參數、多種大小 (N, D, H, O)：(h_t, y_t) 的形狀與數值 / random parameters, several sizes: shapes and values"""
    g = ref.generator(31)
    for N, D, H, O in SIZES:
        p = ref.random_params(g, D, H, O, jordan=True)
        x_t, y_prev = ref.randn(g, N, D), torch.rand(N, O, generator=g)
        expect_cell(nb, x_t, y_prev, p, f"jordan_cell(x_t {N}×{D}, y_prev {N}×{O}, params)")


@pytest.mark.points(2, blank=BLANK)
def test_sigmoid_output(nb):
    """輸出是 sigmoid：W_y = 0、b_y = 0 時 y_t = 0.5；偏差大時接近 0 或 1，飽和時也對 / the output is a sigmoid, saturated too"""
    g = ref.generator(32)
    N, D, H, O = 3, 4, 5, 4
    p = ref.random_params(g, D, H, O, jordan=True)
    x_t, y_prev = ref.randn(g, N, D), torch.rand(N, O, generator=g)
    flat = dict(p, W_y=torch.zeros(O, H), b_y=torch.zeros(O))
    expect_cell(nb, x_t, y_prev, flat, "jordan_cell(x_t, y_prev, params with W_y = 0, b_y = 0)")
    steep = dict(p, b_y=torch.tensor([-4.0, -1.0, 1.0, 4.0]))
    expect_cell(nb, x_t, y_prev, steep, "jordan_cell(x_t, y_prev, params with b_y = [-4, -1, 1, 4])")
    # saturated (legal): the pre-activations are in the hundreds, where e^z overflows but σ is 0 or 1
    saturated = dict(p, W_h=p["W_h"] * 100, W_y=p["W_y"] * 100, b_y=torch.tensor([-150.0, -100.0, 100.0, 150.0]))
    expect_cell(nb, x_t, y_prev, saturated, "jordan_cell(x_t, y_prev, params × 100: saturated)")
