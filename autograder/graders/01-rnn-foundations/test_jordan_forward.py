"""jordan_forward(x, y0, params) → (hs (T, N, H), ys (T, N, O)); the recurrence runs through y_{t-1}."""

import pytest
import torch

from autograder.graders import rnn_foundations as ref

BLANK = "jordan_forward"
SIZES = [(5, 3, 4, 6, 2), (1, 2, 3, 4, 5), (6, 4, 2, 3, 1), (3, 2, 5, 4, 4)]   # (T, N, D, H, O)


def case(g, T, N, D, H, O):
    """(x, y0, params) in the order jordan_forward takes them; y0 in (0, 1) as a sigmoid's output is."""
    p = ref.random_params(g, D, H, O, jordan=True)
    return ref.randn(g, T, N, D), torch.rand(N, O, generator=g), p


@pytest.mark.points(3, blank=BLANK)
def test_values(nb):
    """形狀 (T, N, H)、(T, N, O) 與數值和參考一致（多種大小）/ shapes and values equal the reference, several sizes"""
    g = ref.generator(41)
    for T, N, D, H, O in SIZES:
        what = f"jordan_forward(x {T}×{N}×{D}, y0 {N}×{O}, params)"
        ref.judge_forward(nb, "jordan", *case(g, T, N, D, H, O), what)


@pytest.mark.points(2, blank=BLANK)
def test_recurrence_through_output(nb):
    """循環經過上一步的輸出 y_{t-1}，並從 y0 開始 / the recurrence runs through the previous output, from y0"""
    g = ref.generator(42)
    T, N, D, H, O = 5, 3, 4, 4, 4          # H == O: feeding h_{t-1} back instead of y_{t-1} runs, and differs
    x, y0, p = case(g, T, N, D, H, O)
    what = "jordan_forward"
    ref.expect_state_flows(nb, "jordan", g, x, y0, torch.rand(N, O, generator=g), p, what, "y0")
    ref.judge_forward(nb, "jordan", x, y0, p, what)
