"""The public checks of 01-rnn-foundations: what the notebook's visible checks ask, run by `course check`.

These are deliberately the visible checks only (the same sizes, one case each); the hidden graders ask
much more.  The standard answers are PyTorch's own nn.RNN, nn.Linear and autograd, run here.  Values are
compared with the graders' tolerance (atol + rtol·max|expected|, autograder.toolkit), never more strictly.
The parameter counts are checked at D, H, O = 3, 5, 2, as the visible check does: the written question
asks for the counts at 4, 6, 2, so neither check may print those.

bptt_grads and find_wrong_grads run with the engine's references of the blanks they call, as the hidden graders
do (none in a student's bundle); find_wrong_grads also with the exact gradient standing in for numerical_grad,
so that this check judges it alone (the hidden graders use a finite-difference reference instead).
"""

import math

import pytest
import torch
from torch import nn

from autograder.submission import StudentError
from autograder.toolkit import ATOL, RTOL, expect, tolerance_of

T, N, D, H, O = 5, 3, 4, 6, 2


def random_params(seed, recurrent_size=H, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return {"W_h": scale * torch.randn(H, D, generator=g), "U_h": scale * torch.randn(H, recurrent_size, generator=g),
            "b_h": scale * torch.randn(H, generator=g), "W_y": scale * torch.randn(O, H, generator=g),
            "b_y": scale * torch.randn(O, generator=g)}


def torch_elman(params):
    """nn.RNN(D, H) and nn.Linear(H, O) holding params (bias_hh_l0 = 0)."""
    rnn, fc = nn.RNN(D, H), nn.Linear(H, O)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(params["W_h"])
        rnn.weight_hh_l0.copy_(params["U_h"])
        rnn.bias_ih_l0.copy_(params["b_h"])
        rnn.bias_hh_l0.zero_()
        fc.weight.copy_(params["W_y"])
        fc.bias.copy_(params["b_y"])
    return rnn, fc


def compare(what, got, expected, rtol=RTOL, atol=ATOL):
    """As the graders: within atol + rtol·max|expected| (the notebook's compare uses the same rule)."""
    expect(isinstance(got, torch.Tensor), f"{what} 應為 torch.Tensor，得到 {type(got).__name__}",
           f"{what} should be a torch.Tensor, got {type(got).__name__}")
    expected = expected.detach()
    expect(tuple(got.shape) == tuple(expected.shape), f"{what} 的形狀應為 {tuple(expected.shape)}，得到 {tuple(got.shape)}",
           f"{what} should have shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    error = (got.double() - expected.double()).abs().max().item()
    tol = tolerance_of(expected.double(), rtol, atol)
    expect(error <= tol, f"{what} 的數值不對：最大誤差 {error:.2e}，容許 {tol:.1e}",
           f"{what} has wrong values: max error {error:.2e}, tolerance {tol:.1e}")


def pair(result, what):
    expect(type(result) in (tuple, list) and len(result) == 2, f"{what} 應回傳兩個張量", f"{what} should return two tensors")
    return result


@pytest.mark.points(1, blank="elman_cell")
def test_elman_cell(nb):
    """elman_cell 等於 nn.RNN 的一個時間步 / elman_cell equals one step of nn.RNN"""
    params = random_params(1)
    g = torch.Generator().manual_seed(11)
    x_t, h_prev = torch.randn(N, D, generator=g), torch.randn(N, H, generator=g)
    rnn, _ = torch_elman(params)
    with torch.no_grad():
        expected, _ = rnn(x_t.unsqueeze(0), h_prev.unsqueeze(0))
    compare("elman_cell(x_t, h_prev, params)", nb.elman_cell(x_t, h_prev, params), expected[0])


@pytest.mark.points(1, blank="elman_forward")
def test_elman_forward(nb):
    """elman_forward 的 hs、ys 等於 nn.RNN + nn.Linear / hs and ys equal nn.RNN + nn.Linear"""
    params = random_params(2)
    g = torch.Generator().manual_seed(12)
    x, h0 = torch.randn(T, N, D, generator=g), torch.randn(N, H, generator=g)
    rnn, fc = torch_elman(params)
    with torch.no_grad():
        expected_hs, _ = rnn(x, h0.unsqueeze(0))
        expected_ys = fc(expected_hs)
    hs, ys = pair(nb.elman_forward(x, h0, params), "elman_forward")
    compare("hs", hs, expected_hs)
    compare("ys", ys, expected_ys)


@pytest.mark.points(1, blank="params_from_torch")
def test_params_from_torch(nb):
    """params_from_torch 取出 nn.RNN(4, 6) 與 nn.Linear(6, 2) 的參數，b_h 是兩個偏差的和 / the parameters, b_h the sum"""
    rnn, fc = nb.torch.nn.RNN(D, H), nb.torch.nn.Linear(H, O)
    state, out = rnn.state_dict(), fc.state_dict()
    params = nb.params_from_torch(rnn, fc)
    keys = ["W_h", "U_h", "b_h", "W_y", "b_y"]
    expect(type(params) is dict and sorted(params) == sorted(keys), f"params 應為有 {keys} 的 dict",
           f"params should be a dict with keys {keys}")
    expected = {"W_h": state["weight_ih_l0"], "U_h": state["weight_hh_l0"],
                "b_h": state["bias_ih_l0"] + state["bias_hh_l0"], "W_y": out["weight"], "b_y": out["bias"]}
    for key in keys:
        compare(f"params[{key!r}]", params[key], expected[key], rtol=1e-6, atol=1e-6)     # as the grader: a copy


@pytest.mark.points(1, blank="jordan_cell")
def test_jordan_cell(nb):
    """jordan_cell 的手算例子 / the hand-computed example"""
    p1 = {"W_h": torch.tensor([[0.5]]), "U_h": torch.tensor([[-1.0]]), "b_h": torch.tensor([0.1]),
          "W_y": torch.tensor([[2.0]]), "b_y": torch.tensor([-0.5])}
    h_t, y_t = pair(nb.jordan_cell(torch.tensor([[1.0]]), torch.tensor([[0.2]]), p1), "jordan_cell")
    h_hand = math.tanh(0.4)
    compare("h_t", h_t, torch.tensor([[h_hand]]))
    compare("y_t", y_t, torch.tensor([[1 / (1 + math.exp(-(2.0 * h_hand - 0.5)))]]))


@pytest.mark.points(1, blank="jordan_forward")
def test_jordan_forward(nb):
    """jordan_forward 從 y0 開始、每一步用上一步的輸出 / starts from y0, feeds back the previous output"""
    params = random_params(6, recurrent_size=O)
    g = torch.Generator().manual_seed(16)
    x, y0 = torch.randn(T, N, D, generator=g), torch.rand(N, O, generator=g)
    hs, ys = pair(nb.jordan_forward(x, y0, params), "jordan_forward")
    y, expected_hs, expected_ys = y0, [], []
    for t in range(T):
        h = torch.tanh(x[t] @ params["W_h"].T + y @ params["U_h"].T + params["b_h"])
        y = torch.sigmoid(h @ params["W_y"].T + params["b_y"])
        expected_hs.append(h)
        expected_ys.append(y)
    compare("hs", hs, torch.stack(expected_hs))
    compare("ys", ys, torch.stack(expected_ys))


def bptt_case(seed):
    """x (T, N, D), h0 (N, H) and targets (T, N, O) for the BPTT checks, from their own generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, N, D, generator=g), torch.randn(N, H, generator=g), torch.randn(T, N, O, generator=g)


@pytest.mark.points(1, blank="bptt_grad_U")
def test_bptt_grad_U(nb):
    """bptt_grad_U 在關閉 autograd 時等於 autograd 的 dL/dU_h（T = 5 與 T = 1）/ with autograd off, equals autograd's dL/dU_h"""
    params, (x, h0, targets) = random_params(7), bptt_case(17)
    for steps in (T, 1):
        rnn, fc = torch_elman(params)
        out, _ = rnn(x[:steps], h0.unsqueeze(0))
        (0.5 * ((fc(out) - targets[:steps]) ** 2).sum()).backward()
        expected = rnn.weight_hh_l0.grad
        # as the notebook's visible check and the hidden graders: the student's function runs with autograd off
        with nb.without_autograd():
            try:
                got = nb.bptt_grad_U(x[:steps], h0, params, targets[:steps])
            except StudentError as exc:
                if exc.not_implemented or exc.type == "ArgumentChanged":
                    raise
                if exc.type == "AutogradOff":        # autograder.fence: an entry point of autograd was called
                    expect(False, "bptt_grad_U 用了 autograd（.backward()、torch.autograd 或 torch.func），但 autograd "
                                  "在呼叫期間是關閉的：請依照推導親手計算梯度",
                           "bptt_grad_U used autograd (.backward(), torch.autograd or torch.func), which is switched "
                           "off for the call: compute the gradient by hand as derived")
                first = (exc.message.splitlines() or [""])[0][:300]
                expect(False, f"在關閉 autograd 的情況下，bptt_grad_U 拋出了 {exc.type}: {first}",
                       f"with autograd switched off, bptt_grad_U raised {exc.type}: {first}")
        compare(f"dL/dU_h (T = {steps})", got, expected, rtol=1e-4, atol=1e-6)   # the graders' GRAD_RTOL, GRAD_ATOL


def count_numbers(*shapes):
    """How many numbers tensors of these shapes hold."""
    return sum(math.prod(shape) for shape in shapes)


CD, CH, CO = 3, 5, 2                  # the visible check's sizes; not 4, 6, 2 (the written question's)
COUNT_TS = (1, 3, 50)
SHARED = [(CH, CD), (CH, CH), (CH,), (CO, CH), (CO,)]     # W_h, U_h, b_h, W_y, b_y
PER_STEP, OUTPUT = SHARED[:3], SHARED[3:]


@pytest.mark.points(1, blank="n_params_shared")
def test_n_params_shared(nb):
    """n_params_shared(3, 5, 2, T)：W_h、U_h、b_h、W_y、b_y 的元素個數 / the numbers in W_h, U_h, b_h, W_y, b_y"""
    expected = count_numbers(*SHARED)
    for T_ in COUNT_TS:
        what = f"n_params_shared({CD}, {CH}, {CO}, {T_})"
        got = nb.n_params_shared(CD, CH, CO, T_)
        expect(got == expected, f"{what} 應為 {expected}，得到 {got!r}", f"{what} should be {expected}, got {got!r}")


@pytest.mark.points(1, blank="n_params_unshared")
def test_n_params_unshared(nb):
    """n_params_unshared(3, 5, 2, T)：每一步各一組 W_h、U_h、b_h，一組 W_y、b_y / every step its own W_h, U_h, b_h"""
    for T_ in COUNT_TS:
        expected = T_ * count_numbers(*PER_STEP) + count_numbers(*OUTPUT)
        what = f"n_params_unshared({CD}, {CH}, {CO}, {T_})"
        got = nb.n_params_unshared(CD, CH, CO, T_)
        expect(got == expected, f"{what} 應為 {expected}，得到 {got!r}", f"{what} should be {expected}, got {got!r}")


# ------------------------------------------------------------------------------ bptt_grads and the gradient check
def forward_references(nb) -> dict:
    """The engine's references for the blanks bptt_grads and find_wrong_grads call, run in the judge (a student's
    bundle has none: there the check runs end to end)."""
    try:
        from autograder.references import FORWARD_CALLS, made
    except ImportError:
        return {}
    return made(FORWARD_CALLS, nb)

GRAD_KEYS = ["W_h", "U_h", "b_h", "W_y", "b_y", "h0"]


def autograd_grads(params, x, h0, targets, dtype=torch.float32):
    """Every gradient of L (and h0's) by autograd on nn.RNN + nn.Linear holding params, in ``dtype``."""
    rnn, fc = torch_elman(params)
    rnn, fc = rnn.to(dtype), fc.to(dtype)
    start = h0.to(dtype).clone().requires_grad_(True)
    out, _ = rnn(x.to(dtype), start.unsqueeze(0))
    (0.5 * ((fc(out) - targets.to(dtype)) ** 2).sum()).backward()
    return {"W_h": rnn.weight_ih_l0.grad, "U_h": rnn.weight_hh_l0.grad, "b_h": rnn.bias_ih_l0.grad,
            "W_y": fc.weight.grad, "b_y": fc.bias.grad, "h0": start.grad}


def autograd_refused(exc, name):
    """The verdict on an exception of a call made with autograd off (re-raised unless autograd caused it)."""
    if exc.not_implemented or exc.type == "ArgumentChanged":
        raise exc
    if exc.type == "AutogradOff":
        expect(False, f"{name} 用了 autograd（.backward()、torch.autograd 或 torch.func），但 autograd 在呼叫期間是關閉的",
               f"{name} used autograd (.backward(), torch.autograd or torch.func), which is switched off for the call")
    first = (exc.message.splitlines() or [""])[0][:300]
    expect(False, f"在關閉 autograd 的情況下，{name} 拋出了 {exc.type}: {first}",
           f"with autograd switched off, {name} raised {exc.type}: {first}")


@pytest.mark.points(1, blank="bptt_grads")
def test_bptt_grads(nb):
    """bptt_grads 在關閉 autograd 時，六個鍵都等於 autograd 的梯度（T = 5 與 T = 1）/ with autograd off, all six gradients equal autograd's"""
    params, (x, h0, targets) = random_params(8), bptt_case(18)
    for steps in (T, 1):
        expected = autograd_grads(params, x[:steps], h0, targets[:steps])
        with nb.without_autograd(), nb.overriding(**forward_references(nb)):
            try:
                got = nb.bptt_grads(x[:steps], h0, params, targets[:steps])
            except StudentError as exc:
                autograd_refused(exc, "bptt_grads")
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        expect(keys == sorted(GRAD_KEYS), f"bptt_grads 應回傳鍵為 {sorted(GRAD_KEYS)} 的 dict，得到 {keys}",
               f"bptt_grads should return a dict with the keys {sorted(GRAD_KEYS)}, got {keys}")
        for key in GRAD_KEYS:
            compare(f"dL/d{key} (T = {steps})", got[key], expected[key], rtol=1e-4, atol=1e-6)   # GRAD_RTOL, GRAD_ATOL


NUMERICAL_RUN = """
def public_numerical_run(theta0, eps):
    import torch
    theta, saved, calls = theta0.clone(), theta0.clone(), []

    def f():
        calls.append(1)
        return (theta ** 3).sum() + theta.sum() ** 2

    grad = numerical_grad(f, theta) if eps is None else numerical_grad(f, theta, eps)
    return {"grad": grad, "calls": len(calls), "restored": bool(torch.equal(theta, saved))}
"""


@pytest.mark.points(1, blank="numerical_grad")
def test_numerical_grad(nb):
    """numerical_grad 是 float64 的中央差分，呼叫 f 2 × numel 次，之後 theta 完全恢復 / the float64 central difference, 2 × numel calls of f, theta put back"""
    theta = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.3]], dtype=torch.float64)
    run = nb.define("public_numerical_run", NUMERICAL_RUN)
    for eps in (1e-2, None):
        what = "numerical_grad(f, theta)" if eps is None else f"numerical_grad(f, theta, eps={eps:g})"
        with nb.without_autograd():
            try:
                out = run(theta, eps)
            except StudentError as exc:
                autograd_refused(exc, "numerical_grad")
        grad = out["grad"]
        expect(isinstance(grad, torch.Tensor) and grad.dtype == torch.float64,
               f"{what} 應回傳 torch.float64 的張量", f"{what} should return a torch.float64 tensor")
        step = 1e-6 if eps is None else eps
        # f's central difference, exactly: 3θ² + ε² + 2 Σθ; as the graders (METHOD_RTOL, NUMERIC_ATOL)
        compare(what, grad, 3 * theta ** 2 + step ** 2 + 2 * theta.sum(), rtol=1e-6, atol=1e-10)
        n = theta.numel()
        expect(2 * n <= out["calls"] <= 2 * n + 2, f"{what} 應呼叫 f {2 * n} 次，卻呼叫了 {out['calls']} 次",
               f"{what} should call f {2 * n} times, called it {out['calls']} times")
        expect(out["restored"], f"{what} 之後 theta 的值變了：請把每個元素原本的值寫回去",
               f"after {what} theta's values changed: write every entry's original value back")


