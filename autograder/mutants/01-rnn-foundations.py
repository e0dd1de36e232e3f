"""Mutants (realistic student mistakes) and valid variants of the 01-rnn-foundations solution.

``course validate 01-rnn-foundations`` applies each one to the master notebook's solution cells and
grades the result: every mutant must lose points on the blank it names (``loses``), every variant
must keep full marks.  An edit ``(cell, old, new)`` replaces the text ``old``, which must occur
exactly once in that solution cell; ``old=None`` replaces the whole cell.
"""

from autograder.validate import Mutant, Variant

MUTANTS = [
    # ------------------------------------------------------------------ elman_cell
    Mutant("cell-sigmoid", "sigmoid instead of tanh",
           [("elman_cell", "return torch.tanh(a_t)", "return torch.sigmoid(a_t)")], loses="elman_cell"),
    Mutant("cell-no-bias", "the bias b_h left out",
           [("elman_cell", ' + params["b_h"]', "")], loses="elman_cell"),
    Mutant("cell-no-recurrence", "the U_h h_{t-1} term left out: no recurrence",
           [("elman_cell", ' + h_prev @ params["U_h"].T', "")], loses="elman_cell"),
    Mutant("cell-W-untransposed", "x_t @ W_h instead of x_t @ W_h.T (errors when D != H, differs when D == H)",
           [("elman_cell", 'x_t @ params["W_h"].T', 'x_t @ params["W_h"]')], loses="elman_cell"),
    Mutant("cell-U-untransposed", "h_prev @ U_h instead of h_prev @ U_h.T (U_h is square: runs, differs)",
           [("elman_cell", 'h_prev @ params["U_h"].T', 'h_prev @ params["U_h"]')], loses="elman_cell"),
    Mutant("cell-no-tanh", "no activation at all",
           [("elman_cell", "return torch.tanh(a_t)", "return a_t")], loses="elman_cell"),
    Mutant("cell-relu", "ReLU instead of tanh",
           [("elman_cell", "return torch.tanh(a_t)", "return torch.relu(a_t)")], loses="elman_cell"),
    # ------------------------------------------------------------------ elman_forward
    Mutant("forward-h0-ignored", "starts from zeros, ignoring h0",
           [("elman_forward", "    h = h0\n", "    h = torch.zeros_like(h0)\n")], loses="elman_forward"),
    Mutant("forward-not-carried", "every step from h0: the hidden state is not carried (no recurrence)",
           [("elman_forward", "h = elman_cell(x[t], h, params)", "h = elman_cell(x[t], h0, params)")],
           loses="elman_forward"),
    Mutant("forward-shifted", "returns h_0..h_{T-1} instead of h_1..h_T",
           [("elman_forward", "return torch.stack(hs), torch.stack(ys)",
             "return torch.stack([h0] + hs[:-1]), torch.stack(ys)")], loses="elman_forward"),
    Mutant("forward-ys-preactivation", "ys computed from the pre-activation a_t instead of h_t",
           [("elman_forward", "        h = elman_cell(x[t], h, params)",
             '        a = x[t] @ params["W_h"].T + h @ params["U_h"].T + params["b_h"]\n'
             "        h = elman_cell(x[t], h, params)"),
            ("elman_forward", 'ys.append(h @ params["W_y"].T', 'ys.append(a @ params["W_y"].T')],
           loses="elman_forward"),
    Mutant("forward-axes-swapped", "loops over dim 1: time and batch axes swapped",
           [("elman_forward", "range(x.shape[0])", "range(x.shape[1])"),
            ("elman_forward", "elman_cell(x[t], h, params)", "elman_cell(x[:, t], h, params)")],
           loses="elman_forward"),
    Mutant("forward-ys-tanh", "the output passed through tanh (σ_y is the identity here)",
           [("elman_forward", 'ys.append(h @ params["W_y"].T + params["b_y"])',
             'ys.append(torch.tanh(h @ params["W_y"].T + params["b_y"]))')], loses="elman_forward"),
    Mutant("forward-last-only", "returns only the last step, repeated",
           [("elman_forward", "        hs.append(h)\n", "        hs = [h] * (t + 1)\n")], loses="elman_forward"),
    # ------------------------------------------------------------------ params_from_torch
    Mutant("torch-bias-ih-only", "b_h = bias_ih_l0 alone (forgets bias_hh_l0)",
           [("params_from_torch", "(rnn.bias_ih_l0 + rnn.bias_hh_l0)", "(rnn.bias_ih_l0)")],
           loses="params_from_torch"),
    Mutant("torch-swapped", "W_h and U_h swapped",
           [("params_from_torch", '"W_h": rnn.weight_ih_l0', '"W_h": rnn.weight_hh_l0'),
            ("params_from_torch", '"U_h": rnn.weight_hh_l0', '"U_h": rnn.weight_ih_l0')],
           loses="params_from_torch"),
    Mutant("torch-not-detached", "tensors still attached to the module's graph",
           [("params_from_torch", "rnn.weight_ih_l0.detach().clone()", "rnn.weight_ih_l0.clone()")],
           loses="params_from_torch"),
    Mutant("torch-bias-difference", "b_h = bias_ih_l0 - bias_hh_l0",
           [("params_from_torch", "(rnn.bias_ih_l0 + rnn.bias_hh_l0)", "(rnn.bias_ih_l0 - rnn.bias_hh_l0)")],
           loses="params_from_torch"),
    # ------------------------------------------------------------------ jordan_cell
    Mutant("jordan-y-tanh", "tanh instead of sigmoid on y",
           [("jordan_cell", "y_t = torch.sigmoid(", "y_t = torch.tanh(")], loses="jordan_cell"),
    Mutant("jordan-y-linear", "no sigmoid on y",
           [("jordan_cell", 'y_t = torch.sigmoid(h_t @ params["W_y"].T + params["b_y"])',
             'y_t = h_t @ params["W_y"].T + params["b_y"]')], loses="jordan_cell"),
    Mutant("jordan-h-sigmoid", "sigmoid instead of tanh on h",
           [("jordan_cell", "h_t = torch.tanh(", "h_t = torch.sigmoid(")], loses="jordan_cell"),
    # ------------------------------------------------------------------ jordan_forward
    Mutant("jordan-through-h", "the recurrence through h_{t-1} instead of y_{t-1}",
           [("jordan_forward", "    y = y0\n", "    h = y0\n"),
            ("jordan_forward", "jordan_cell(x[t], y, params)", "jordan_cell(x[t], h, params)")],
           loses="jordan_forward"),
    Mutant("jordan-y0-ignored", "starts from zeros, ignoring y0",
           [("jordan_forward", "    y = y0\n", "    y = torch.zeros_like(y0)\n")], loses="jordan_forward"),
    Mutant("jordan-y-not-carried", "every step from y0",
           [("jordan_forward", "h, y = jordan_cell(x[t], y, params)", "h, y = jordan_cell(x[t], y0, params)")],
           loses="jordan_forward"),
    # ------------------------------------------------------------------ bptt_grad_U
    Mutant("bptt-last-step-only", "only the last time step's contribution",
           [("bptt_grad_u", "for t in reversed(range(x.shape[0])):", "for t in [x.shape[0] - 1]:")],
           loses="bptt_grad_U"),
    Mutant("bptt-no-tanh-derivative", "the factor 1 - h_t² left out",
           [("bptt_grad_u", "delta = g * (1 - hs[t] ** 2)", "delta = g")], loses="bptt_grad_U"),
    Mutant("bptt-no-recurrent-term", "U_hᵀ δ_{t+1} left out: the error does not flow back in time",
           [("bptt_grad_u", " + delta_next @ U_h", "")], loses="bptt_grad_U"),
    Mutant("bptt-h-t", "δ_t h_tᵀ instead of δ_t h_{t-1}ᵀ",
           [("bptt_grad_u", "delta.T @ h_prevs[t]", "delta.T @ hs[t]")], loses="bptt_grad_U"),
    Mutant("bptt-first-sample", "δ not summed over the batch: batch element 0 only",
           [("bptt_grad_u", "grad_U += delta.T @ h_prevs[t]", "grad_U += torch.outer(delta[0], h_prevs[t][0])")],
           loses="bptt_grad_U"),
    Mutant("bptt-transposed", "h_{t-1} δ_tᵀ: the transpose",
           [("bptt_grad_u", "delta.T @ h_prevs[t]", "h_prevs[t].T @ delta")], loses="bptt_grad_U"),
    Mutant("bptt-wrong-sign", "target - y instead of y - target",
           [("bptt_grad_u", "(ys[t] - targets[t])", "(targets[t] - ys[t])")], loses="bptt_grad_U"),
    Mutant("bptt-autograd", "autograd instead of the backward recursion", [("bptt_grad_u", None, '''def bptt_grad_U(x, h0, params, targets):
    U = params["U_h"].clone().requires_grad_(True)
    hs, ys = elman_forward(x, h0, dict(params, U_h=U))
    loss = 0.5 * ((ys - targets) ** 2).sum()
    loss.backward()
    return U.grad
''')], loses="bptt_grad_U"),
    # ------------------------------------------------------------------ bptt_grads
    Mutant("grads-bias-not-summed", "b_h's gradient not summed over the batch: shape (N, H)",
           [("bptt_grads", 'grads["b_h"] += delta.sum(dim=0)', 'grads["b_h"] = grads["b_h"] + delta')],
           loses="bptt_grads"),
    Mutant("grads-wy-last-step", "∂L/∂W_y from the last time step only, after the loop",
           [("bptt_grads", '        grads["W_y"] += e.T @ hs[t]                           # Σ_t e_t h_tᵀ：(O, N) @ (N, H)\n', ""),
            ("bptt_grads", '    grads["h0"] = delta @ U_h',
             '    grads["W_y"] = (ys[-1] - targets[-1]).T @ hs[-1]\n    grads["h0"] = delta @ U_h')],
           loses="bptt_grads"),
    Mutant("grads-h0-without-U", "∂L/∂h_0 = δ_1: the last U_h left out",
           [("bptt_grads", 'grads["h0"] = delta @ U_h', 'grads["h0"] = delta')], loses="bptt_grads"),
    Mutant("grads-skip-first-step", "off by one: the backward loop stops before t = 1 (index 0)",
           [("bptt_grads", "for t in reversed(range(x.shape[0])):", "for t in reversed(range(1, x.shape[0])):")],
           loses="bptt_grads"),
    Mutant("grads-autograd", "every gradient by autograd (needs autograd, which is off)", [("bptt_grads", None, '''def bptt_grads(x, h0, params, targets):
    leaves = {key: value.clone().requires_grad_(True) for key, value in params.items()}
    leaves["h0"] = h0.clone().requires_grad_(True)
    hs, ys = elman_forward(x, leaves["h0"], leaves)
    loss = 0.5 * ((ys - targets) ** 2).sum()
    loss.backward()
    return {key: leaf.grad for key, leaf in leaves.items()}
''')], loses="bptt_grads"),
    # ------------------------------------------------------------------ numerical_grad
    Mutant("numeric-forward-difference", "(f(θ + ε) − f(θ)) / ε: the forward difference",
           [("numerical_grad", "theta[index] = old - eps", "theta[index] = old"),
            ("numerical_grad", "(f_plus - f_minus) / (2 * eps)", "(f_plus - f_minus) / eps")],
           loses="numerical_grad"),
    Mutant("numeric-restore-by-adding", "θ put back by adding ε again: (θ − ε) + ε is not always θ",
           [("numerical_grad", "        theta[index] = old                                    # 寫回原本的值：完全恢復",
             "        theta[index] += eps")], loses="numerical_grad"),
    Mutant("numeric-float32", "the gradient kept in a float32 tensor (torch.zeros' default dtype)",
           [("numerical_grad", "grad = torch.zeros_like(theta, dtype=torch.float64)", "grad = torch.zeros(theta.shape)")],
           loses="numerical_grad"),
    # ------------------------------------------------------------------ find_wrong_grads
    Mutant("fw-float32-copies", "float32 copies: the numerical gradient is mostly round-off",
           [("find_wrong_grads", "value.to(torch.float64, copy=True)", "value.clone()"),
            ("find_wrong_grads", "h0.to(torch.float64, copy=True)", "h0.clone()"),
            ("find_wrong_grads", "x64, targets64 = x.double(), targets.double()", "x64, targets64 = x, targets")],
           loses="find_wrong_grads"),
    Mutant("fw-allclose", "torch.allclose with its default tolerance instead of the relative error and tol",
           [("find_wrong_grads", "if error > tol:", "if not torch.allclose(analytic, numeric):")],
           loses="find_wrong_grads"),
    Mutant("fw-grads-fn-originals", "float64 copies made for the loss, but grads_fn called with the float32 originals",
           [("find_wrong_grads", 'grads = grads_fn(x64, copies["h0"], params64, targets64)',
             "grads = grads_fn(x, h0, params, targets)")], loses="find_wrong_grads"),
    Mutant("fw-no-shape-check", "no shape check: a gradient of the wrong shape but the right values is let through",
           [("find_wrong_grads", """        if analytic.shape != numeric.shape:                   # 形狀不對也算錯
            wrong.append(key)
            continue
""", "")], loses="find_wrong_grads"),
    Mutant("fw-shape-by-numel", "compares the numbers of elements, not the shapes",
           [("find_wrong_grads", "if analytic.shape != numeric.shape:", "if analytic.numel() != numeric.numel():")],
           loses="find_wrong_grads"),
    Mutant("fw-not-sorted", "the wrong keys in the dict's order, not sorted",
           [("find_wrong_grads", "return sorted(wrong)", "return wrong")], loses="find_wrong_grads"),
    Mutant("fw-absolute-error", "the absolute error ||a − n|| compared with tol",
           [("find_wrong_grads", "error = (analytic - numeric).norm() / (analytic.norm() + numeric.norm()).clamp(min=1e-12)",
             "error = (analytic - numeric).norm()")], loses="find_wrong_grads"),
    # ------------------------------------------------------------------ counts
    Mutant("count-shared-times-T", "the shared count multiplied by T",
           [("n_params_shared", "return H * D + H * H + H + O * H + O", "return T * (H * D + H * H + H + O * H + O)")],
           loses="n_params_shared"),
    Mutant("count-shared-no-biases", "the biases not counted",
           [("n_params_shared", "return H * D + H * H + H + O * H + O", "return H * D + H * H + O * H")],
           loses="n_params_shared"),
    Mutant("count-unshared-no-biases", "the unshared count forgets the biases",
           [("n_params_unshared", "T * (H * D + H * H + H) + O * H + O", "T * (H * D + H * H) + O * H")],
           loses="n_params_unshared"),
    Mutant("count-unshared-output-per-step", "W_y and b_y counted once per step too",
           [("n_params_unshared", "T * (H * D + H * H + H) + O * H + O", "T * (H * D + H * H + H + O * H + O)")],
           loses="n_params_unshared"),
    # ------------------------------------------------------------------ train_elman
    Mutant("train-ascent", "θ + lr ∂L/∂θ: up the gradient",
           [("train_elman", "current[key] - lr * grads[key]", "current[key] + lr * grads[key]")], loses="train_elman"),
    Mutant("train-loss-after-update", "the loss recorded after each update, not before",
           [("train_elman", """        _, ys = elman_forward(x, h0, current)
        losses.append(float(0.5 * ((ys - targets) ** 2).sum()))      # 更新之前的 L
        grads = bptt_grads(x, h0, current, targets)
        current = {key: current[key] - lr * grads[key] for key in current}   # h0 不是參數：不更新
""", """        grads = bptt_grads(x, h0, current, targets)
        current = {key: current[key] - lr * grads[key] for key in current}
        _, ys = elman_forward(x, h0, current)
        losses.append(float(0.5 * ((ys - targets) ** 2).sum()))
""")], loses="train_elman"),
    Mutant("train-no-half", "L without the ½: the losses twice too large",
           [("train_elman", "float(0.5 * ((ys - targets) ** 2).sum())", "float(((ys - targets) ** 2).sum())")],
           loses="train_elman"),
    Mutant("train-mean-loss", "the mean squared error instead of L", [("train_elman",
           "float(0.5 * ((ys - targets) ** 2).sum())", "float(((ys - targets) ** 2).mean())")], loses="train_elman"),
    Mutant("train-in-place", "updates the caller's params in place (no copy)",
           [("train_elman", "current = {key: value.clone() for key, value in params.items()}", "current = params"),
            ("train_elman", "current = {key: current[key] - lr * grads[key] for key in current}",
             "for key in current:\n            current[key] -= lr * grads[key]")], loses="train_elman"),
    Mutant("train-h0-trained", "h0 updated too, as if it were a parameter",
           [("train_elman", "        grads = bptt_grads(x, h0, current, targets)\n",
             "        grads = bptt_grads(x, h0, current, targets)\n        h0 = h0 - lr * grads[\"h0\"]\n")],
           loses="train_elman"),
    Mutant("train-stale-gradient", "the gradient computed once, at the start, and reused",
           [("train_elman", "    losses = []\n", "    losses = []\n    first = bptt_grads(x, h0, current, targets)\n"),
            ("train_elman", "        grads = bptt_grads(x, h0, current, targets)\n", "        grads = first\n")],
           loses="train_elman"),
    Mutant("train-tensor-losses", "losses kept as 0-d tensors, not floats",
           [("train_elman", "losses.append(float(0.5 * ((ys - targets) ** 2).sum()))",
             "losses.append(0.5 * ((ys - targets) ** 2).sum())")], loses="train_elman"),
    # ------------------------------------------------------------------ changing what the caller passed in
    Mutant("params-bias-add-in-place", "b_h summed in place on a detached view: rnn.bias_ih_l0 is changed",
           [("params_from_torch", '"b_h": (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().clone(),',
             '"b_h": rnn.bias_ih_l0.detach().add_(rnn.bias_hh_l0.detach()),')],
           loses="params_from_torch"),
    Mutant("cell-tanh-into-h-prev", "reuses h_prev's memory for the result: torch.tanh(a_t, out=h_prev)",
           [("elman_cell", "return torch.tanh(a_t)", "return torch.tanh(a_t, out=h_prev)")], loses="elman_cell"),
    Mutant("forward-h0-as-state", "keeps the state in h0's memory: h0 holds h_T afterwards",
           [("elman_forward", "        h = elman_cell(x[t], h, params)                  # 每一步都用同一組 params（權重共享）\n        hs.append(h)",
             "        h.copy_(elman_cell(x[t], h, params))\n        hs.append(h.clone())")], loses="elman_forward"),
    Mutant("bptt-error-into-targets", "computes the error y_t − target_t in the targets' memory",
           [("bptt_grad_u", "g = (ys[t] - targets[t]) @ W_y + delta_next @ U_h",
             "error = targets[t].sub_(ys[t]).neg_()\n        g = error @ W_y + delta_next @ U_h")],
           loses="bptt_grad_U"),
    Mutant("bptt-autograd-enable-grad", "autograd again, turned back on with torch.enable_grad() inside the function",
           [("bptt_grad_u", None, '''def bptt_grad_U(x, h0, params, targets):
    with torch.enable_grad():
        U = params["U_h"].clone().requires_grad_(True)
        hs, ys = elman_forward(x, h0, dict(params, U_h=U))
        loss = 0.5 * ((ys - targets) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, U)
    return grad
''')], loses="bptt_grad_U"),
    # ------------------------------------------------------------------ legal but extreme inputs
    Mutant("cell-tanh-by-exp", "tanh written as (e^a − e^−a)/(e^a + e^−a): NaN once |a| > 88",
           [("elman_cell", "return torch.tanh(a_t)",
             "return (torch.exp(a_t) - torch.exp(-a_t)) / (torch.exp(a_t) + torch.exp(-a_t))")], loses="elman_cell"),
    Mutant("jordan-sigmoid-by-exp", "sigmoid written as e^z/(1 + e^z): NaN once z > 88",
           [("jordan_cell", "y_t = torch.sigmoid(h_t @ params[\"W_y\"].T + params[\"b_y\"])",
             "z = h_t @ params[\"W_y\"].T + params[\"b_y\"]\n    y_t = torch.exp(z) / (1 + torch.exp(z))")],
           loses="jordan_cell"),
]

