"""find_wrong_grads(grads_fn, x, h0, params, targets, tol=1e-6) → the sorted keys whose gradient disagrees with the
numerical gradient of L (relative error ||a − n|| / max(||a|| + ||n||, 1e-12) > tol, or a shape that differs).

Each grads_fn is the graders' own, run in the judge behind a stand-in (:func:`rnn_foundations.grads_function`):
gradients computed here, right or with known bugs, so the keys that must come back are known. The student's function runs with
autograd off and with the references of numerical_grad, elman_forward and elman_cell in their place: a wrong
blank 2 or 8 costs its own points, not these.
"""

import pytest
import torch

from autograder.graders import rnn_foundations as ref
from autograder.messages import msg
from autograder.submission import StudentError
from autograder.toolkit import Fail, fail, kind_of

BLANK = "find_wrong_grads"
S1, S2, S3 = (3, 2, 3, 4, 2), (1, 3, 2, 3, 2), (4, 1, 2, 3, 1)      # (T, N, D, H, O)
DEFAULT_TOL = 1e-6


def problem(seed, size, h0_zero=False, target_scale=1.0, x_zero=False):
    """(x, h0, params, targets) from the grader's own generator."""
    T, N, D, H, O = size
    g = ref.generator(seed)
    p = ref.random_params(g, D, H, O)
    x, targets = ref.randn(g, T, N, D) * (0.0 if x_zero else 1.0), target_scale * ref.randn(g, T, N, O)
    h0 = ref.randn(g, N, H) * (0.0 if h0_zero else 1.0)
    return x, h0, p, targets


def errors_of(grads: dict, exact: dict) -> dict:
    """Each key's relative error against the exact gradient (inf for a shape that differs)."""
    return {k: ref.relative_error(v, exact[k]) if tuple(v.shape) == tuple(exact[k].shape) else float("inf")
            for k, v in grads.items()}


def listed(keys, errors) -> str:
    """"b_y (2.5e-06), b_h (shape)": each key's relative error, or that its shape differs."""
    return ", ".join(f"{k} ({'shape' if errors[k] == float('inf') else format(errors[k], '.1e')})" for k in sorted(keys))


def expect_found(nb, inputs, bugs: dict, label: str, wrong: list, tol=None, computing=False):
    """find_wrong_grads on a grads_fn that returns the exact gradients with ``bugs`` (key → a gradient) in their
    place must return ``wrong`` (checked here against the relative errors themselves). ``computing``: the grads_fn
    is :func:`rnn_foundations.computing_grads_function` instead, right in float64 and computing in the precision
    it is given (no bugs)."""
    x, h0, p, targets = inputs
    exact = ref.grads_autograd(x, h0, p, targets)
    grads = {k: bugs.get(k, exact[k]) for k in ref.GRAD_KEYS}
    errors = errors_of(grads, exact)
    expected = sorted(k for k, e in errors.items() if e > (DEFAULT_TOL if tol is None else tol))
    if expected != wrong:                                # the grader's own case is not what it says: its error
        raise RuntimeError(f"grader case {label!r}: {expected} wrong, not {wrong} ({errors})")
    judged = ref.computing_grads_function(inputs) if computing else ref.grads_function(grads, inputs)
    grads_fn = nb.stub(judged, "grads_fn")
    T, N, D = x.shape
    what = (f"find_wrong_grads(grads_fn: {label}, x {T}×{N}×{D}, h0 {N}×{h0.shape[1]}"
            f"{' = 0' if not bool(h0.any()) else ''}, params, targets{'' if tol is None else f', tol={tol:g}'})")
    args = (grads_fn, x, h0, p, targets) + (() if tol is None else (tol,))
    with nb.without_autograd(), nb.overriding(**ref.references_for(BLANK, nb)):
        try:
            got = ref.call(nb, BLANK, *args)
        except StudentError as exc:
            if exc.type == "AutogradOff" or "does not require grad" in exc.message:
                fail("rf_fw_autograd", type=exc.type, message=(exc.message.splitlines() or [""])[0][:300])
            if exc.type == "ValueError" and ref.INPUTS_CHANGED in exc.message:
                fail("rf_fw_inputs")
            raise
    if type(got) is not list or any(type(k) is not str for k in got):
        fail("rf_fw_type", what=what, got=f"{kind_of(got)} {got!r}"[:200])
    if got == expected:
        return
    if computing:
        fail("rf_fw_float32", what=what, got=got[:10])
    message = msg("rf_fw_wrong", what=what, expected=expected, got=got[:10])
    if sorted(got) == expected:
        message += msg("rf_hint_fw_sorted")
    right = set(got) - set(expected) - {k for k in got if k not in errors}
    if right:
        message += msg("rf_hint_fw_flagged_right", keys=sorted(right))
    missed = set(expected) - set(got)
    reshaped = sorted(k for k in missed if errors[k] == float("inf"))
    if reshaped:
        message += msg("rf_hint_fw_shape", keys=reshaped, shapes=", ".join(
            f"{k} {tuple(grads[k].shape)} ≠ {tuple(exact[k].shape)}" for k in reshaped))
    if missed:
        message += msg("rf_hint_fw_missed", keys=sorted(missed), errors=listed(missed, errors),
                       tol=DEFAULT_TOL if tol is None else tol)
    raise Fail(message)


