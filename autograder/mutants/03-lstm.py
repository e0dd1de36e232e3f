"""Mutants (realistic student mistakes) and valid variants of the 03-lstm solution.

``course validate 03-lstm`` applies each one to the master notebook's solution cells and grades
the result: every mutant must lose points on the blank it names (``loses``), every variant must keep
full marks.  An edit ``(cell, old, new)`` replaces the text ``old``, which must occur exactly once in
that solution cell; ``old=None`` replaces the whole cell.
"""

from autograder.validate import Mutant, Variant

# the book's example, as every rewrite of blank 1 keeps it
BOOK_RUN = """rnn = nn.LSTM(10, 20, 2)
torch.manual_seed(1010)
Input = torch.randn(5, 3, 10)
h0 = torch.randn(2, 3, 20)
c0 = torch.randn(2, 3, 20)
output, (hn, cn) = rnn(Input, (h0, c0))
"""

MUTANTS = [
    # ------------------------------------------------------------------ book_example
    Mutant("book-comment-believed", "believes the book's comment: batch on dimension 0, time on 1, without batch_first",
           [("book_example", "input_shape = (N, T, D) if batch_first else (T, N, D)",
             "input_shape = (T, N, D) if batch_first else (N, T, D)"),
            ("book_example", "output_shape = (N, T, H) if batch_first else (T, N, H)",
             "output_shape = (T, N, H) if batch_first else (N, T, H)")],
           loses="book_example"),
    Mutant("hn-follows-batch-first", "thinks h_n and c_n follow batch_first: (N, L, H)",
           [("book_example", '"h_n": (L, N, H), "c_n": (L, N, H)}',
             '"h_n": (N, L, H) if batch_first else (L, N, H), "c_n": (N, L, H) if batch_first else (L, N, H)}')],
           loses="book_example"),
    Mutant("last-step-first", "takes output's first time step, output[0]",
           [("book_example", "return output[:, -1] if batch_first else output[-1]",
             "return output[:, 0] if batch_first else output[0]")],
           loses="book_example"),
    Mutant("last-step-ignores-layout", "output[-1] whatever the layout (with batch_first that is the last sequence)",
           [("book_example", "return output[:, -1] if batch_first else output[-1]", "return output[-1]")],
           loses="book_example"),
    Mutant("book-batch-first-model", "builds the book's model with batch_first=True",
           [("book_example", "rnn = nn.LSTM(10, 20, 2) ", "rnn = nn.LSTM(10, 20, 2, batch_first=True) ")],
           loses="book_example"),
    Mutant("batch-first-input-unchanged", "thinks batch_first changes only the output",
           [("book_example", "input_shape = (N, T, D) if batch_first else (T, N, D)", "input_shape = (T, N, D)")],
           loses="book_example"),
    Mutant("book-one-layer", "nn.LSTM(10, 20) with one layer (the 2 read as something else)",
           [("book_example", "rnn = nn.LSTM(10, 20, 2) ", "rnn = nn.LSTM(10, 20) "),
            ("book_example", "h0 = torch.randn(2, 3, 20)", "h0 = torch.randn(1, 3, 20)"),
            ("book_example", "c0 = torch.randn(2, 3, 20)", "c0 = torch.randn(1, 3, 20)")],
           loses="book_example"),
    Mutant("book-lowercase-input", "the PyTorch docs' lowercase input instead of the book's Input",
           [("book_example", "Input = torch.randn(5, 3, 10)", "input = torch.randn(5, 3, 10)"),
            ("book_example", "rnn(Input, (h0, c0))", "rnn(input, (h0, c0))")],
           loses="book_example"),
    Mutant("book-shapes-hard-coded", "the book's own shapes typed in, whatever the sizes asked",
           [("book_example", "    input_shape = (N, T, D) if batch_first else (T, N, D)",
             "    T, N, D, H, L = 5, 3, 10, 20, 2\n    input_shape = (N, T, D) if batch_first else (T, N, D)")],
           loses="book_example"),
    # ------------------------------------------------------------------ lstm_cell
    Mutant("cell-if-swapped", "the i and f chunks exchanged",
           [("lstm_cell", "i = torch.sigmoid(gates[:, 0 * H:1 * H])", "i = torch.sigmoid(gates[:, 1 * H:2 * H])"),
            ("lstm_cell", "f = torch.sigmoid(gates[:, 1 * H:2 * H])", "f = torch.sigmoid(gates[:, 0 * H:1 * H])")],
           loses="lstm_cell"),
    Mutant("cell-o-tanh", "tanh where the output gate's sigmoid belongs",
           [("lstm_cell", "o = torch.sigmoid(", "o = torch.tanh(")], loses="lstm_cell"),
    Mutant("cell-g-sigmoid", "sigmoid instead of tanh for the cell candidate g",
           [("lstm_cell", "g = torch.tanh(", "g = torch.sigmoid(")], loses="lstm_cell"),
    Mutant("cell-new-c", "c computed from c (new) instead of c_prev: the forget gate's input is lost",
           [("lstm_cell", "    c = f * c_prev + i * g", "    c = i * g\n    c = f * c + i * g")], loses="lstm_cell"),
    Mutant("cell-no-b-hh", "the hidden bias b_hh not added",
           [("lstm_cell", " + h_prev @ W_hh.T + b_hh", " + h_prev @ W_hh.T")], loses="lstm_cell"),
    Mutant("cell-no-tanh-c", "h = o ⊙ c, without the tanh",
           [("lstm_cell", "h = o * torch.tanh(c)", "h = o * c")], loses="lstm_cell"),
    Mutant("cell-hard-coded-h", "H hard-coded to the book's 20",
           [("lstm_cell", "H = h_prev.shape[1]", "H = 20")], loses="lstm_cell"),
    # ------------------------------------------------------------------ lstm_forward
    Mutant("forward-feeds-x", "every layer reads x instead of the layer below's h",
           [("lstm_forward", "lstm_cell(inputs[t], h, c,", "lstm_cell(x[t], h, c,")], loses="lstm_forward"),
    Mutant("forward-layer0-weights", "the layer-0 weights for every layer",
           [("lstm_forward", "for l, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):",
             "for l in range(len(layers)):\n        W_ih, W_hh, b_ih, b_hh = layers[0]")], loses="lstm_forward"),
    Mutant("forward-first-state", "every layer starts from h0[0], c0[0]",
           [("lstm_forward", "h, c = h0[l], c0[l]", "h, c = h0[0], c0[0]")], loses="lstm_forward"),
    Mutant("forward-first-output", "output taken from the first layer",
           [("lstm_forward", "        inputs = outputs ", "        if l == 0:\n            first = outputs\n        inputs = outputs "),
            ("lstm_forward", "return outputs, (h_n, c_n)", "return first, (h_n, c_n)")], loses="lstm_forward"),
    Mutant("forward-batch-time-swapped", "loops over dimension 1, taking it for time",
           [("lstm_forward", "for t in range(T):", "for t in range(N):"),
            ("lstm_forward", "lstm_cell(inputs[t], h, c,", "lstm_cell(inputs[:, t], h, c,"),
            ("lstm_forward", "outputs[t] = h", "outputs[:, t] = h")],
           loses="lstm_forward"),
    Mutant("peephole-o-sees-c-prev", "the output gate peeks at c_prev instead of the new c",
           [("peephole_cell", "+ p_o * c)", "+ p_o * c_prev)")], loses="peephole_cell"),
    Mutant("peephole-p-f-on-input", "p_f applied to the input gate (and p_i to the forget gate)",
           [("peephole_cell", "i = torch.sigmoid(gates[:, 0 * H:1 * H] + p_i * c_prev)",
             "i = torch.sigmoid(gates[:, 0 * H:1 * H] + p_f * c_prev)"),
            ("peephole_cell", "f = torch.sigmoid(gates[:, 1 * H:2 * H] + p_f * c_prev)",
             "f = torch.sigmoid(gates[:, 1 * H:2 * H] + p_i * c_prev)")], loses="peephole_cell"),
    Mutant("peephole-ignored", "the peepholes ignored: a plain LSTM",
           [("peephole_cell", " + p_i * c_prev)", ")"), ("peephole_cell", " + p_f * c_prev)", ")"),
            ("peephole_cell", " + p_o * c)", ")")], loses="peephole_cell"),
    Mutant("coupled-f-times-g", "c = f ⊙ c_prev + f ⊙ g",
           [("coupled_cell", "c = f * c_prev + (1 - f) * g", "c = f * c_prev + f * g")], loses="coupled_cell"),
    Mutant("coupled-gfo-order", "the chunks read as [g, f, o]",
           [("coupled_cell", "f = torch.sigmoid(gates[:, 0 * H:1 * H])", "f = torch.sigmoid(gates[:, 1 * H:2 * H])"),
            ("coupled_cell", "g = torch.tanh(gates[:, 1 * H:2 * H])", "g = torch.tanh(gates[:, 0 * H:1 * H])")],
           loses="coupled_cell"),
    Mutant("coupled-input-is-f", "c = (1 − f) ⊙ c_prev + f ⊙ g (the roles of f and 1 − f exchanged)",
           [("coupled_cell", "c = f * c_prev + (1 - f) * g", "c = (1 - f) * c_prev + f * g")], loses="coupled_cell"),
    # ------------------------------------------------------------------ gru_cell
    Mutant("gru-reset-before-matmul", "n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn): r before the matmul",
           [("gru_cell", "n = torch.tanh(gi[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H])",
             "n = torch.tanh(gi[:, 2 * H:3 * H] + (r * h_prev) @ W_hh[2 * H:3 * H].T + b_hh[2 * H:3 * H])")],
           loses="gru_cell"),
    Mutant("gru-z-swapped", "h' = z ⊙ n + (1 − z) ⊙ h",
           [("gru_cell", "h = (1 - z) * n + z * h_prev", "h = z * n + (1 - z) * h_prev")], loses="gru_cell"),
    Mutant("gru-b-hn-outside", "b_hn outside the reset: r ⊙ (W_hn h) + b_hn",
           [("gru_cell", "r * gh[:, 2 * H:3 * H])", "r * (h_prev @ W_hh[2 * H:3 * H].T) + b_hh[2 * H:3 * H])")],
           loses="gru_cell"),
    Mutant("gru-summed-gates", "gi + gh summed first: the reset gate multiplies nothing of the hidden part",
           [("gru_cell", "n = torch.tanh(gi[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H])",
             "n = torch.tanh(r * (gi[:, 2 * H:3 * H] + gh[:, 2 * H:3 * H]))")], loses="gru_cell"),
    # ------------------------------------------------------------------ changing what the caller passed in
    Mutant("cell-c-prev-in-place", "updates the cell state in c_prev's memory: c = c_prev.mul_(f).add_(i * g)",
           [("lstm_cell", "    c = f * c_prev + i * g", "    c = c_prev.mul_(f).add_(i * g)")], loses="lstm_cell"),
    Mutant("forward-h0-c0-as-buffers", "writes h_n and c_n into h0 and c0 (each layer reads its start first)",
           [("lstm_forward", "    h_n = torch.zeros_like(h0)\n    c_n = torch.zeros_like(c0)", "    h_n, c_n = h0, c0")],
           loses="lstm_forward"),
    Mutant("coupled-c-prev-in-place", "the coupled cell's c in c_prev's memory",
           [("coupled_cell", "    c = f * c_prev + (1 - f) * g", "    c = c_prev.mul_(f).add_((1 - f) * g)")],
           loses="coupled_cell"),
    Mutant("gru-h-prev-in-place", "h' accumulated into h_prev: h_prev.mul_(z).add_((1 - z) * n)",
           [("gru_cell", "    h = (1 - z) * n + z * h_prev", "    h = h_prev.mul_(z).add_((1 - z) * n)")],
           loses="gru_cell"),
    # ------------------------------------------------------------------ legal but extreme inputs
    Mutant("cell-sigmoid-by-exp", "the input gate's sigmoid written as e^a/(1 + e^a): NaN once a > 88",
           [("lstm_cell", "i = torch.sigmoid(gates[:, 0 * H:1 * H])",
             "i = torch.exp(gates[:, 0 * H:1 * H]) / (1 + torch.exp(gates[:, 0 * H:1 * H]))")], loses="lstm_cell"),
    Mutant("gru-tanh-by-exp", "the candidate's tanh written with exponentials: NaN once |a| > 88",
           [("gru_cell", "    n = torch.tanh(gi[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H])",
             "    a = gi[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H]\n    n = (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))")],
           loses="gru_cell"),
    Mutant("coupled-tanh-c-by-exp", "tanh(c) written with exponentials: NaN once |c| > 88",
           [("coupled_cell", "    h = o * torch.tanh(c)",
             "    h = o * (torch.exp(c) - torch.exp(-c)) / (torch.exp(c) + torch.exp(-c))")], loses="coupled_cell"),
    # ------------------------------------------------------------------ answers of the wrong type
    Mutant("shapes-as-arrays", "shapes as numpy arrays, not tuples of ints",
           [("book_example", 'return {"input": input_shape, "output": output_shape,',
             'return {"input": np.array(input_shape), "output": np.array(output_shape),')],
           loses="book_example"),
    # ------------------------------------------------------------------ adding_problem
    Mutant("adding-product", "y the product of the two marked numbers",
           [("adding_problem", "y = values[rows, first] + values[rows, second]",
             "y = values[rows, first] * values[rows, second]")], loses="adding_problem"),
    Mutant("adding-global-rng", "the numbers drawn from the global RNG (torch.rand without generator=)",
           [("adding_problem", "values = torch.rand(n, T, generator=generator)", "values = torch.rand(n, T)")],
           loses="adding_problem"),
    Mutant("adding-second-anywhere", "the second marker anywhere in the sequence (it may fall on the first)",
           [("adding_problem", "second = torch.randint(half, T, (n,), generator=generator)",
             "second = torch.randint(0, T, (n,), generator=generator)")], loses="adding_problem"),
    Mutant("adding-fixed-positions", "the markers always at the first and the last step",
           [("adding_problem", "first = torch.randint(0, half, (n,), generator=generator)",
             "first = torch.zeros(n, dtype=torch.long)"),
            ("adding_problem", "second = torch.randint(half, T, (n,), generator=generator)",
             "second = torch.full((n,), T - 1)")], loses="adding_problem"),
    # ------------------------------------------------------------------ hidden_grad_norms
    Mutant("norms-output-gradient", "one call over the whole sequence, the gradient of output[:, k] for h_k",
           [("hidden_grad_norms", None, """def hidden_grad_norms(model, x, y):
    output, _ = model.rnn(x)
    output.retain_grad()
    prediction = model.head(output[:, -1]).squeeze(-1)
    loss = ((prediction - y) ** 2).mean()
    loss.backward()
    model.zero_grad(set_to_none=True)
    return output.grad.norm(dim=(0, 2))
""")], loses="hidden_grad_norms"),
    Mutant("norms-reversed", "the norms in reverse order (k = T first)",
           [("hidden_grad_norms", "    return norms", "    return norms.flip(0)")], loses="hidden_grad_norms"),
    Mutant("norms-sum-loss", "the loss summed over the batch instead of its mean",
           [("hidden_grad_norms", "loss = ((prediction - y) ** 2).mean()", "loss = ((prediction - y) ** 2).sum()")],
           loses="hidden_grad_norms"),
    Mutant("norms-grad-left", "loss.backward() leaves .grad on the parameters (no zero_grad)",
           [("hidden_grad_norms", "    model.zero_grad(set_to_none=True)                      # 不留下參數的 .grad\n", "")],
           loses="hidden_grad_norms"),
    # ------------------------------------------------------------------ train_task
    Mutant("train-no-zero-grad", "no optimizer.zero_grad(): the gradients pile up",
           [("train_task", "        optimizer.zero_grad()\n", "")], loses="train_task"),
    Mutant("train-no-clip", "no gradient clipping",
           [("train_task", "        nn.utils.clip_grad_norm_(model.parameters(), max_norm)     # 梯度裁剪：backward 之後、step 之前\n",
             "")], loses="train_task"),
    Mutant("train-optimizer-per-batch", "a new Adam for every batch",
           [("train_task", "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)       # 只在迴圈之前建立一次\n", ""),
            ("train_task", "        optimizer.zero_grad()\n",
             "        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n        optimizer.zero_grad()\n")],
           loses="train_task"),
]

