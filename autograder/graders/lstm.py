"""The trusted reference and the helpers of the LSTM graders (03-lstm); judge side only.

Every student function is judged against torch itself where torch has the cell (``nn.LSTMCell``,
``nn.LSTM``, ``nn.GRUCell``, built here with exactly the weights the grader hands the student), and
against the formulas of the chapter where it has not (the peephole and the coupled input/forget gate
LSTM).  References run in float64 on the judge's side; the student's float32 results must agree to
round-off.  Known mistakes (gate order, reset gate before the matmul, ...) are computed too, only to
add a hint to a failure message: the verdict itself is always the comparison with the reference.

Letters for shapes: T time, N batch, D input size, H hidden size, L layers; gates stacked as 4H
(LSTM, chunks [i, f, g, o]), 3H (GRU, chunks [r, z, n]; coupled LSTM, chunks [f, g, o]).
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.messages import Message, msg, register, text
from autograder.submission import Handle
from autograder.toolkit import Fail, calling, differs, first_match, kind_of, mismatch, tensor, unpack

register({
    "lstm_ignores": ("只改變 {changed} 時，{what} 完全沒有改變（{reference} 卻改變了 {moved:.3g}）：{changed} 沒有被用到，"
                     "應為 {formula}",
                     "changing only {changed} left {what} unchanged ({reference} moved by {moved:.3g}): "
                     "{changed} is not used; it is {formula}"),
    "lstm_chunk": ("只改變第 {index} 塊（{gate}）的權重時，{what} 的變化與 {reference} 不同（最大誤差 {error:.3g}，"
                   "容許 {tolerance:.2g}）：四塊的順序應為 {order}，且每個門要用對的函數",
                   "changing only the weights of chunk {index} ({gate}) changed {what} differently from "
                   "{reference} (largest error {error:.3g}, tolerance {tolerance:.2g}): the chunks are in the "
                   "order {order}, each gate with its own function"),
    "lstm_hint_layers": ("提示：第 l 層用 layers[l] 的權重，以第 l − 1 層每個時間步的 h 為輸入（第 l > 0 層的 W_ih 是 (4H, H)）",
                         "hint: layer l uses the weights layers[l] and reads the h of layer l − 1 at every step "
                         "(W_ih of a layer l > 0 is (4H, H))"),
    # the book's example
    "lstm_book_module": ("rnn 應為 nn.LSTM(10, 20, 2)（batch_first=False），但它的 {attr} 是 {got}",
                         "rnn should be nn.LSTM(10, 20, 2) (batch_first=False), but its {attr} is {got}"),
    "lstm_book_run": ("{name} 不是 rnn(Input, (h0, c0)) 的結果（用你的 rnn 的權重重新計算，最大誤差 {error:.3g}，"
                      "容許 {tolerance:.2g}）",
                      "{name} is not what rnn(Input, (h0, c0)) computes (recomputed with your rnn's weights: "
                      "largest error {error:.3g}, tolerance {tolerance:.2g})"),
    "lstm_book_last_step_of": ("{what} 應等於該模型的 h_n[-1]（最上層在最後一個時間步的隱藏狀態），兩者卻相差 {error:.3g}",
                               "{what} should equal that model's h_n[-1] (the top layer's hidden state at the last "
                               "time step), they differ by {error:.3g}"),
    "lstm_book_shape": ("{name} 應為 {expected}，得到 {got}{hint}", "{name} should be {expected}, got {got}{hint}"),
    "lstm_hint_hn_batch_first": ("（batch_first 只影響 input 與 output；h_n、c_n 永遠是 (L, N, H)）",
                                 " (batch_first changes input and output only; h_n and c_n are always (L, N, H))"),
    # lstm_forward
    "lstm_forward_layer": ("{what}（第 {layer} 層，從 0 算起）", "{what} (layer {layer}, counting from 0)"),
    # coupled and GRU properties
    "lstm_coupled_open": ("遺忘門全開 (f ≈ 1) 時 c = f ⊙ c_prev + (1 − f) ⊙ g 應約等於 c_prev，卻相差 {error:.3g}"
                          "（容許 {tolerance:.2g}）",
                          "with the forget gate fully open (f ≈ 1), c = f ⊙ c_prev + (1 − f) ⊙ g should be about "
                          "c_prev, it differs by {error:.3g} (tolerance {tolerance:.2g})"),
    "lstm_coupled_closed": ("遺忘門全關 (f ≈ 0) 時 c 應約等於 g = tanh(W_ig x + b_ig + W_hg h + b_hg)，卻相差 "
                            "{error:.3g}（容許 {tolerance:.2g}）",
                            "with the forget gate fully closed (f ≈ 0), c should be about g = tanh(W_ig x + b_ig "
                            "+ W_hg h + b_hg), it differs by {error:.3g} (tolerance {tolerance:.2g})"),
    "lstm_gru_keep": ("更新門 z ≈ 1 時 h' = (1 − z) ⊙ n + z ⊙ h 應約等於 h_prev，卻相差 {error:.3g}（容許 {tolerance:.2g}）",
                      "with the update gate z ≈ 1, h' = (1 − z) ⊙ n + z ⊙ h should be about h_prev, it differs "
                      "by {error:.3g} (tolerance {tolerance:.2g})"),
    "lstm_gru_new": ("更新門 z ≈ 0 時 h' 應約等於候選狀態 n，卻相差 {error:.3g}（容許 {tolerance:.2g}）",
                     "with the update gate z ≈ 0, h' should be about the candidate n, it differs by {error:.3g} "
                     "(tolerance {tolerance:.2g})"),
    # hints: "；提示：…" / "; hint: …", added when the student's result matches a known mistake
    "lstm_hint": ("提示：你的結果與「{mistake}」相符", "hint: your result matches \"{mistake}\""),
})

SEPARATION = 1e-2         # a grader's own inputs must move the reference by at least this much

LSTM_GATES = [text("輸入門 i", "input gate i"), text("遺忘門 f", "forget gate f"),
              text("候選記憶 g", "cell candidate g"), text("輸出門 o", "output gate o")]
NO_HINT = Message()       # a hint field with nothing to say

# The known mistakes, for hints only: name → (Chinese, English).
MISTAKES = {
    "if_swapped": ("i 與 f 兩塊對調了（順序應為 [i, f, g, o]）", "the i and f chunks swapped (the order is [i, f, g, o])"),
    "o_tanh": ("輸出門用了 tanh（應為 sigmoid）", "tanh on the output gate (it is a sigmoid)"),
    "g_sigmoid": ("候選記憶 g 用了 sigmoid（應為 tanh）", "a sigmoid on the cell candidate g (it is tanh)"),
    "no_c_prev": ("c 沒有用到 c_prev（應為 c = f ⊙ c_prev + i ⊙ g）",
                  "c does not use c_prev (it is c = f ⊙ c_prev + i ⊙ g)"),
    "no_b_hh": ("少加了 b_hh", "b_hh not added"),
    "no_b_ih": ("少加了 b_ih", "b_ih not added"),
    "no_tanh_c": ("h = o ⊙ c，少了 tanh（應為 h = o ⊙ tanh(c)）", "h = o ⊙ c without the tanh (it is h = o ⊙ tanh(c))"),
    "o_peeks_c_prev": ("輸出門窺視了 c_prev（應窺視新的 c）", "the output gate peeks at c_prev (it peeks at the new c)"),
    "p_if_swapped": ("p_i 與 p_f 用反了", "p_i and p_f swapped"),
    "no_peepholes": ("忽略了窺視孔 p_i、p_f、p_o", "the peepholes p_i, p_f, p_o ignored"),
    "coupled_f_g": ("c = f ⊙ c_prev + f ⊙ g（應為 (1 − f) ⊙ g）", "c = f ⊙ c_prev + f ⊙ g (it is (1 − f) ⊙ g)"),
    "coupled_gfo": ("三塊的順序當成 [g, f, o]（應為 [f, g, o]）", "the chunks taken as [g, f, o] (they are [f, g, o])"),
    "gru_reset_before": ("重設門乘在矩陣乘法之前：W_hn (r ⊙ h)（torch 是 r ⊙ (W_hn h + b_hn)）",
                         "the reset gate applied before the matmul, W_hn (r ⊙ h) (torch: r ⊙ (W_hn h + b_hn))"),
    "gru_z_swapped": ("z 與 1 − z 對調：h' = z ⊙ n + (1 − z) ⊙ h（應為 (1 − z) ⊙ n + z ⊙ h）",
                      "z and 1 − z swapped: h' = z ⊙ n + (1 − z) ⊙ h (it is (1 − z) ⊙ n + z ⊙ h)"),
    "gru_b_hn_outside": ("b_hn 放在 r ⊙ (…) 外面：r ⊙ (W_hn h) + b_hn（應為 r ⊙ (W_hn h + b_hn)）",
                         "b_hn outside r ⊙ (…): r ⊙ (W_hn h) + b_hn (it is r ⊙ (W_hn h + b_hn))"),
    "stack_feeds_x": ("每一層都以 x 為輸入（第 l > 0 層的輸入應為第 l − 1 層每個時間步的 h）",
                      "every layer reads x (layer l > 0 reads the h of layer l − 1 at every step)"),
    "stack_first_weights": ("每一層都用了第 0 層的權重 layers[0]", "every layer uses layer 0's weights layers[0]"),
    "stack_first_state": ("每一層都從 h0[0]、c0[0] 出發（第 l 層應從 h0[l]、c0[l] 出發）",
                          "every layer starts from h0[0], c0[0] (layer l starts from h0[l], c0[l])"),
    "stack_first_output": ("output 取了第 0 層的 h（應為最上層）", "output taken from layer 0 (it is the top layer's h)"),
    "stack_batch_time": ("沿第 1 維（批次）而不是第 0 維（時間）前進", "stepping along dimension 1 (batch), not 0 (time)"),
}


# ------------------------------------------------------------------------------------ inputs

def uniform(*shape, scale: float) -> torch.Tensor:
    return (torch.rand(*shape) * 2 - 1) * scale


def cell_weights(d: int, h: int, chunks: int, scale: float = 0.6) -> tuple[torch.Tensor, ...]:
    """(W_ih (chunks·H, D), W_hh (chunks·H, H), b_ih, b_hh (chunks·H,)), float32."""
    return (uniform(chunks * h, d, scale=scale), uniform(chunks * h, h, scale=scale),
            uniform(chunks * h, scale=scale), uniform(chunks * h, scale=scale))


def cell_inputs(n: int, d: int, h: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (N, D), h_prev (N, H) in (-1, 1), c_prev (N, H), float32."""
    return torch.randn(n, d), uniform(n, h, scale=0.9), torch.randn(n, h)