def bug(inputs, **mistake):
    return ref.grads_by_hand(*inputs, **mistake)


@pytest.mark.points(1, blank=BLANK)
def test_all_right(nb):
    """所有梯度都對時回傳 []（h0 ≠ 0；T = 1）/ all gradients right: returns [] (h0 ≠ 0; T = 1)"""
    expect_found(nb, problem(91, S1), {}, "all right", [])
    expect_found(nb, problem(92, S2), {}, "all right", [])


@pytest.mark.points(1, blank=BLANK)
def test_one_wrong(nb):
    """找出唯一錯的那個鍵：形狀不對的 b_h、只用最後一步的 W_y、少乘 U_h 的 h0 / finds the one wrong key: b_h of the wrong shape, W_y of the last step, h0 without U_h"""
    inputs = problem(93, S1)
    expect_found(nb, inputs, {"b_h": bug(inputs, bias_batch=False)["b_h"]}, "b_h not summed over the batch",
                 ["b_h"])
    inputs = problem(94, S3)
    expect_found(nb, inputs, {"W_y": bug(inputs, steps="last")["W_y"]}, "W_y from the last step only", ["W_y"])
    inputs = problem(95, S2)
    expect_found(nb, inputs, {"h0": bug(inputs, h0_grad="delta")["h0"]}, "h0 = delta_1", ["h0"])


@pytest.mark.points(1, blank=BLANK)
def test_two_wrong_sorted(nb):
    """兩個鍵錯時回傳排序好的兩個鍵 / two wrong keys come back sorted"""
    inputs = problem(96, S1)
    expect_found(nb, inputs, {"W_h": 1.001 * ref.grads_autograd(*inputs)["W_h"],
                              "U_h": ref.grads_autograd(*inputs)["U_h"].T}, "W_h off by 0.1%, U_h transposed",
                 ["U_h", "W_h"])
    inputs = problem(97, S3)
    expect_found(nb, inputs, {"b_h": bug(inputs, tanh_grad=None)["b_h"], "W_y": -ref.grads_autograd(*inputs)["W_y"]},
                 "b_h without tanh', W_y of the wrong sign", ["W_y", "b_h"])


@pytest.mark.points(1, blank=BLANK)
def test_relative_error_and_tol(nb):
    """題目定義的相對誤差「大於」tol：5e-6 的小錯也找得到；tol = 1e-2 時放過 1.5% 的差；梯度很大也不誤判；完全相等不算錯 / the relative error as defined, more than tol: a 5e-6 slip is found, tol = 1e-2 lets 1.5% pass, large gradients are not misjudged, an exact match is no error"""
    inputs = problem(98, S1)
    expect_found(nb, inputs, {"b_y": (1 + 5e-6) * ref.grads_autograd(*inputs)["b_y"]}, "b_y off by 5e-6", ["b_y"])
    inputs = problem(99, S1, target_scale=10.0)
    # ||a − n|| / (||a|| + ||n||) = 0.015 / 2.015 < 1e-2, where dividing by ||a|| or ||n|| alone gives ~0.015
    expect_found(nb, inputs, {"W_h": 1.015 * ref.grads_autograd(*inputs)["W_h"]}, "W_h off by 1.5%", [], tol=1e-2)
    inputs = problem(100, S3, target_scale=100.0)
    expect_found(nb, inputs, {}, "all right, targets x100", [])
    # "more than tol": with x = 0, dL/dW_h is exactly 0 and so is its numerical gradient (W_h multiplies zeros), a
    # relative error of exactly 0, which is not more than tol = 0; every other key is returned with its sign flipped
    inputs = problem(103, S1, x_zero=True)
    flipped = {k: -v for k, v in ref.grads_autograd(*inputs).items() if k != "W_h"}
    expect_found(nb, inputs, flipped, "x = 0, every key but W_h of the wrong sign", sorted(flipped), tol=0.0)


