"""elman_forward(x, h0, params) → (hs (T, N, H) = h_1..h_T, ys (T, N, O)), time-major."""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.toolkit import ATOL, RTOL, fail, size_ids

BLANK = "elman_forward"
SIZES = [(5, 3, 4, 6, 2), (1, 2, 3, 4, 5), (7, 4, 2, 3, 1), (3, 5, 6, 6, 3)]   # (T, N, D, H, O); T ≠ N


def case(g, T, N, D, H, O):
    """(x, h0, params) in the order elman_forward takes them."""
    p = ref.random_params(g, D, H, O)
    return ref.randn(g, T, N, D), ref.randn(g, N, H), p


def label(T, N, D, H, O):
    return f"elman_forward(x {T}×{N}×{D}, h0 {N}×{H}, params)"


@pytest.mark.points(2, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("TNDHO"))
def test_shapes(nb, size):
    """回傳 (hs, ys)：形狀 (T, N, H) 與 (T, N, O)、float32 / returns (hs, ys) of shapes (T, N, H) and (T, N, O), float32"""
    x, h0, p = case(ref.generator(21), *size)
    ref.student_elman_forward(nb, x, h0, p, label(*size))


@pytest.mark.points(3, blank=BLANK)
@pytest.mark.parametrize("size", SIZES, ids=size_ids("TNDHO"))
def test_values(nb, size):
    """與參考的 Elman 網路一致（h0 不為 0）/ equals the reference Elman network (h0 ≠ 0)"""
    ref.judge_forward(nb, "elman", *case(ref.generator(22), *size), label(*size))


@pytest.mark.points(2, blank=BLANK)
def test_recurrence_and_h0(nb):
    """真的有循環：改變 x[0] 會改變 hs[2]；改變 h0 會改變 hs[0] / the state flows: x[0] changes hs[2], h0 changes hs[0]"""
    g = ref.generator(23)
    T, N, D, H, O = 4, 3, 4, 5, 2
    x, h0, p = case(g, T, N, D, H, O)
    ref.expect_state_flows(nb, "elman", g, x, h0, h0 + 1.0 + ref.randn(g, N, H), p, "elman_forward", "h0")


@pytest.mark.points(1, blank=BLANK)
def test_same_step_every_time(nb):
    """每一步同一個規則、時間在第 0 維：分兩段算結果相同，樣本互不影響 / one rule at every step, time on dim 0"""
    g = ref.generator(24)
    T, N, D, H, O = 6, 6, 3, 4, 2                     # T == N: mixing the axes gives the right shapes
    x, h0, p = case(g, T, N, D, H, O)
    what = "elman_forward"
    hs, ys = ref.student_elman_forward(nb, x, h0, p, what)
    x2 = x.clone()
    x2[:, 1] += 1.0 + ref.randn(g, T, D)              # sample 1 changed at every time step
    hs2, ys2 = ref.student_elman_forward(nb, x2, h0, p, what)
    for other in range(N):
        if other != 1 and float((hs2[:, other] - hs[:, other]).abs().max()) > 1e-6:
            if not ref.agrees_with_own_cell(nb, "elman", [(x, h0, p, hs, ys), (x2, h0, p, hs2, ys2)]):
                fail("rf_batch_mixed", what=what, n=1, other=other)
    for k in (2, 5):
        first, _ = ref.student_elman_forward(nb, x[:k], h0, p, what)
        second, _ = ref.student_elman_forward(nb, x[k:], first[-1], p, what)
        error = float((torch.cat([first, second]) - hs).abs().max())
        if error > ATOL + RTOL * float(hs.abs().max()):
            fail("rf_split", what=what, k=k, k1=k - 1, error=error)
    ref.judge_forward(nb, "elman", x, h0, p, what)