def stack_weights(module: nn.LSTM) -> list[tuple[torch.Tensor, ...]]:
    """The weights of an nn.LSTM as the ``layers`` argument of lstm_forward: a list of L tuples."""
    return [tuple(getattr(module, f"{name}_l{layer}").detach().clone()
                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            for layer in range(module.num_layers)]


# ------------------------------------------------------------------------------------ references

def _f64(*tensors):
    return [t.detach().double() for t in tensors]


def lstm_cell_reference(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """nn.LSTMCell with these weights, in float64: (h, c)."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = _f64(x, h, c, w_ih, w_hh, b_ih, b_hh)
    cell = nn.LSTMCell(x.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(v)
        return cell(x, (h, c))


def lstm_reference(x, h0, c0, layers):
    """nn.LSTM(D, H, L) with these weights, in float64: (output, (h_n, c_n))."""
    x, h0, c0 = _f64(x, h0, c0)
    module = nn.LSTM(x.shape[2], h0.shape[2], len(layers)).double()
    with torch.no_grad():
        for layer, weights in enumerate(layers):
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights):
                getattr(module, f"{name}_l{layer}").copy_(value.double())
        return module(x, (h0, c0))


def gru_cell_reference(x, h, w_ih, w_hh, b_ih, b_hh):
    """nn.GRUCell with these weights, in float64: h'."""
    x, h, w_ih, w_hh, b_ih, b_hh = _f64(x, h, w_ih, w_hh, b_ih, b_hh)
    cell = nn.GRUCell(x.shape[1], h.shape[1]).double()
    with torch.no_grad():
        for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(v)
        return cell(x, h)


def lstm_formula(x, h, c, w_ih, w_hh, b_ih, b_hh, p_i=None, p_f=None, p_o=None, mistake=None):
    """The chapter's LSTM step in float64, with optional peepholes, or one of the known mistakes."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = _f64(x, h, c, w_ih, w_hh, b_ih, b_hh)
    zero = torch.zeros_like(c)
    p_i, p_f, p_o = (zero if p is None else p.double() for p in (p_i, p_f, p_o))
    if mistake == "p_if_swapped":
        p_i, p_f = p_f, p_i
    if mistake == "no_peepholes":
        p_i = p_f = p_o = zero
    a = x @ w_ih.T + (0 if mistake == "no_b_ih" else b_ih) + h @ w_hh.T + (0 if mistake == "no_b_hh" else b_hh)
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
    if mistake == "if_swapped":
        a_i, a_f = a_f, a_i
    i = torch.sigmoid(a_i + p_i * c)
    f = torch.sigmoid(a_f + p_f * c)
    g = torch.sigmoid(a_g) if mistake == "g_sigmoid" else torch.tanh(a_g)
    c_new = i * g + (0 if mistake == "no_c_prev" else f * c)
    peek = c if mistake == "o_peeks_c_prev" else c_new
    o = torch.tanh(a_o + p_o * peek) if mistake == "o_tanh" else torch.sigmoid(a_o + p_o * peek)
    h_new = o * c_new if mistake == "no_tanh_c" else o * torch.tanh(c_new)
    return h_new, c_new


def coupled_formula(x, h, c, w_ih, w_hh, b_ih, b_hh, mistake=None):
    """The coupled input/forget gate LSTM in float64: chunks [f, g, o], c = f ⊙ c_prev + (1 − f) ⊙ g."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = _f64(x, h, c, w_ih, w_hh, b_ih, b_hh)
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    a_f, a_g, a_o = a.chunk(3, dim=1)
    if mistake == "coupled_gfo":
        a_f, a_g = a_g, a_f
    f, g, o = torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c_new = f * c + (f if mistake == "coupled_f_g" else 1 - f) * g
    return o * torch.tanh(c_new), c_new


def gru_formula(x, h, w_ih, w_hh, b_ih, b_hh, mistake=None):
    """torch's GRU step in float64 (chunks [r, z, n]), or one of the known mistakes."""
    x, h, w_ih, w_hh, b_ih, b_hh = _f64(x, h, w_ih, w_hh, b_ih, b_hh)
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    w_hn, b_hn = w_hh.chunk(3, dim=0)[2], b_hh.chunk(3, dim=0)[2]
    if mistake == "gru_reset_before":
        n = torch.tanh(i_n + (r * h) @ w_hn.T + b_hn)
    elif mistake == "gru_b_hn_outside":
        n = torch.tanh(i_n + r * (h @ w_hn.T) + b_hn)
    else:
        n = torch.tanh(i_n + r * h_n)
    return z * n + (1 - z) * h if mistake == "gru_z_swapped" else (1 - z) * n + z * h


def gru_candidate(x, h, w_ih, w_hh, b_ih, b_hh):
    """n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) in float64."""
    x, h, w_ih, w_hh, b_ih, b_hh = _f64(x, h, w_ih, w_hh, b_ih, b_hh)
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    (i_r, _, i_n), (h_r, _, h_n) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
    return torch.tanh(i_n + torch.sigmoid(i_r + h_r) * h_n)


def stack_formula(x, h0, c0, layers, mistake=None):
    """lstm_forward's known mistakes, in float64, with the reference cell: (output, (h_n, c_n))."""
    if mistake == "stack_batch_time":
        x = x.transpose(0, 1)
    inputs, h_n, c_n, first = x, [], [], None
    for layer in range(len(layers)):
        weights = layers[0] if mistake == "stack_first_weights" else layers[layer]
        source = 0 if mistake == "stack_first_state" else layer
        h, c = h0[source], c0[source]
        steps = []
        for t in range(inputs.shape[0]):
            x_t = x[t] if mistake == "stack_feeds_x" else inputs[t]
            h, c = lstm_cell_reference(x_t, h, c, *weights)
            steps.append(h)
        inputs = torch.stack(steps)
        first = inputs if first is None else first
        h_n.append(h)
        c_n.append(c)
    output = first if mistake == "stack_first_output" else inputs
    if mistake == "stack_batch_time":
        output = output.transpose(0, 1)
    return output, (torch.stack(h_n), torch.stack(c_n))


# ------------------------------------------------------------------------------------ judging

def hints(formula, mistakes) -> list:
    """(hint, compute) for each known mistake of ``mistakes``: ``formula(mistake=m)`` computes it (for
    :func:`~autograder.toolkit.first_match`)."""
    return [(msg("lstm_hint", mistake=text(*MISTAKES[m])), lambda m=m: formula(mistake=m)) for m in mistakes]


def reference_name(reference) -> Message:
    """A reference's name: a (Chinese, English) pair, or code (nn.LSTMCell) run with the grader's weights."""
    if isinstance(reference, tuple):
        return text(*reference)
    return text(f" {reference}（相同的權重與輸入）", f"{reference} (same weights and inputs)")


def expect_results(got: list[torch.Tensor], expected: list[torch.Tensor], names: list[str], reference,
                   candidates=()) -> None:
    """Several results of one call against the reference; the hint looks at all of them together."""
    for g, e, name in zip(got, expected, names):
        m = mismatch(g, e)
        if m is not None:
            raise Fail(differs(name, m, reference_name(reference), first_match(got, candidates)))


def expect_cell(got: list[torch.Tensor], expected: list[torch.Tensor], what: str, reference, formula,
                mistakes=()) -> None:
    """A cell's results (``[h, c]``, or ``[h]`` for a GRU) against the reference; ``formula(mistake=m)``
    computes each known mistake of ``mistakes`` for the hint."""
    names = [f"{what}: h", f"{what}: c"] if len(got) == 2 else [what]
    expect_results(got, expected, names, reference, hints(formula, mistakes))




def cell_result(nb, blank: str, args: tuple, what: str, h: torch.Tensor, c: torch.Tensor | None = None):
    """The student's cell ``blank(*args)`` as judge-side tensors: ``[h, c]`` (a pair, each (N, H),
    float32) where there is a cell state ``c``, else ``[h]``."""
    with calling(blank):
        result = getattr(nb, blank)(*args)
    if c is None:
        return [tensor(result, what, tuple(h.shape))]
    got_h, got_c = unpack(result, what, ("h", "c"))
    return [tensor(got_h, f"{what}: h", tuple(h.shape)), tensor(got_c, f"{what}: c", tuple(c.shape))]


def cell_label(blank: str, n: int, d: int, h: int) -> str:
    return f"{blank} (N={n}, D={d}, H={h})"


def cell_case(blank: str, size: tuple, chunks: int):
    """For a size (N, D, H): (x, h_prev, c_prev, weights of ``chunks`` gates, the case's label)."""
    n, d, h = size
    return (*cell_inputs(n, d, h), cell_weights(d, h, chunks), cell_label(blank, n, d, h))


def cell_cases(blank: str, sizes, chunks: int):
    """:func:`cell_case` for each size of ``sizes``."""
    return [cell_case(blank, size, chunks) for size in sizes]


def with_bias(weights: tuple, h: int, chunk: int, bias: float) -> tuple:
    """A copy of ``weights`` with ``bias`` added to b_ih of gate ``chunk`` (rows chunk·H to (chunk + 1)·H):
    a bias of ±40 holds that gate's sigmoid at 1 or 0 to float32 round-off."""
    w_ih, w_hh, b_ih, b_hh = (w.clone() for w in weights)
    b_ih[chunk * h:(chunk + 1) * h] += bias
    return w_ih, w_hh, b_ih, b_hh


def shape_of(nb, value):
    """A shape answer as a tuple of Python ints where it is one (a tuple or list of ints, or a torch.Size,
    which stays in the worker), else what it is, for messages: exactly what the public check accepts."""
    if isinstance(value, Handle):
        if value.kind != "Size":
            return kind_of(value)
        value = nb.torch.tensor(value)          # bring the Size's numbers back as a tensor
        return tuple(int(v) for v in value.tolist()) if isinstance(value, torch.Tensor) else "torch.Size"
    if type(value) in (tuple, list) and all(type(item) is int for item in value):
        return tuple(value)
    return repr(value)[:80] if type(value) in (int, float, str, bool) else kind_of(value)


# ==================================================================================== the long-range experiment
# adding_problem(n, T, generator) → (x (n, T, 2), y (n,)); hidden_grad_norms(model, x, y) → (T,);
# train_task(model, batches, lr, max_norm) → one loss per batch. The model is the notebook's TaskNet: one
# recurrent layer (nn.RNN, nn.LSTM or nn.GRU, batch_first=True, zero initial state) and a linear head that
# reads the last step's h: prediction (N,) = head(h_T); the loss is L = mean((prediction − y)²).

register({
    # adding_problem
    "lstm_adding_values": ("{what}：x[:, :, 0] 應是 [0, 1) 之間的亂數（torch.rand），得到最小 {low:.4g}、最大 {high:.4g}",
                           "{what}: x[:, :, 0] should hold random numbers in [0, 1) (torch.rand), got minimum "
                           "{low:.4g} and maximum {high:.4g}"),
    "lstm_adding_markers": ("{what}：序列 {row} 的標記 x[{row}, :, 1] 應恰好有兩個 1（位置 0 … {last_first} 一個、"
                            "位置 {half} … {last} 一個），其餘是 0；得到 {got}",
                            "{what}: the markers x[{row}, :, 1] of sequence {row} should hold exactly two ones (one "
                            "at a position 0 … {last_first}, one at {half} … {last}) and zeros elsewhere; got {got}"),
    "lstm_adding_positions": ("{what}：{n} 個序列裡，{which}的標記從未出現在位置 {missing}：標記的位置要在那一半裡均勻隨機抽取"
                              "（torch.randint(..., generator=generator)）",
                              "{what}: in {n} sequences the {which} marker never sat at position {missing}: each "
                              "marker's position is drawn uniformly from its half (torch.randint(..., "
                              "generator=generator))"),
    "lstm_adding_first": ("第一個（前半段）", "first (first-half)"),
    "lstm_adding_second": ("第二個（後半段）", "second (second-half)"),
    "lstm_adding_uniform": ("{what}：x[:, :, 0] 的 {n} 個數平均為 {mean:.3f}、最小 {low:.3g}、最大 {high:.3g}，"
                            "不像 [0, 1) 上的均勻分布 (uniform distribution)（torch.rand）",
                            "{what}: the {n} numbers of x[:, :, 0] have mean {mean:.3f}, minimum {low:.3g} and "
                            "maximum {high:.3g}: not uniform on [0, 1) (torch.rand)"),
    "lstm_adding_rule": ("兩個被標記的數的和（x[:, :, 0] · x[:, :, 1] 沿時間加總）",
                         "the sum of the two marked numbers (x[:, :, 0] · x[:, :, 1] summed over time)"),
    "lstm_first_call": ("第一次呼叫的結果", "the first call's result"),
    "lstm_same_seed": ("兩個種子相同 ({seed}) 的 generator 給了不同的 {what}：所有亂數都要從傳入的 generator 取",
                       "two generators with the same seed ({seed}) gave different {what}: every random number "
                       "comes from the generator passed in"),
    "lstm_seed_ignored": ("種子 {first} 與 {second} 的 generator 給了相同的 {what}：亂數沒有從傳入的 generator 取",
                          "generators seeded {first} and {second} gave the same {what}: the random numbers do not "
                          "come from the generator passed in"),
    "lstm_global_rng": ("{what} 改變了 PyTorch 全域亂數產生器的狀態 (torch.get_rng_state())：所有亂數都只能從傳入的 "
                        "generator 取（torch.rand(..., generator=generator)、torch.randint(..., generator=generator)）",
                        "{what} changed the state of PyTorch's global random generator (torch.get_rng_state()): "
                        "every random number comes from the generator passed in (torch.rand(..., "
                        "generator=generator), torch.randint(..., generator=generator))"),
    "lstm_generator_unused": ("{what} 沒有用到傳入的 generator（它的狀態沒有改變）",
                              "{what} did not use the generator passed in (its state did not change)"),
    # hidden_grad_norms
    "lstm_norms_reference": ("逐步展開後對每一步的 h_k 取的梯度 ∂L/∂h_k 的範數（相同的權重與資料）",
                             "the norms of ∂L/∂h_k, the gradient at each step's h_k of the unrolled network (same "
                             "weights and data)"),
    "lstm_grads_left": ("{what} 之後，模型參數 {names} 的 .grad 不是 None：不可以留下梯度（用 torch.autograd.grad，或在 "
                        "backward 之後 model.zero_grad(set_to_none=True)）",
                        "after {what} the parameters {names} of the model have a .grad: leave none behind (use "
                        "torch.autograd.grad, or model.zero_grad(set_to_none=True) after backward)"),
    # train_task
    "lstm_train_len": ("{what} 應回傳 {n} 個損失（每個批次一個），得到 {got} 個",
                       "{what} should return {n} losses (one per batch), got {got}"),
    "lstm_train_floats": ("{what} 應回傳 Python float 的串列，第 {index} 個是 {got}",
                          "{what} should return a list of Python floats, item {index} is {got}"),
    "lstm_train_vs_reference": ("從相同的初始權重、相同的批次出發，{what} 第 {step} 個批次的損失應為 {expected:.6f}"
                                "（Adam、均方誤差、clip_grad_norm_(..., max_norm)、每個批次更新一次），得到 {got:.6f}"
                                "（相對容許誤差 {tolerance:g}）",
                                "from the same initial weights and batches, {what} should give the loss {expected:.6f} "
                                "on batch {step} (Adam, mean squared error, clip_grad_norm_(..., max_norm), one update "
                                "per batch), got {got:.6f} (relative tolerance {tolerance:g})"),
    "lstm_train_weights": ("{what} 之後，模型的權重與參考訓練的結果不同（最大誤差 {error:.3g}，容許 {tolerance:g}）",
                           "after {what} the model's weights differ from the reference training's (largest error "
                           "{error:.3g}, tolerance {tolerance:g})"),
    "lstm_train_unchanged": ("{what} 之後，傳入的 model 的權重沒有改變：要訓練的是傳進來的 model",
                             "after {what} the weights of the model passed in are unchanged: train the model you "
                             "are given"),
    "lstm_train_not_solved": ("用你的 train_task 訓練 LSTM（H = {hidden}，T = {T}，{steps} 個批次、每批 {n}，lr = {lr:g}，"
                              "max_norm = {max_norm:g}；種子 {seeds}）後，新資料上的均方誤差 (MSE) 最好只到 {best:.4f}，"
                              "應低於 {threshold:g}（只猜平均數是 0.167）",
                              "an LSTM trained by your train_task (H = {hidden}, T = {T}, {steps} batches of {n}, "
                              "lr = {lr:g}, max_norm = {max_norm:g}; seeds {seeds}) reaches a mean squared error of "
                              "{best:.4f} at best on new data; it should be below {threshold:g} (guessing the mean "
                              "gives 0.167)"),
})

MISTAKES.update({
    "adding_product": ("y 是兩個被標記的數的乘積（應為和）", "y is the product of the two marked numbers (it is their sum)"),
    "adding_all": ("y 是整個序列所有數的和（應只加被標記的兩個）", "y sums every number of the sequence (only the two marked ones)"),
    "adding_first": ("y 只有前半段被標記的那個數（應為兩個的和）", "y is only the first-half marked number (it is the sum of both)"),
    "norms_output_only": ("對整段序列呼叫一次 model.rnn 再取 output 的梯度：L 只透過最後一步的 output 用到它，其他步都是 0；"
                          "h_k 是經過 h_{k+1} 影響 L 的，要逐步展開，對每一步帶到下一步的狀態 h_k 取梯度",
                          "the gradient of output from one call over the whole sequence: L uses output only at the "
                          "last step, so every other step is 0; h_k reaches L through h_{k+1}: unroll step by step and "
                          "take the gradient at the state h_k carried to the next step"),
    "norms_reversed": ("順序反了：第 k − 1 個元素應為 ‖∂L/∂h_k‖（k = 1 是第一步）",
                       "the order is reversed: item k − 1 is ‖∂L/∂h_k‖ (k = 1 is the first step)"),
    "norms_sum_loss": ("損失用了總和 sum((prediction − y)²)（應為平均 mean）",
                       "the loss summed, sum((prediction − y)²) (it is the mean)"),
    "norms_per_sample": ("每個樣本各取範數再平均（應為整個 (N, H) 梯度的範數）",
                         "a norm per sample, then their mean (it is the norm of the whole (N, H) gradient)"),
    "norms_cell_state": ("LSTM 取了記憶細胞 c_k 的梯度（應為隱藏狀態 h_k）",
                         "the LSTM's cell state c_k (it is the hidden state h_k)"),
    "norms_input_grad": ("取了輸入 x_k 的梯度（應為隱藏狀態 h_k）", "the gradient at the input x_k (it is the hidden state h_k)"),
    "train_no_zero_grad": ("沒有在每個批次前 optimizer.zero_grad()：梯度一直累加",
                           "no optimizer.zero_grad() before each batch: the gradients pile up"),
    "train_no_clip": ("沒有梯度裁剪（loss.backward() 之後、optimizer.step() 之前 nn.utils.clip_grad_norm_(model.parameters(), "
                      "max_norm)）",
                      "no gradient clipping (nn.utils.clip_grad_norm_(model.parameters(), max_norm) after "
                      "loss.backward(), before optimizer.step())"),
    "train_new_optimizer": ("每個批次都重新建立 Adam（它的動量 (momentum) 因此每一步都歸零；最佳化器只在迴圈之前建立一次）",
                            "a new Adam for every batch (its momentum starts from zero each step; create the optimizer "
                            "once, before the loop)"),
    "train_sum_loss": ("損失用了總和（應為均方誤差 mean）", "the loss summed (it is the mean squared error)"),
})

KINDS = ("RNN", "LSTM", "GRU")
TASK_INPUTS = 2                   # the adding problem's two channels: the numbers and the markers

# The notebook's TaskNet, made in the worker by the graders and the public checks (nb.define), so that a
# notebook that redefines it is judged on the model of the contract; ``task_net(kind, H, state)`` loads
# the grader's weights into it.
TASK_NET = """
import torch
from torch import nn


class TaskNet(nn.Module):
    def __init__(self, kind, hidden_size, input_size=2):
        super().__init__()
        self.rnn = kind(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def task_net(kind, hidden_size, state=None):
    model = TaskNet(getattr(nn, kind), hidden_size)
    if state is not None:
        model.load_state_dict(state)
    return model
"""

GRADS_LEFT = """
def parameters_with_grad(model):
    return [name for name, p in model.named_parameters() if p.grad is not None]
"""


class TaskNet(nn.Module):
    """The judge's twin of the notebook's TaskNet."""

    def __init__(self, kind: str, hidden: int, inputs: int = TASK_INPUTS):
        super().__init__()
        self.rnn = getattr(nn, kind)(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def task_state(kind: str, hidden: int, scale: float | None = None) -> dict:
    """Weights for a TaskNet, float32, from the judge's generator: nn's own initialisation, or uniform in
    ±scale/√H (a plain RNN with a larger W_hh vanishes less, so that every step's norm matters)."""
    model = TaskNet(kind, hidden)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if scale is not None:
        for key in state:
            if key.startswith("rnn."):
                state[key] = uniform(*state[key].shape, scale=scale / hidden ** 0.5)
    return state


def task_twin(kind: str, state: dict, dtype=torch.float32) -> TaskNet:
    hidden = state["head.weight"].shape[1]
    model = TaskNet(kind, hidden).to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    return model


def worker_task_net(nb, kind: str, state: dict) -> Handle:
    """TaskNet(kind, H) in the worker with exactly these weights (on the CPU)."""
    return nb.define("task_net", TASK_NET)(kind, int(state["head.weight"].shape[1]), state)


def adding_batch(n: int, T: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The judge's own adding problem (its draws need not be the student's): x (n, T, 2), y (n,)."""
    values = torch.rand(n, T, generator=generator)
    first = torch.randint(0, T // 2, (n,), generator=generator)
    second = torch.randint(T // 2, T, (n,), generator=generator)
    rows = torch.arange(n)
    markers = torch.zeros(n, T)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=2), values[rows, first] + values[rows, second]


def adding_target(x: torch.Tensor, mistake=None) -> torch.Tensor:
    """y for the numbers and markers of x, in float64: the rule, or one of its known mistakes."""
    values, markers = x[..., 0].double(), x[..., 1].double()
    if mistake == "adding_product":
        return torch.where(markers > 0.5, values, torch.ones_like(values)).prod(dim=1)
    if mistake == "adding_all":
        return values.sum(dim=1)
    if mistake == "adding_first":
        half = x.shape[1] // 2
        return (values[:, :half] * markers[:, :half]).sum(dim=1)
    return (values * markers).sum(dim=1)


def grad_norms_reference(kind: str, state: dict, x: torch.Tensor, y: torch.Tensor, mistake=None) -> torch.Tensor:
    """‖∂L/∂h_k‖ for k = 1 … T in float64: the layer's weights in its *Cell, unrolled, one autograd.grad at
    every step's state; or one of the known mistakes."""
    model = task_twin(kind, state, torch.float64)
    x, y = x.double().requires_grad_(mistake == "norms_input_grad"), y.double()
    cell = getattr(nn, f"{kind}Cell")(x.shape[2], model.rnn.hidden_size).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model.rnn, f"{name}_l0"))
    h = x.new_zeros(x.shape[0], model.rnn.hidden_size)
    c = torch.zeros_like(h)
    hs, cs = [], []
    for t in range(x.shape[1]):
        if kind == "LSTM":
            h, c = cell(x[:, t], (h, c))
            cs.append(c)
        else:
            h = cell(x[:, t], h)
        hs.append(h)
    prediction = model.head(h).squeeze(-1)
    loss = ((prediction - y) ** 2).sum() if mistake == "norms_sum_loss" else ((prediction - y) ** 2).mean()
    if mistake == "norms_input_grad":
        (grad,) = torch.autograd.grad(loss, x)
        return grad.norm(dim=(0, 2))
    grads = torch.autograd.grad(loss, cs if mistake == "norms_cell_state" else hs)
    if mistake == "norms_per_sample":
        return torch.stack([g.norm(dim=1).mean() for g in grads])
    norms = torch.stack([g.norm() for g in grads]).detach()
    if mistake == "norms_reversed":
        return norms.flip(0)
    if mistake == "norms_output_only":
        norms[:-1] = 0
    return norms


def train_reference(kind: str, state: dict, batches, lr: float, max_norm: float, mistake=None):
    """train_task's reference in float32: (losses, final weights). Adam (torch's, step for step: the char-RNN
    graders' own copy), mean squared error, clip_grad_norm_ between backward and step; or a known mistake."""
    from autograder.graders.char_rnn import Adam

    model = task_twin(kind, state)
    optimizer = Adam(model.parameters(), lr=lr)
    losses = []
    for x, y in batches:
        if mistake == "train_new_optimizer":
            optimizer = Adam(model.parameters(), lr=lr)
        if mistake != "train_no_zero_grad":
            optimizer.zero_grad()
        error = (model(x) - y) ** 2
        loss = error.sum() if mistake == "train_sum_loss" else error.mean()
        loss.backward()
        if mistake != "train_no_clip":
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}


def task_mse(kind: str, state: dict, x: torch.Tensor, y: torch.Tensor) -> float:
    """The mean squared error of a TaskNet with these weights on (x, y), on the judge's side."""
    with torch.no_grad():
        return float(((task_twin(kind, state, torch.float64)(x.double()) - y.double()) ** 2).mean())