@pytest.mark.points(1, blank=BLANK)
def test_h0_matters(nb):
    """用傳入的 h0：少了 δ_1 h_0ᵀ 的 ∂L/∂U_h 在 h0 ≠ 0 時是錯的，h0 = 0 時是對的 / uses the h0 given: dL/dU_h without δ_1 h_0ᵀ is wrong when h0 ≠ 0, right when h0 = 0"""
    inputs = problem(101, S1)
    expect_found(nb, inputs, {"U_h": bug(inputs, h0_in_U=False)["U_h"]}, "U_h without delta_1 h0^T", ["U_h"])
    inputs = problem(102, S1, h0_zero=True)
    expect_found(nb, inputs, {"U_h": bug(inputs, h0_in_U=False)["U_h"]}, "U_h without delta_1 h0^T", [])


@pytest.mark.points(1, blank=BLANK)
def test_a_wrong_shape_alone(nb):
    """形狀不對就是錯，即使數值完全相同：多一個長度 1 維度的 b_h、U_h（廣播後與數值梯度相等）/ a wrong shape is wrong even with the right values: b_h, U_h with an extra dimension of length 1 (equal to the numerical gradient once broadcast)"""
    inputs = problem(104, S1)
    exact = ref.grads_autograd(*inputs)
    expect_found(nb, inputs, {"b_h": exact["b_h"].unsqueeze(0)}, "b_h of shape (1, H), right values", ["b_h"])
    inputs = problem(105, S2)
    exact = ref.grads_autograd(*inputs)
    expect_found(nb, inputs, {"U_h": exact["U_h"].unsqueeze(0), "W_y": -exact["W_y"]},
                 "U_h of shape (1, H, H), right values; W_y of the wrong sign", ["U_h", "W_y"])


def small_gradients(seed, size, offset=1e-4):
    """(x, h0, params, targets), float32, with targets within ~offset of the outputs: the gradients are ~offset,
    and float32's round-off in y_t − target_t is ~1e-3 of them, where float64's is ~1e-12."""
    x, h0, p, _ = problem(seed, size)
    q = {k: v.double() for k, v in p.items()}
    h, outs = h0.double(), []
    for t in range(x.shape[0]):
        h = torch.tanh(x[t].double() @ q["W_h"].T + h @ q["U_h"].T + q["b_h"])
        outs.append(h @ q["W_y"].T + q["b_y"])
    ys = torch.stack(outs)
    targets = (ys + ref.randn(ref.generator(seed + 1000), *ys.shape, scale=offset).double()).float()
    return x, h0, p, targets


@pytest.mark.points(1, blank=BLANK)
def test_grads_fn_gets_float64_copies(nb):
    """grads_fn 要用 float64 的複本呼叫：梯度很小（輸出幾乎等於目標）時，在 float32 下算出的正確梯度會被誤判 / grads_fn is called with float64 copies: with small gradients (outputs close to the targets), right gradients computed in float32 would be misjudged"""
    for seed, size in ((106, S1), (107, S3)):
        inputs = small_gradients(seed, size)
        exact = ref.grads_autograd(*inputs)
        in_float32 = ref.grads_autograd(*inputs, dtype=torch.float32)
        if max(ref.relative_error(in_float32[k], exact[k]) for k in exact) < 100 * DEFAULT_TOL:
            raise RuntimeError(f"grader case {seed}: float32 gradients would not be misjudged")
        expect_found(nb, inputs, {}, "right, computing in the dtype it is given; small gradients", [],
                     computing=True)