VARIANTS = [
    Variant("cell-addmm", "torch.addmm", [("elman_cell", None, '''def elman_cell(x_t, h_prev, params):
    a_t = torch.addmm(params["b_h"], x_t, params["W_h"].T)
    a_t = torch.addmm(a_t, h_prev, params["U_h"].T)
    return torch.tanh(a_t)
''')]),
    Variant("cell-linear", "nn.functional.linear", [("elman_cell", None, '''def elman_cell(x_t, h_prev, params):
    F = nn.functional
    return torch.tanh(F.linear(x_t, params["W_h"], params["b_h"]) + F.linear(h_prev, params["U_h"]))
''')]),
    Variant("forward-preallocated", "writes into a preallocated tensor; ys in one matmul", [("elman_forward", None, '''def elman_forward(x, h0, params):
    T, N = x.shape[0], x.shape[1]
    H = params["U_h"].shape[0]
    hs = x.new_zeros(T, N, H)
    h = h0
    for t in range(T):
        h = elman_cell(x[t], h, params)
        hs[t] = h
    ys = hs @ params["W_y"].T + params["b_y"]
    return hs, ys
''')]),
    Variant("forward-inline-while", "a while loop, the cell inlined, a tuple of lists stacked at the end", [("elman_forward", None, '''def elman_forward(x, h0, params):
    W_h, U_h, b_h, W_y, b_y = (params[k] for k in ("W_h", "U_h", "b_h", "W_y", "b_y"))
    hs, t, h = [], 0, h0
    while t < len(x):
        h = torch.tanh(x[t] @ W_h.T + h @ U_h.T + b_h)
        hs.append(h)
        t += 1
    hs = torch.stack(hs, dim=0)
    return hs, torch.einsum("tnh,oh->tno", hs, W_y) + b_y
''')]),
    Variant("torch-data-clone", ".data.clone()", [("params_from_torch", None, '''def params_from_torch(rnn, fc):
    return {"W_h": rnn.weight_ih_l0.data.clone(), "U_h": rnn.weight_hh_l0.data.clone(),
            "b_h": rnn.bias_ih_l0.data.clone() + rnn.bias_hh_l0.data.clone(),
            "W_y": fc.weight.data.clone(), "b_y": fc.bias.data.clone()}
''')]),
    Variant("torch-state-dict", "state_dict(), no clone", [("params_from_torch", None, '''def params_from_torch(rnn, fc):
    s, f = rnn.state_dict(), fc.state_dict()
    return {"W_h": s["weight_ih_l0"], "U_h": s["weight_hh_l0"], "b_h": s["bias_ih_l0"] + s["bias_hh_l0"],
            "W_y": f["weight"], "b_y": f["bias"]}
''')]),
    Variant("torch-no-grad", "computed under torch.no_grad()", [("params_from_torch", None, '''def params_from_torch(rnn, fc):
    with torch.no_grad():
        return dict(W_h=rnn.weight_ih_l0 * 1, U_h=rnn.weight_hh_l0 * 1, b_h=rnn.bias_ih_l0 + rnn.bias_hh_l0,
                    W_y=fc.weight * 1, b_y=fc.bias * 1)
''')]),
    Variant("jordan-exp", "sigmoid written as 1 / (1 + exp(-z))", [
        ("jordan_cell", 'y_t = torch.sigmoid(h_t @ params["W_y"].T + params["b_y"])',
         'y_t = 1 / (1 + torch.exp(-(h_t @ params["W_y"].T + params["b_y"])))')]),
    Variant("jordan-forward-prealloc", "preallocated outputs", [("jordan_forward", None, '''def jordan_forward(x, y0, params):
    T, N = x.shape[:2]
    H, O = params["W_h"].shape[0], params["W_y"].shape[0]
    hs, ys = x.new_empty(T, N, H), x.new_empty(T, N, O)
    y_prev = y0
    for t in range(T):
        hs[t], ys[t] = jordan_cell(x[t], y_prev, params)
        y_prev = ys[t]
    return hs, ys
''')]),
    Variant("bptt-einsum", "einsum for the batch sum and the back-propagated error", [
        ("bptt_grad_u", "g = (ys[t] - targets[t]) @ W_y + delta_next @ U_h",
         'g = torch.einsum("no,oh->nh", ys[t] - targets[t], W_y) + torch.einsum("nk,kh->nh", delta_next, U_h)'),
        ("bptt_grad_u", "grad_U += delta.T @ h_prevs[t]", 'grad_U += torch.einsum("ni,nj->ij", delta, h_prevs[t])')]),
    Variant("bptt-batch-loop", "explicit loop over the batch with torch.outer", [
        ("bptt_grad_u", "grad_U += delta.T @ h_prevs[t]",
         "for n in range(x.shape[1]):\n            grad_U = grad_U + torch.outer(delta[n], h_prevs[t][n])")]),
    Variant("bptt-own-forward", "its own forward with pre-activations, tanh' from a_t, deltas stored", [("bptt_grad_u", None, '''def bptt_grad_U(x, h0, params, targets):
    W_h, U_h, b_h, W_y, b_y = (params[k] for k in ("W_h", "U_h", "b_h", "W_y", "b_y"))
    T = x.shape[0]
    hs, pre = [h0], []
    for t in range(T):
        a = x[t] @ W_h.T + hs[-1] @ U_h.T + b_h
        pre.append(a)
        hs.append(torch.tanh(a))
    deltas = [None] * (T + 1)
    deltas[T] = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        y = hs[t + 1] @ W_y.T + b_y
        deltas[t] = ((y - targets[t]) @ W_y + deltas[t + 1] @ U_h) * (1 - torch.tanh(pre[t]) ** 2)
    return sum(deltas[t].T @ hs[t] for t in range(T))
''')]),
    Variant("grads-per-step-lists", "per-step contributions in lists, summed at the end; einsum; its own h_{t-1}",
            [("bptt_grads", None, '''def bptt_grads(x, h0, params, targets):
    hs, ys = elman_forward(x, h0, params)
    T = x.shape[0]
    parts = {key: [] for key in ("W_h", "U_h", "b_h", "W_y", "b_y")}
    delta_next = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        err = ys[t] - targets[t]
        delta = (torch.einsum("no,oh->nh", err, params["W_y"]) + delta_next @ params["U_h"]) * (1 - hs[t] * hs[t])
        parts["W_h"].append(torch.einsum("ni,nj->ij", delta, x[t]))
        parts["U_h"].append(torch.einsum("ni,nj->ij", delta, h_prev))
        parts["b_h"].append(delta.sum(0))
        parts["W_y"].append(torch.einsum("no,nh->oh", err, hs[t]))
        parts["b_y"].append(err.sum(0))
        delta_next = delta
    grads = {key: torch.stack(values).sum(0) for key, values in parts.items()}
    grads["h0"] = torch.einsum("nk,kh->nh", delta_next, params["U_h"])
    return grads
''')]),
    Variant("numeric-clone-restore", "a flat view of theta, restored each time from a saved clone with copy_",
            [("numerical_grad", None, '''def numerical_grad(f, theta, eps=1e-6):
    original = theta.clone()
    flat = theta.view(-1)
    grad = torch.empty(theta.numel(), dtype=torch.float64)
    for i in range(theta.numel()):
        flat[i] += eps
        up = float(f())
        theta.copy_(original)
        flat[i] -= eps
        down = float(f())
        theta.copy_(original)
        grad[i] = (up - down) / 2 / eps
    return grad.reshape(theta.shape)
''')]),
    Variant("numeric-no-grad-unravel", "under torch.no_grad(), indices from np.unravel_index, f's value as a tensor",
            [("numerical_grad", None, '''def numerical_grad(f, theta, eps=1e-6):
    grad = torch.zeros(theta.shape, dtype=torch.float64)
    with torch.no_grad():
        for flat_index in range(theta.numel()):
            i = np.unravel_index(flat_index, tuple(theta.shape))
            saved = theta[i].clone()
            theta[i] = saved + eps
            plus = torch.as_tensor(f(), dtype=torch.float64)
            theta[i] = saved - eps
            minus = torch.as_tensor(f(), dtype=torch.float64)
            theta[i] = saved
            grad[i] = (plus - minus) / (2 * eps)
    return grad
''')]),
    Variant("fw-own-forward", "its own forward and loss, torch.linalg.norm, the keys collected by a comprehension",
            [("find_wrong_grads", None, '''def find_wrong_grads(grads_fn, x, h0, params, targets, tol=1e-6):
    p = {k: v.detach().clone().double() for k, v in params.items()}
    start = h0.detach().clone().double()
    xs, ts = x.double(), targets.double()

    def loss():
        h, total = start, 0.0
        for t in range(xs.shape[0]):
            h = torch.tanh(xs[t] @ p["W_h"].T + h @ p["U_h"].T + p["b_h"])
            total = total + 0.5 * float(((h @ p["W_y"].T + p["b_y"] - ts[t]) ** 2).sum())
        return total

    def relative(a, b):
        return float(torch.linalg.norm(a - b)) / max(float(torch.linalg.norm(a) + torch.linalg.norm(b)), 1e-12)

    analytic = grads_fn(xs, start, p, ts)
    numeric = {k: numerical_grad(loss, start if k == "h0" else p[k]) for k in analytic}
    return sorted(k for k in analytic
                  if analytic[k].shape != numeric[k].shape or relative(analytic[k], numeric[k]) > tol)
''')]),
    Variant("fw-loop-vector-norm", "an explicit loop over the keys, torch.linalg.vector_norm, detached copies .to(float64), "
            "the shape compared with .size()",
            [("find_wrong_grads", None, '''def find_wrong_grads(grads_fn, x, h0, params, targets, tol=1e-6):
    f64 = torch.float64
    theta = {k: v.detach().clone().to(f64) for k, v in params.items()}
    theta["h0"] = h0.detach().clone().to(f64)
    x64 = x.detach().to(f64)
    t64 = targets.detach().to(f64)
    weights = {k: theta[k] for k in params}

    def loss():
        _, ys = elman_forward(x64, theta["h0"], weights)
        return float(((ys - t64) ** 2).sum()) / 2

    analytic = grads_fn(x64, theta["h0"], weights, t64)
    wrong = []
    for key in analytic:
        a = analytic[key]
        n = numerical_grad(loss, theta[key])
        if a.size() != n.size():
            wrong.append(key)
        else:
            norm = torch.linalg.vector_norm
            scale = max(float(norm(a) + norm(n)), 1e-12)
            if float(norm(a - n)) / scale > tol:
                wrong.append(key)
    wrong.sort()
    return wrong
''')]),
    Variant("fw-numpy-error", "the relative error in numpy; sorted() over a set; copies by torch.empty_like + copy_",
            [("find_wrong_grads", None, '''def find_wrong_grads(grads_fn, x, h0, params, targets, tol=1e-6):
    def copy64(t):
        out = torch.empty(t.shape, dtype=torch.float64, device=t.device)
        out.copy_(t)
        return out

    p = {k: copy64(v) for k, v in params.items()}
    start, xs, ts = copy64(h0), copy64(x), copy64(targets)

    def loss():
        ys = elman_forward(xs, start, p)[1]
        return 0.5 * torch.sum((ys - ts) * (ys - ts))

    grads = grads_fn(xs, start, p, ts)
    bad = set()
    for key, a in grads.items():
        n = numerical_grad(loss, start if key == "h0" else p[key])
        if tuple(a.shape) != tuple(n.shape):
            bad.add(key)
            continue
        a_, n_ = a.cpu().numpy(), n.cpu().numpy()
        rel = np.linalg.norm(a_ - n_) / max(np.linalg.norm(a_) + np.linalg.norm(n_), 1e-12)
        if rel > tol:
            bad.add(key)
    return sorted(bad)
''')]),
    Variant("grads-stacked-einsum", "every contribution from stacked deltas after the loop: einsum over time and batch",
            [("bptt_grads", None, '''def bptt_grads(x, h0, params, targets):
    hs, ys = elman_forward(x, h0, params)
    T = x.shape[0]
    prevs = torch.cat([h0[None], hs[:-1]], dim=0)
    es = ys - targets
    deltas = [None] * T
    d = torch.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        d = (es[t] @ params["W_y"] + d @ params["U_h"]) * (1 - hs[t] * hs[t])
        deltas[t] = d
    D = torch.stack(deltas)
    return {"W_h": torch.einsum("tnh,tnd->hd", D, x),
            "U_h": torch.einsum("tnh,tnk->hk", D, prevs),
            "b_h": D.sum(dim=(0, 1)),
            "W_y": torch.einsum("tno,tnh->oh", es, hs),
            "b_y": es.sum(dim=(0, 1)),
            "h0": D[0] @ params["U_h"]}
''')]),
    Variant("counts-formula-factored", "the counts factored: H (D + H + 1) + O (H + 1)", [
        ("n_params_shared", None, '''def n_params_shared(D, H, O, T):
    return H * (D + H + 1) + O * (H + 1)
'''),
        ("n_params_unshared", None, '''def n_params_unshared(D, H, O, T):
    total = O * (H + 1)
    for _ in range(T):
        total += H * (D + H + 1)
    return total
''')]),
    Variant("train-sub-in-place-own", "in-place sub_ with alpha on copies of its own; the loss from elman_forward's ys by a "
            "loop over time; a while loop", [("train_elman", None, '''def train_elman(x, h0, params, targets, lr, steps):
    theta = {}
    for name in ("W_h", "U_h", "b_h", "W_y", "b_y"):
        theta[name] = params[name].detach().clone()
    history = []
    k = 0
    while k < steps:
        ys = elman_forward(x, h0, theta)[1]
        value = 0.0
        for t in range(ys.shape[0]):
            value += 0.5 * float(torch.sum((ys[t] - targets[t]) ** 2))
        history.append(value)
        g = bptt_grads(x, h0, theta, targets)
        for name in theta:
            theta[name].sub_(g[name], alpha=lr)
        k += 1
    return theta, history
''')]),
    Variant("train-zip-norm", "the loss as ½‖·‖² by torch.linalg.norm; a list of (key, tensor) pairs; item()",
            [("train_elman", None, '''def train_elman(x, h0, params, targets, lr, steps):
    keys = list(params)
    values = [params[k] * 1.0 for k in keys]
    losses = []
    for step in range(steps):
        current = dict(zip(keys, values))
        hs, ys = elman_forward(x, h0, current)
        losses.append((0.5 * torch.linalg.norm((ys - targets).reshape(-1)) ** 2).item())
        grads = bptt_grads(x, h0, current, targets)
        values = [v - lr * grads[k] for k, v in zip(keys, values)]
    return dict(zip(keys, values)), losses
''')]),
    Variant("counts-numel", "counted from tensor shapes, as numpy ints turned into int", [
        ("n_params_shared", None, '''def n_params_shared(D, H, O, T):
    shapes = [(H, D), (H, H), (H,), (O, H), (O,)]
    return int(sum(np.prod(s) for s in shapes))
'''),
        ("n_params_unshared", None, '''def n_params_unshared(D, H, O, T):
    per_step = H * D + H * H + H
    return per_step * T + n_params_shared(D, H, O, T) - per_step
''')]),
    Variant("cell-in-place-own", "in-place arithmetic on a tensor of its own (a_t is new), never on an argument",
            [("elman_cell", None, '''def elman_cell(x_t, h_prev, params):
    a_t = x_t @ params["W_h"].T
    a_t += h_prev @ params["U_h"].T
    a_t += params["b_h"]
    return a_t.tanh_()''')]),
]