def exact_numerical_grad(values: dict):
    """A numerical_grad for the check: the exact gradient it computed (autograd, float64) for the theta of that
    many entries, returned by the judge to the stand-in in the notebook's place. The check judges
    find_wrong_grads alone with it (a wrong numerical_grad has a check of its own), and f is not called: the
    hidden tests use a finite-difference reference, which evaluates it."""
    table = {v.numel(): v.detach().double().clone() for v in values.values()}

    def numerical_grad(f, theta, eps=1e-6):
        return table[theta.numel()].reshape(theta.shape)

    return numerical_grad


def fixed_grads(grads: dict):
    """A grads_fn that returns these gradients, whatever it is given (run in the judge, behind a stand-in)."""
    def grads_fn(x, h0, params, targets):
        return {k: v.detach().double().clone() for k, v in grads.items()}

    return grads_fn


@pytest.mark.points(1, blank="find_wrong_grads")
def test_find_wrong_grads(nb):
    """find_wrong_grads 找出錯的鍵並排序（全對時回傳 []）/ finds the wrong keys, sorted ([] when all are right)"""
    params, (x, h0, targets) = random_params(9), bptt_case(19)
    exact = autograd_grads(params, x, h0, targets, torch.float64)
    cases = [("all right", {}, []),
             ("W_h off by 1%, U_h transposed", {"W_h": 1.01 * exact["W_h"], "U_h": exact["U_h"].T}, ["U_h", "W_h"]),
             ("b_h not summed over the batch, h0's sign flipped",
              {"b_h": exact["b_h"].expand(N, H) / N, "h0": -exact["h0"]}, ["b_h", "h0"])]
    for number, (label, changed, expected) in enumerate(cases):
        grads_fn = nb.stub(fixed_grads({**exact, **changed}), "grads_fn")
        with nb.without_autograd(), nb.overriding(numerical_grad=exact_numerical_grad(exact), **forward_references(nb)):
            try:
                got = nb.find_wrong_grads(grads_fn, x, h0, params, targets)
            except StudentError as exc:
                autograd_refused(exc, "find_wrong_grads")
        expect(type(got) is list and got == expected, f"find_wrong_grads（grads_fn: {label}）應回傳 {expected}，得到 {got!r}",
               f"find_wrong_grads (grads_fn: {label}) should return {expected}, got {got!r}")