VARIANTS = [
    # ------------------------------------------------------------------ book_example
    Variant("book-computed-answers", "shapes read off a model run on zeros (torch.Size and lists); last step by select", [
        ("book_example", None, BOOK_RUN + """

def lstm_shapes(T, N, D, H, L, batch_first=False):
    probe = nn.LSTM(D, H, L, batch_first=batch_first)
    x = torch.zeros((N, T, D) if batch_first else (T, N, D))
    out, (h, c) = probe(x)
    return {"input": x.shape, "output": list(out.shape), "h_n": tuple(h.size()), "c_n": c.shape}


def last_step(output, batch_first=False):
    return output.select(1 if batch_first else 0, output.shape[1 if batch_first else 0] - 1)""")]),
    # ------------------------------------------------------------------ lstm_cell
    Variant("cell-chunk", "gates.chunk(4, 1)", [("lstm_cell", None, '''def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
''')]),
    Variant("cell-split", "gates.split(H, dim=1), torch.mm and addition in another order", [("lstm_cell", None, '''def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = W_hh.shape[1]
    gates = torch.mm(h_prev, W_hh.t()) + torch.mm(x, W_ih.t()) + (b_hh + b_ih)
    a_i, a_f, a_g, a_o = gates.split(H, dim=1)
    i, f, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.sigmoid(a_o)
    g = torch.tanh(a_g)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return (h, c)
''')]),
    Variant("cell-view", "gates.view(N, 4, H)", [("lstm_cell", None, '''def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    N, H = h_prev.shape
    gates = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).view(N, 4, H)
    i = torch.sigmoid(gates[:, 0])
    f = torch.sigmoid(gates[:, 1])
    g = torch.tanh(gates[:, 2])
    o = torch.sigmoid(gates[:, 3])
    c = f * c_prev + i * g
    return o * torch.tanh(c), c
''')]),
    Variant("cell-four-matmuls", "four separate matmuls on slices of the weights", [("lstm_cell", None, '''def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]

    def gate(k):
        rows = slice(k * H, (k + 1) * H)
        return x @ W_ih[rows].T + b_ih[rows] + h_prev @ W_hh[rows].T + b_hh[rows]

    i = torch.sigmoid(gate(0))
    f = torch.sigmoid(gate(1))
    g = torch.tanh(gate(2))
    o = torch.sigmoid(gate(3))
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return h, c
''')]),
    Variant("cell-f-linear", "torch.nn.functional.linear, a list return", [("lstm_cell", None, '''import torch.nn.functional as F


def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    gates = F.linear(x, W_ih, b_ih) + F.linear(h_prev, W_hh, b_hh)
    i, f, g, o = torch.tensor_split(gates, 4, dim=1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return [h, c]
''')]),
    # ------------------------------------------------------------------ lstm_forward
    Variant("forward-lists-stack", "states kept in lists, then torch.stack", [("lstm_forward", None, '''def lstm_forward(x, h0, c0, layers):
    layer_input = x
    hs, cs = [], []
    for l, (W_ih, W_hh, b_ih, b_hh) in enumerate(layers):
        h, c = h0[l], c0[l]
        steps = []
        for x_t in layer_input:
            h, c = lstm_cell(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
            steps.append(h)
        layer_input = torch.stack(steps)
        hs.append(h)
        cs.append(c)
    return layer_input, (torch.stack(hs), torch.stack(cs))
''')]),
    Variant("forward-time-outer", "time in the outer loop, layers in the inner loop", [("lstm_forward", None, '''def lstm_forward(x, h0, c0, layers):
    h = list(h0.unbind(0))
    c = list(c0.unbind(0))
    outputs = []
    for t in range(x.size(0)):
        inp = x[t]
        for l, weights in enumerate(layers):
            h[l], c[l] = lstm_cell(inp, h[l], c[l], *weights)
            inp = h[l]
        outputs.append(inp)
    return torch.stack(outputs, 0), (torch.stack(h, 0), torch.stack(c, 0))
''')]),
    # ------------------------------------------------------------------ peephole_cell
    Variant("peephole-chunk", "gates.chunk(4, 1), peepholes added to the chunks", [("peephole_cell", None, '''def peephole_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, p_i, p_f, p_o):
    a_i, a_f, a_g, a_o = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, 1)
    i = torch.sigmoid(a_i + c_prev * p_i)
    f = torch.sigmoid(a_f + c_prev * p_f)
    c = f * c_prev + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + c * p_o)
    return o * torch.tanh(c), c
''')]),
    # ------------------------------------------------------------------ coupled_cell
    Variant("coupled-sigmoid-minus", "1 − f computed as torch.sigmoid(-a)", [("coupled_cell", None, '''def coupled_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    a_f, a_g, a_o = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(3, dim=1)
    c = torch.sigmoid(a_f) * c_prev + torch.sigmoid(-a_f) * torch.tanh(a_g)
    h = torch.sigmoid(a_o) * torch.tanh(c)
    return h, c
''')]),
    Variant("coupled-lerp", "torch.lerp(g, c_prev, f)", [
        ("coupled_cell", "    c = f * c_prev + (1 - f) * g                           # 輸入門 = 1 − 遺忘門",
         "    c = torch.lerp(g, c_prev, f)")]),
    Variant("coupled-manual-sigmoid", "sigmoid written out as 1 / (1 + exp(-a)), gates from torch.addmm", [
        ("coupled_cell", None, '''def coupled_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    def sigmoid(a):
        return 1 / (1 + torch.exp(-a))

    H = h_prev.shape[1]
    gates = torch.addmm(b_ih, x, W_ih.t()) + torch.addmm(b_hh, h_prev, W_hh.t())
    f = sigmoid(gates[:, :H])
    c = f * c_prev + (1 - f) * torch.tanh(gates[:, H:2 * H])
    return sigmoid(gates[:, 2 * H:]) * torch.tanh(c), c
''')]),
    # ------------------------------------------------------------------ gru_cell
    Variant("gru-chunk", "gi.chunk(3, 1), gh.chunk(3, 1)", [("gru_cell", None, '''def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, 1)
    h_r, h_z, h_n = (h_prev @ W_hh.T + b_hh).chunk(3, 1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h_prev
''')]),
    Variant("gru-interpolate", "h' = n + z ⊙ (h − n), F.linear", [("gru_cell", None, '''def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    gi = torch.nn.functional.linear(x, W_ih, b_ih)
    gh = torch.nn.functional.linear(h_prev, W_hh, b_hh)
    H = h_prev.size(1)
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h_prev - n)
''')]),
    Variant("gru-manual-sigmoid", "sigmoid written out as 1 / (1 + exp(-a)) on r and z",
            [("gru_cell", "r = torch.sigmoid(gi[:, 0 * H:1 * H] + gh[:, 0 * H:1 * H])",
              "a_r = gi[:, 0 * H:1 * H] + gh[:, 0 * H:1 * H]\n    r = 1 / (1 + torch.exp(-a_r))"),
             ("gru_cell", "z = torch.sigmoid(gi[:, 1 * H:2 * H] + gh[:, 1 * H:2 * H])",
              "a_z = gi[:, 1 * H:2 * H] + gh[:, 1 * H:2 * H]\n    z = 1 / (1 + torch.exp(-a_z))")]),
    Variant("cell-in-place-own", "in-place arithmetic on its own tensors (gates and c are new), never on an argument",
            [("lstm_cell", "    c = f * c_prev + i * g\n    h = o * torch.tanh(c)",
              "    c = f * c_prev\n    c += i * g\n    h = torch.tanh(c).mul_(o)")]),
    # ------------------------------------------------------------------ the long-range experiment
    Variant("adding-floor-positions", "positions as floor(U · half), the target from the markers, a list of channels",
            [("adding_problem", None, """def adding_problem(n, T, generator):
    half = T // 2
    first = (torch.rand(n, generator=generator) * half).long()
    second = half + (torch.rand(n, generator=generator) * (T - half)).long()
    values = torch.rand(n, T, generator=generator)
    steps = torch.arange(T)
    markers = ((steps == first[:, None]) | (steps == second[:, None])).float()
    return torch.cat([values[..., None], markers[..., None]], dim=-1), (values * markers).sum(dim=1)
""")]),
    Variant("norms-autograd-grad", "torch.autograd.grad at every step's state: no .grad written anywhere",
            [("hidden_grad_norms", None, """def hidden_grad_norms(model, x, y):
    state, hs = None, []
    for k in range(x.size(1)):
        _, state = model.rnn(x[:, k].unsqueeze(1), state)
        hs.append(state[0] if type(state) is tuple else state)
    loss = torch.nn.functional.mse_loss(model.head(hs[-1][0]).squeeze(-1), y)
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([torch.linalg.vector_norm(g) for g in grads])
""")]),
    Variant("norms-cells", "the layer's weights in an nn.RNNCell / nn.LSTMCell / nn.GRUCell, retain_grad on (N, H) states",
            [("hidden_grad_norms", None, """def hidden_grad_norms(model, x, y):
    rnn = model.rnn
    kind = type(rnn).__name__
    cell = getattr(nn, kind + "Cell")(rnn.input_size, rnn.hidden_size)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, name, getattr(rnn, name + "_l0"))
    h = x.new_zeros(x.shape[0], rnn.hidden_size)
    c = torch.zeros_like(h)
    hs = []
    for k in range(x.shape[1]):
        if kind == "LSTM":
            h, c = cell(x[:, k], (h, c))
        else:
            h = cell(x[:, k], h)
        h.retain_grad()
        hs.append(h)
    loss = ((model.head(h)[:, 0] - y) ** 2).mean()
    loss.backward()
    for p in model.parameters():
        p.grad = None
    return torch.stack([h.grad.pow(2).sum().sqrt() for h in hs])
""")]),
    Variant("train-manual-clip", "F.mse_loss, clipping written out, zero_grad on the model",
            [("train_task", None, """def train_task(model, batches, lr=0.01, max_norm=1.0):
    optimizer = torch.optim.Adam(model.parameters(), lr)
    losses = []
    for x, y in batches:
        model.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        total = torch.sqrt(sum((g ** 2).sum() for g in grads))
        if total > max_norm:
            for g in grads:
                g.mul_(max_norm / (total + 1e-6))
        optimizer.step()
        losses.append(float(loss))
    return losses
""")]),
    # ------------------------------------------------------------------ issue 25: more correct implementations
    Variant("book-dict-built-up", "shapes from a base triple and a swap, last step by narrow", [
        ("book_example", None, BOOK_RUN + """

def lstm_shapes(T, N, D, H, L, batch_first=False):
    def order(a, b, c):
        return (b, a, c) if batch_first else (a, b, c)
    state = tuple([L, N, H])
    return dict(input=order(T, N, D), output=order(T, N, H), h_n=state, c_n=tuple(state))


def last_step(output, batch_first=False):
    time = 1 if batch_first else 0
    return output.narrow(time, output.size(time) - 1, 1).squeeze(time)""")]),
    Variant("cell-gate-by-gate", "each gate its own two matmuls on row slices of the weights, torch.addmm, H from c_prev",
            [("lstm_cell", None, '''def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = c_prev.size(-1)

    def pre(k):
        rows = slice(k * H, (k + 1) * H)
        return torch.addmm(b_ih[rows] + b_hh[rows], x, W_ih[rows].t()) + torch.mm(h_prev, W_hh[rows].t())

    i, f, o = torch.sigmoid(pre(0)), torch.sigmoid(pre(1)), torch.sigmoid(pre(3))
    c = torch.addcmul(f * c_prev, i, torch.tanh(pre(2)))
    return o * torch.tanh(c), c
''')]),
    Variant("peephole-einsum-split", "einsum for the matmuls, split into four, the peepholes as diagonal matrices",
            [("peephole_cell", None, '''def peephole_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, p_i, p_f, p_o):
    H = h_prev.shape[-1]
    a = torch.einsum("nd,gd->ng", x, W_ih) + torch.einsum("nh,gh->ng", h_prev, W_hh) + (b_ih + b_hh)
    a_i, a_f, a_g, a_o = torch.split(a, H, dim=1)
    i = torch.sigmoid(a_i + c_prev @ torch.diag(p_i))
    f = torch.sigmoid(a_f + c_prev @ torch.diag(p_f))
    c = i * torch.tanh(a_g) + f * c_prev
    o = torch.sigmoid(a_o + c @ torch.diag(p_o))
    return o * torch.tanh(c), c
''')]),
    Variant("gru-separate-gates", "r, z and n each from their own row slices, F.linear, no gi/gh tensors",
            [("gru_cell", None, '''def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    F = torch.nn.functional
    H = h_prev.size(1)
    part = [slice(k * H, (k + 1) * H) for k in range(3)]
    r = torch.sigmoid(F.linear(x, W_ih[part[0]], b_ih[part[0]]) + F.linear(h_prev, W_hh[part[0]], b_hh[part[0]]))
    z = torch.sigmoid(F.linear(x, W_ih[part[1]], b_ih[part[1]]) + F.linear(h_prev, W_hh[part[1]], b_hh[part[1]]))
    n = torch.tanh(F.linear(x, W_ih[part[2]], b_ih[part[2]]) + r * F.linear(h_prev, W_hh[part[2]], b_hh[part[2]]))
    return torch.lerp(n, h_prev, z)
''')]),
    Variant("adding-positions-first-scatter", "positions drawn before the numbers, markers by scatter_, target by gather",
            [("adding_problem", None, """def adding_problem(n, T, generator):
    half = T // 2
    where = torch.stack([torch.randint(half, (n,), generator=generator),
                         torch.randint(half, T, (n,), generator=generator)], dim=1)
    values = torch.rand(n, T, generator=generator, dtype=torch.float32)
    markers = torch.zeros(n, T).scatter_(1, where, 1.0)
    x = torch.empty(n, T, 2)
    x[..., 0], x[..., 1] = values, markers
    return x, values.gather(1, where).sum(dim=1)
""")]),
    Variant("train-mseloss-set-to-none", "nn.MSELoss, zero_grad(set_to_none=True) after the step, the loss kept as a tensor until the end",
            [("train_task", None, """def train_task(model, batches, lr=0.01, max_norm=1.0):
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(params=list(model.parameters()), lr=lr)
    kept = []
    optimizer.zero_grad(set_to_none=True)
    for x, y in batches:
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=max_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        kept.append(loss.detach())
    return [value.item() for value in kept]
""")]),
]
