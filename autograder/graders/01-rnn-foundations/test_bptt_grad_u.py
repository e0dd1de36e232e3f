"""bptt_grad_U(x, h0, params, targets) → ∂L/∂U_h (H, H), by hand; L = ½ Σ_t Σ_batch ||y_t − target_t||²."""

import pytest

from autograder.graders import rnn_foundations as ref
from autograder.submission import StudentError
from autograder.toolkit import Fail, close, differs, fail, first_match, mismatch, tensor

BLANK = "bptt_grad_U"


def case(g, T, N, D, H, O, h0_zero=False):
    p = ref.random_params(g, D, H, O)
    x, targets = ref.randn(g, T, N, D), ref.randn(g, T, N, O)
    h0 = ref.randn(g, N, H) * (0.0 if h0_zero else 1.0)
    return x, h0, p, targets


def grad_of(nb, x, h0, p, targets, what):
    H = p["U_h"].shape[0]
    return tensor(ref.call(nb, BLANK, x, h0, p, targets), what, (H, H))


def expect_grad(nb, got, x, h0, p, targets, what, forward_note):
    """Right if it equals autograd, or the recursion run on the student's own elman_forward (judged there)."""
    expected = ref.grad_U_autograd(x, h0, p, targets)
    m = mismatch(got, expected, ref.GRAD_RTOL, ref.GRAD_ATOL)
    if m is None:
        return
    own = ref.grad_U_from_own_forward(nb, x, h0, p, targets)
    if own is not None and close(got, own, ref.GRAD_RTOL, ref.GRAD_ATOL):
        return
    hint = first_match(got, ref.grad_U_mistakes(x, h0, p, targets), rtol=ref.GRAD_RTOL, atol=ref.GRAD_ATOL)
    raise Fail(differs(what, m, hint=hint, notes=forward_note()))


def what_of(T, N, D, H, O, h0_zero=False):
    return f"bptt_grad_U(x {T}×{N}×{D}, h0 {N}×{H}{' = 0' if h0_zero else ''}, params (O = {O}), targets)"


@pytest.mark.points(1, blank=BLANK)
def test_shape(nb):
    """回傳形狀 (H, H) 的 float32 張量 / returns a float32 tensor of shape (H, H)"""
    g = ref.generator(51)
    for size in [(4, 3, 2, 5, 3), (2, 1, 3, 2, 4)]:
        x, h0, p, targets = case(g, *size)
        grad_of(nb, x, h0, p, targets, what_of(*size))


@pytest.mark.points(1, blank=BLANK)
def test_single_step(nb, forward_note):
    """只有一個時間步 (T = 1, h0 ≠ 0)：∂L/∂U_h = δ_1 h_0ᵀ / a single time step (T = 1, h0 ≠ 0)"""
    g = ref.generator(52)
    for size in [(1, 3, 4, 5, 2), (1, 1, 2, 3, 3)]:
        x, h0, p, targets = case(g, *size)
        what = what_of(*size)
        expect_grad(nb, grad_of(nb, x, h0, p, targets, what), x, h0, p, targets, what, forward_note)


@pytest.mark.points(4, blank=BLANK)
def test_matches_autograd(nb, forward_note):
    """與 autograd 一致：多種大小與序列長度 T（h0 = 0 與 h0 ≠ 0）/ equals autograd for several sizes and lengths"""
    g = ref.generator(53)
    for size, h0_zero in [((2, 3, 4, 6, 2), True), ((5, 2, 3, 4, 3), False), ((8, 4, 2, 5, 1), False),
                          ((3, 1, 6, 3, 2), True), ((6, 3, 3, 3, 3), False)]:
        x, h0, p, targets = case(g, *size, h0_zero=h0_zero)
        what = what_of(*size, h0_zero)
        expect_grad(nb, grad_of(nb, x, h0, p, targets, what), x, h0, p, targets, what, forward_note)


@pytest.mark.points(1, blank=BLANK)
def test_batch_and_h0(nb, forward_note):
    """整批加總、從 h0 ≠ 0 開始 / summed over a batch of 6, starting from a large h0 ≠ 0"""
    g = ref.generator(54)
    T, N, D, H, O = 3, 6, 3, 4, 2
    x, h0, p, targets = case(g, T, N, D, H, O)
    h0 = 2.0 * h0
    what = what_of(T, N, D, H, O)
    expect_grad(nb, grad_of(nb, x, h0, p, targets, what), x, h0, p, targets, what, forward_note)


@pytest.mark.points(1, blank=BLANK)
def test_without_autograd(nb, forward_note):
    """親手計算：關閉 autograd 時也算得出正確的梯度 / by hand: right with autograd switched off"""
    g = ref.generator(55)
    size = (4, 3, 3, 5, 2)
    x, h0, p, targets = case(g, *size)
    what = what_of(*size) + " [autograd off]"
    # off for the whole call, enable_grad() included: by hand means without loss.backward()
    with nb.without_autograd():
        try:
            got = grad_of(nb, x, h0, p, targets, what)
        except StudentError as exc:
            if exc.not_implemented or exc.type == "ArgumentChanged":
                raise
            fail("rf_bptt_autograd", type=exc.type, message=(exc.message.splitlines() or [""])[0][:300])
    expect_grad(nb, got, x, h0, p, targets, what, forward_note)
