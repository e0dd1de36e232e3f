"""bptt_grads(x, h0, params, targets) → {"W_h", "U_h", "b_h", "W_y", "b_y", "h0": ∂L/∂ each}, by hand, with autograd
off; L = ½ Σ_t Σ_batch ||y_t − target_t||². Points per key: five right gradients of six keep five sixths of them.

The student's function runs with the references of elman_forward and elman_cell in their place (it may call them):
a wrong forward costs blank 2's points, not these.
"""

import functools

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.submission import StudentError
from autograder.toolkit import Fail, differs, fail, first_match, kind_of, mismatch, tensor

BLANK = "bptt_grads"
# ((T, N, D, H, O), h0 = 0): T = 1, N = 1, O = 1, D ≠ H ≠ O, h0 = 0 and h0 ≠ 0
CASES = [((4, 3, 2, 5, 3), False), ((1, 2, 3, 4, 2), False), ((5, 1, 4, 3, 2), True), ((3, 4, 5, 3, 1), False),
         ((6, 2, 3, 4, 5), False)]


def case(index):
    """(x, h0, params, targets) of a case, from the grader's own generator."""
    (T, N, D, H, O), h0_zero = CASES[index]
    g = ref.generator(600 + index)
    p = ref.random_params(g, D, H, O)
    x, targets = ref.randn(g, T, N, D), ref.randn(g, T, N, O)
    h0 = ref.randn(g, N, H) * (0.0 if h0_zero else 1.0)
    return x, h0, p, targets


@functools.lru_cache(maxsize=None)
def reference(index) -> dict:
    """The gradients by autograd (float64): the judge's own, the same for every submission."""
    return ref.grads_autograd(*case(index))


def what_of(index):
    (T, N, D, H, O), h0_zero = CASES[index]
    return f"bptt_grads(x {T}×{N}×{D}, h0 {N}×{H}{' = 0' if h0_zero else ''}, params (O = {O}), targets)"


def by_hand(nb, x, h0, p, targets):
    """The student's bptt_grads, autograd off for the whole call, elman_forward and elman_cell the references."""
    with nb.without_autograd(), nb.overriding(**ref.references_for(BLANK, nb)):
        try:
            return ref.call(nb, BLANK, x, h0, p, targets)
        except StudentError as exc:
            if exc.type == "AutogradOff" or "does not require grad" in exc.message:
                fail("rf_grads_autograd", type=exc.type, message=(exc.message.splitlines() or [""])[0][:300])
            raise


@pytest.fixture(scope="module")
def answers(nb):
    """``answers(i)``: what the student's bptt_grads returned for case i (asked once; what it raised, raised again)."""
    return ref.answered_once(lambda index: by_hand(nb, *case(index)))


def described(result) -> str:
    if type(result) is dict:
        return f"dict with keys {sorted(map(repr, result))}"[:300]
    return kind_of(result)


def gradient(result, key: str, index: int):
    """The gradient of ``key`` in the returned dict: a float32 tensor of the parameter's shape (h0: (N, H))."""
    x, h0, p, _ = case(index)
    what = what_of(index)
    if type(result) is not dict:
        fail("rf_grads_type", what=what, expected=list(ref.GRAD_KEYS), got=described(result))
    if key not in result:
        fail("rf_grads_missing", what=what, name=key, got=sorted(map(repr, result))[:8])
    value, shape = result[key], tuple((h0 if key == "h0" else p[key]).shape)
    label = f"{what}[{key!r}]"
    if isinstance(value, torch.Tensor) and tuple(value.shape) != shape:
        message = msg("wrong_shape", what=label, expected=shape, got=tuple(value.shape))
        hint = ref.shape_hint(key, tuple(value.shape), shape, x.shape[1])
        raise Fail(message + hint if hint is not None else message)
    return tensor(value, label, shape)


@pytest.mark.points(1, blank=BLANK)
def test_contract(nb, answers):
    """回傳 dict，鍵恰好是 W_h、U_h、b_h、W_y、b_y、h0，各為 float32 張量、形狀同參數（h0 的是 (N, H)）；關閉 autograd 也能算 / a dict of exactly the six keys, float32 tensors of the parameters' shapes, computed with autograd off"""
    for index in (0, 2):
        result = answers(index)
        if type(result) is not dict or sorted(map(repr, result)) != sorted(map(repr, ref.GRAD_KEYS)):
            fail("rf_grads_type", what=what_of(index), expected=list(ref.GRAD_KEYS), got=described(result))
        for key in ref.GRAD_KEYS:
            gradient(result, key, index)


@pytest.mark.points(9, blank=BLANK)
@pytest.mark.parametrize("key", ref.GRAD_KEYS)
def test_gradient(nb, answers, key):
    """這個鍵的梯度與 autograd 一致：五種大小（T = 1、N = 1、O = 1、h0 = 0 與 h0 ≠ 0）/ this key's gradient equals autograd's at five sizes"""
    for index in range(len(CASES)):
        got = gradient(answers(index), key, index)
        expected = reference(index)[key]
        m = mismatch(got, expected, ref.GRAD_RTOL, ref.GRAD_ATOL)
        if m is not None:
            x, h0, p, targets = case(index)
            hint = first_match(got, ref.grads_mistakes(key, x, h0, p, targets), rtol=ref.GRAD_RTOL,
                               atol=ref.GRAD_ATOL)
            raise Fail(differs(f"{what_of(index)}[{key!r}]", m, hint=hint))