def train_references(nb) -> dict:
    """The engine's references for the blanks train_elman calls (elman_forward, bptt_grads), run in the judge (a
    student's bundle has none: there the check runs end to end, with the student's own bptt_grads)."""
    try:
        from autograder.references import TRAIN_CALLS, made
    except ImportError:
        return {}
    return made(TRAIN_CALLS, nb)


@pytest.mark.points(1, blank="train_elman")
def test_train_elman(nb):
    """train_elman 的損失與同樣起點的 nn.RNN + autograd + torch.optim.SGD 相同，而且下降 / train_elman's losses equal those of nn.RNN + autograd + torch.optim.SGD from the same start, and fall"""
    params, (x, h0, targets) = random_params(13, scale=0.3), bptt_case(23)
    before = {k: v.clone() for k, v in params.items()}
    lr, steps = 0.01, 10
    with nb.without_autograd(), nb.overriding(**train_references(nb)):
        try:
            result = nb.train_elman(x, h0, params, targets, lr, steps)
        except StudentError as exc:
            autograd_refused(exc, "train_elman")
    expect(type(result) in (tuple, list) and len(result) == 2, "train_elman 應回傳 (trained, losses)",
           "train_elman should return (trained, losses)")
    trained, losses = result
    rnn, fc = torch_elman(before)
    optimizer = torch.optim.SGD([p for n, p in rnn.named_parameters() if n != "bias_hh_l0"] + list(fc.parameters()), lr=lr)
    expected = []
    for update in range(steps):
        optimizer.zero_grad()
        out, _ = rnn(x, h0.unsqueeze(0))
        loss = 0.5 * ((fc(out) - targets) ** 2).sum()
        expected.append(loss.item())
        loss.backward()
        optimizer.step()
    expect(type(losses) is list and len(losses) == steps and all(type(v) is float for v in losses),
           f"losses 應是長度 {steps} 的 float 串列", f"losses should be a list of {steps} floats")
    for k, (got, want) in enumerate(zip(losses, expected)):
        expect(abs(got - want) <= 1e-4 * max(abs(want), 1.0), f"losses[{k}] 應為 {want:.6g}，得到 {got:.6g}",
               f"losses[{k}] should be {want:.6g}, got {got:.6g}")
    expect(losses[-1] < losses[0], f"損失沒有下降：{losses[0]:.6g} → {losses[-1]:.6g}",
           f"the loss did not fall: {losses[0]:.6g} → {losses[-1]:.6g}")
    expect(type(trained) is dict and sorted(trained) == ["U_h", "W_h", "W_y", "b_h", "b_y"],
           "trained 的鍵應恰好是 W_h、U_h、b_h、W_y、b_y", "trained should have exactly the keys W_h, U_h, b_h, W_y, b_y")
    compare("trained['W_y']", trained["W_y"], fc.weight, rtol=1e-4, atol=1e-5)
