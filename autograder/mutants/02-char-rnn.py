"""Mutants (realistic student mistakes) and valid variants of the 02-char-rnn solution.

``course validate 02-char-rnn`` applies each one to the master notebook's solution cells and grades
the result: every mutant must lose points on the blank it names (``loses``), every variant must keep
full marks.  An edit ``(cell, old, new)`` replaces the text ``old``, which must occur exactly once in
that solution cell; ``old=None`` replaces the whole cell.
"""

from autograder.validate import Mutant, Variant

MUTANTS = [
    # ------------------------------------------------------------------ GetDummies
    Mutant("onehot-off-by-one", "the 1 one index too far left (wraps round to the last index)",
           [("getdummies", "sequence[i][u]] = 1", "sequence[i][u] - 1] = 1")], loses="GetDummies"),
    Mutant("onehot-hard-coded", "sizes hard-coded to the poem's 8, 3, 28",
           [("getdummies", "np.zeros((batch_size, seq_len, dict_size)", "np.zeros((8, 3, 28)"),
            ("getdummies", "range(batch_size)", "range(8)"), ("getdummies", "range(seq_len)", "range(3)")],
           loses="GetDummies"),
    Mutant("onehot-transposed", "(T, N, D) instead of (N, T, D)",
           [("getdummies", "np.zeros((batch_size, seq_len, dict_size)", "np.zeros((seq_len, batch_size, dict_size)"),
            ("getdummies", "features[i, u, sequence[i][u]]", "features[u, i, sequence[i][u]]")], loses="GetDummies"),
    Mutant("onehot-float64", "np.zeros without dtype: float64",
           [("getdummies", ", dtype=np.float32)", ")")], loses="GetDummies"),
    Mutant("onehot-returns-tensor", "returns a torch tensor, not an ndarray",
           [("getdummies", "    return features", "    return torch.from_numpy(features)")], loses="GetDummies"),
    Mutant("onehot-indices-swapped", "sequence[u][i] instead of sequence[i][u]",
           [("getdummies", "sequence[i][u]]", "sequence[u][i]]")],
           loses="GetDummies"),
    # ------------------------------------------------------------------ Model
    Mutant("batch-first-forgotten", "nn.RNN without batch_first=True: reads dimension 0 as time",
           [("model", "n_layers, batch_first=True)", "n_layers)"),
            ("model", "hidden = self.init_hidden(x.size(0))", "hidden = self.init_hidden(x.size(1))")],
           loses="Model"),
    Mutant("no-recurrence", "each time step run on its own from a zero hidden state",
           [("model", """        out, hidden = self.rnn(x, hidden)                  # out: (N, T, H)""",
             """        steps = [self.rnn(x[:, t:t + 1], self.init_hidden(x.size(0))) for t in range(x.size(1))]
        out = torch.cat([s[0] for s in steps], dim=1)
        hidden = steps[-1][1]""")], loses="Model"),
    Mutant("fc-missing", "no fully connected layer: returns the hidden states",
           [("model", "        out = self.fc(out)                                 # (N·T, output_size)\n", "")],
           loses="Model"),
    Mutant("fc-from-input-size", "fc maps to input_size instead of output_size",
           [("model", "nn.Linear(hidden_dim, output_size)", "nn.Linear(hidden_dim, input_size)")], loses="Model"),
    Mutant("n-layers-ignored", "always one layer",
           [("model", "nn.RNN(input_size, hidden_dim, n_layers,", "nn.RNN(input_size, hidden_dim, 1,")],
           loses="Model"),
    Mutant("hidden-random", "initial hidden state random instead of zeros",
           [("model", "return torch.zeros(self.n_layers", "return torch.randn(self.n_layers")], loses="Model"),
    Mutant("relu-rnn", "nn.RNN with nonlinearity='relu' (the chapter's Elman network uses tanh)",
           [("model", "n_layers, batch_first=True)", "n_layers, batch_first=True, nonlinearity='relu')")],
           loses="Model"),
    Mutant("fc-on-hidden", "fc applied to the last hidden state only",
           [("model", "        out = self.fc(out)                                 # (N·T, output_size)",
             "        out = self.fc(hidden[-1])")], loses="Model"),
    # ------------------------------------------------------------------ train
    Mutant("no-zero-grad", "gradients accumulate over epochs",
           [("train", "        optimizer.zero_grad()\n", "")], loses="train"),
    Mutant("no-step", "optimizer.step() missing: nothing learns",
           [("train", "        optimizer.step()\n", "")], loses="train"),
    Mutant("n-epochs-ignored", "always 100 epochs",
           [("train", "range(n_epochs)", "range(100)")], loses="train"),
    Mutant("lr-ignored", "learning rate hard-coded to 0.01",
           [("train", "lr=lr)", "lr=0.01)")], loses="train"),
    Mutant("trains-global-net", "trains the notebook's global net, not its argument",
           [("train", "def train(net, Input, Target", "def train(model, Input, Target")], loses="train"),
    Mutant("sgd-not-adam", "SGD instead of Adam",
           [("train", "torch.optim.Adam(", "torch.optim.SGD(")], loses="train"),
    Mutant("loss-tensors", "appends the loss tensor, not loss.item()",
           [("train", "losses.append(loss.item())", "losses.append(loss)")], loses="train"),
    Mutant("step-before-backward", "optimizer.step() before loss.backward()",
           [("train", "        loss.backward()                                   # BPTT\n",
             "        optimizer.step()\n        loss.backward()                                   # BPTT\n"),
            ("train", "max_norm)\n        optimizer.step()\n", "max_norm)\n")], loses="train"),
    Mutant("nll-on-logits", "NLLLoss on raw scores (no log-softmax)",
           [("train", "nn.CrossEntropyLoss()", "nn.NLLLoss()")], loses="train"),
    # ------------------------------------------------------------------ predict
    Mutant("predict-first-step", "predicts from out[0], the first time step",
           [("predict", "softmax(out[-1], dim=0)", "softmax(out[0], dim=0)")], loses="predict"),
    Mutant("predict-last-char-only", "feeds only the last character, losing the context",
           [("predict", "for c in character]]", "for c in character[-1:]]]")], loses="predict"),
    Mutant("predict-first-char-only", "feeds only the first character",
           [("predict", "for c in character]]", "for c in character[:1]]]")], loses="predict"),
    Mutant("predict-random", "samples from the softmax instead of taking the argmax",
           [("predict", "char_ind = torch.max(prob, dim=0)[1].item()",
             "char_ind = torch.multinomial(prob, 1).item()")], loses="predict"),
    Mutant("predict-returns-index", "returns the index, not the character",
           [("predict", "return Int2char[char_ind], hidden", "return char_ind, hidden")], loses="predict"),
    # ------------------------------------------------------------------ sample
    Mutant("sample-one-too-long", "one character more than out_len",
           [("sample", "range(out_len - len(chars))", "range(out_len - len(chars) + 1)")], loses="sample"),
    Mutant("sample-drops-start", "returns only the generated characters",
           [("sample", "    return ''.join(chars)", "    return ''.join(chars[len(start):])")], loses="sample"),
    Mutant("sample-start-as-one", "counts a multi-character start as one character",
           [("sample", "chars = [ch for ch in start]", "chars = [start]"),
            ("sample", "char, h = predict(model, chars)", "char, h = predict(model, list(''.join(chars)))")],
           loses="sample"),
    Mutant("sample-random", "samples the next character at random from the softmax",
           [("sample", "        char, h = predict(model, chars)",
             """        x = torch.from_numpy(GetDummies(np.array([[Char2int[c] for c in chars]]), Dict_size, len(chars), 1))
        with torch.no_grad():
            out, h = model(x.to(device))
        char = Int2char[torch.multinomial(torch.softmax(out[-1], dim=0), 1).item()]""")], loses="sample"),
    Mutant("sample-last-char-context", "passes only the last character to predict",
           [("sample", "char, h = predict(model, chars)", "char, h = predict(model, chars[-1:])")],
           loses="sample"),
    # ------------------------------------------------------------------ beyond the book (issue #16)
    Mutant("forward-ignores-hidden", "forward(x, hidden) always starts from zeros",
           [("model", "        if hidden is None:                                 # 沒有給 hidden：從全零狀態開始\n",
             "        if True:\n")], loses="Model"),
    Mutant("clip-before-backward", "clip_grad_norm_ before loss.backward(): there are no gradients yet",
           [("train", "        loss.backward()                                   # BPTT\n", ""),
            ("train", "            nn.utils.clip_grad_norm_(net.parameters(), max_norm)\n",
             "            nn.utils.clip_grad_norm_(net.parameters(), max_norm)\n        loss.backward()\n")],
           loses="train"),
    Mutant("clip-value", "clip_grad_value_: each element clipped, not the norm",
           [("train", "nn.utils.clip_grad_norm_(", "nn.utils.clip_grad_value_(")], loses="train"),
    Mutant("clip-always", "clips at 1.0 when max_norm is None",
           [("train", "        if max_norm is not None:                          # 梯度裁剪 (gradient clipping)\n"
                      "            nn.utils.clip_grad_norm_(net.parameters(), max_norm)",
             "        nn.utils.clip_grad_norm_(net.parameters(), max_norm or 1.0)")], loses="train"),
    Mutant("clip-always-rescale", "the gradient always rescaled to norm max_norm, even when its norm is below",
           [("train", "            nn.utils.clip_grad_norm_(net.parameters(), max_norm)",
             "            total = torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters()))\n"
             "            for p in net.parameters():\n"
             "                p.grad.mul_(max_norm / (total + 1e-6))")], loses="train"),
    Mutant("sample-next-naive-exp", "exp(logits / T) / sum: overflows to nan at small temperatures",
           [("sample_next", "    probs = torch.softmax(logits / temperature, dim=-1)",
             "    weights = torch.exp(logits / temperature)\n    probs = weights / weights.sum()")],
           loses="sample_next"),
    Mutant("sample-next-categorical", "torch.distributions.Categorical: the global RNG, not the generator",
           [("sample_next", "    return torch.multinomial(probs, 1, generator=generator).item()",
             "    return int(torch.distributions.Categorical(probs=probs).sample())")], loses="sample_next"),
    Mutant("sample-next-times-temperature", "logits * temperature",
           [("sample_next", "torch.softmax(logits / temperature", "torch.softmax(logits * temperature")], loses="sample_next"),
    Mutant("sample-next-wrong-dim", "softmax over the wrong dimension of a (1, D) view: every index equally likely",
           [("sample_next", "    probs = torch.softmax(logits / temperature, dim=-1)",
             "    probs = torch.softmax(logits.view(1, -1) / temperature, dim=0).view(-1)")], loses="sample_next"),
    Mutant("sample-next-inverse-cdf-off-by-one", "inverse CDF that returns the index after the one drawn",
           [("sample_next", "    return torch.multinomial(probs, 1, generator=generator).item()",
             "    u = torch.rand((), generator=generator)\n"
             "    return min(int((probs.cumsum(0) < u).sum()) + 1, len(probs) - 1)")], loses="sample_next"),
    Mutant("sample-next-draws-at-zero", "no special case for T = 0: a tiny temperature instead, which still draws",
           [("sample_next", "        return int(torch.argmax(logits))                # 貪婪解碼 (greedy)：不抽樣",
             "        temperature = 1e-8")], loses="sample_next"),
    Mutant("sample-next-own-generator", "a generator of its own, seeded once: the generator passed in is ignored",
           [("sample_next", "    return torch.multinomial(probs, 1, generator=generator).item()",
             "    return torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(0)).item()")],
           loses="sample_next"),
    Mutant("sample-next-always-greedy", "the argmax at every temperature",
           [("sample_next", "    return torch.multinomial(probs, 1, generator=generator).item()",
             "    return int(torch.argmax(probs))")], loses="sample_next"),
    Mutant("sample-next-global-ignored", "generator None: a fresh generator instead of the global one",
           [("sample_next", "    return torch.multinomial(probs, 1, generator=generator).item()",
             "    return torch.multinomial(probs, 1, generator=generator or torch.Generator()).item()")],
           loses="sample_next"),
    Mutant("generate-refeeds", "feeds the whole text every step (no hidden carried): sample's way",
           [("generate", "            out, hidden = model(x, hidden)                                        # 帶著上一次的 hidden",
             "            codes = np.array([[Char2int[c] for c in chars]])\n"
             "            out, hidden = model(torch.from_numpy(GetDummies(codes, Dict_size, len(chars), 1)).to(device))")],
           loses="generate"),
    Mutant("generate-hidden-dropped", "one character a call, without the hidden: each from a zero state",
           [("generate", "out, hidden = model(x, hidden)", "out, hidden = model(x)")], loses="generate"),
    Mutant("generate-no-generator", "sample_next without the generator: the global RNG",
           [("generate", "sample_next(out[-1], temperature, generator)", "sample_next(out[-1], temperature)")],
           loses="generate"),
    Mutant("perplexity-per-phrase", "the mean of each phrase's perplexity",
           [("perplexity", "    return torch.exp(loss).item()",
             "        per_token = nn.functional.cross_entropy(out, Target.to(device).view(-1).long(), reduction='none')\n"
             "    return torch.exp(per_token.view(Target.shape).mean(dim=1)).mean().item()")], loses="perplexity"),
    Mutant("perplexity-eval-left", "model.eval() and the mode not put back",
           [("perplexity", "    with torch.no_grad():", "    model.eval()\n    with torch.no_grad():")],
           loses="perplexity"),
    Mutant("perplexity-backward", "no torch.no_grad(), and a backward() that leaves gradients",
           [("perplexity", "    with torch.no_grad():", "    if True:"),
            ("perplexity", "    return torch.exp(loss).item()", "    loss.backward()\n    return torch.exp(loss).item()")],
           loses="perplexity"),
    Mutant("perplexity-softmax-twice", "softmax before cross_entropy",
           [("perplexity", "nn.functional.cross_entropy(out,", "nn.functional.cross_entropy(torch.softmax(out, dim=-1),")],
           loses="perplexity"),
]

VARIANTS = [
    Variant("onehot-np-eye", "np.eye indexing", [("getdummies", None, '''def GetDummies(sequence, dict_size, seq_len, batch_size):
    codes = np.asarray(sequence, dtype=np.int64)[:batch_size, :seq_len]
    return np.eye(dict_size, dtype=np.float32)[codes]
''')]),
    Variant("onehot-torch", "torch.nn.functional.one_hot, back to numpy", [("getdummies", None, '''def GetDummies(sequence, dict_size, seq_len, batch_size):
    codes = torch.as_tensor(np.asarray(sequence), dtype=torch.long)
    return nn.functional.one_hot(codes, dict_size).numpy().astype(np.float32)
''')]),
    Variant("vocabulary-reversed", "the student renumbers the vocabulary (graders follow Char2int)", [
        ("getdummies", "def GetDummies(sequence, dict_size, seq_len, batch_size):", """Chars = sorted(set(''.join(Text)), reverse=True)
Int2char = dict(enumerate(Chars))
Char2int = {char: ind for ind, char in Int2char.items()}
Input = [[Char2int[c] for c in phrase[:-1]] for phrase in Text]
Target = [[Char2int[c] for c in phrase[1:]] for phrase in Text]


def GetDummies(sequence, dict_size, seq_len, batch_size):""")]),
    Variant("forward-hidden-none", "hidden=None passed on to nn.RNN (its default zero state), reshape", [
        ("model", """        if hidden is None:                                 # 沒有給 hidden：從全零狀態開始
            hidden = self.init_hidden(x.size(0))
""", ""),
        ("model", "out.contiguous().view(-1, self.hidden_dim)", "out.reshape(-1, self.rnn.hidden_size)")]),
    Variant("model-keywords", "nn.RNN with keywords and the book's init_hidden (.to(device))", [
        ("model", "nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)",
         "nn.RNN(input_size=input_size, hidden_size=hidden_dim, num_layers=n_layers, nonlinearity='tanh', "
         "batch_first=True)"),
        ("model", """        weight = next(self.parameters())
        return torch.zeros(self.n_layers, batch_size, self.hidden_dim, device=weight.device)""",
         """        return torch.zeros(self.n_layers, batch_size, self.hidden_dim).to(next(self.parameters()).device)""")]),
    Variant("train-flatten-float", "Target.flatten(), float(loss), net.train(), keyword params", [
        ("train", "criterion(output, Target.view(-1).long())", "criterion(output, Target.flatten())"),
        ("train", "losses.append(loss.item())", "losses.append(float(loss.detach()))"),
        ("train", "    losses = []\n", "    losses = []\n    net.train()\n"),
        ("train", "torch.optim.Adam(net.parameters(), lr=lr)", "torch.optim.Adam(params=net.parameters(), lr=lr)")]),
    Variant("train-while", "a while loop, zero_grad after the step, the gradient norm clipped by hand",
            [("train", None, '''def train(net, Input, Target, n_epochs=100, lr=0.01, max_norm=None):
    net.to(device)
    x, y = Input.to(device), Target.to(device).reshape(-1)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    epoch = 0
    optimizer.zero_grad()
    while epoch < n_epochs:
        out, _ = net(x)
        loss = loss_fn(out, y)
        loss.backward()
        if max_norm is not None:
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
            if norm > max_norm:
                for g in grads:
                    g.mul_(max_norm / (norm + 1e-6))
        optimizer.step()
        optimizer.zero_grad()
        history.append(loss.item())
        epoch += 1
    return history
''')]),
    Variant("predict-argmax-logits", "argmax of the scores, no softmax, no no_grad, str accepted", [("predict", None, '''def predict(model, character):
    if isinstance(character, str):
        character = list(character)
    codes = np.array([[Char2int[c] for c in character]])
    x = torch.from_numpy(GetDummies(codes, Dict_size, len(character), 1)).to(device)
    out, hidden = model(x)
    return Int2char[out[-1].argmax().item()], hidden.detach()
''')]),
    Variant("predict-book", "the book's .data and torch.max", [
        ("predict", """    with torch.no_grad():
        out, hidden = model(character)                                    # out: (T, D)
    prob = nn.functional.softmax(out[-1], dim=0)""", """    out, hidden = model(character)
    prob = nn.functional.softmax(out[-1], dim=0).data""")]),
    Variant("sample-string", "grows a string, no model.eval()", [("sample", None, '''def sample(model, out_len, start='對'):
    text = start
    while len(text) < out_len:
        text += predict(model, list(text))[0]
    return text
''')]),
    Variant("sample-recursive", "recursion on the text so far, the mode set by model.train(False)", [
        ("sample", None, '''def sample(model, out_len, start='對'):
    model.train(False)
    if len(start) >= out_len:
        return start
    return sample(model, out_len, start + predict(model, start)[0])
''')]),
    Variant("sample-next-exp-max", "exp/sum with the maximum subtracted, replacement=True, no .cpu() on CPU", [
        ("sample_next", None, '''def sample_next(logits, temperature, generator=None):
    if temperature <= 0:
        return logits.argmax().item()
    z = (logits - logits.max()) / temperature
    weights = torch.exp(z)
    return int(torch.multinomial(weights / weights.sum(), num_samples=1, replacement=True, generator=generator)[0])
''')]),
    Variant("sample-next-inverse-cdf", "inverse CDF: one torch.rand(generator=...) against the cumulative softmax", [
        ("sample_next", None, '''def sample_next(logits, temperature, generator=None):
    z = logits.detach().to("cpu", torch.float64)
    if temperature == 0:
        return int(z.argmax())
    cdf = torch.softmax(z / temperature, dim=0).cumsum(0)
    u = torch.rand(1, generator=generator, dtype=torch.float64) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), len(cdf) - 1)
''')]),
    Variant("sample-next-gumbel-max", "Gumbel-max: argmax of logits / T plus Gumbel noise from torch.rand(generator=...)", [
        ("sample_next", None, '''def sample_next(logits, temperature, generator=None):
    scores = logits.cpu()
    if not temperature:
        return scores.argmax().item()
    u = torch.rand(scores.shape, generator=generator).clamp(min=1e-12, max=1 - 1e-7)
    gumbel = -torch.log(-torch.log(u))
    return int(torch.argmax(scores / temperature + gumbel))
''')]),
    Variant("sample-next-distributions", "torch.distributions.Categorical for the probabilities, drawn by multinomial "
            "with the generator", [
        ("sample_next", None, '''def sample_next(logits, temperature, generator=None):
    logits = logits.to("cpu")
    if temperature == 0.0:
        return int(logits.max(dim=-1).indices)
    distribution = torch.distributions.Categorical(logits=logits / temperature)
    return int(torch.multinomial(distribution.probs, num_samples=1, generator=generator))
''')]),
    Variant("generate-while", "a while loop, one_hot by torch, init_hidden for the first call, hidden by keyword", [
        ("generate", None, '''def generate(model, out_len, start='對', temperature=0.0, generator=None):
    model.eval()
    text = start
    codes = torch.tensor([[Char2int[c] for c in start]])
    hidden = model.init_hidden(1)
    with torch.no_grad():
        while len(text) < out_len:
            x = nn.functional.one_hot(codes, Dict_size).float().to(device)
            out, hidden = model(x, hidden=hidden)
            nxt = sample_next(out[-1], temperature=temperature, generator=generator)
            text += Int2char[nxt]
            codes = torch.tensor([[nxt]])
    return text
''')]),
    Variant("generate-for-steps", "a for loop over the steps, hidden from a first call outside the loop, inference_mode, "
            "one-hot by indexing an identity matrix", [
        ("generate", None, '''def generate(model, out_len, start='對', temperature=0.0, generator=None):
    if out_len <= len(start):
        return start
    was = model.training
    model.eval()
    eye = torch.eye(Dict_size, device=device)
    text = list(start)
    with torch.inference_mode():
        scores, state = model(eye[[Char2int[c] for c in start]].unsqueeze(0))
        for step in range(out_len - len(start)):
            index = sample_next(scores[-1], temperature, generator)
            text.append(Int2char[index])
            if step < out_len - len(start) - 1:
                scores, state = model(eye[index].view(1, 1, -1), state)
    model.train(was)
    return "".join(text)
''')]),
    Variant("perplexity-log-softmax", "log_softmax gathered at the targets by hand, a float() of a float64 exp", [
        ("perplexity", None, '''def perplexity(model, Input, Target):
    with torch.no_grad():
        scores, _ = model(Input.to(device))
        log_p = torch.log_softmax(scores, dim=1)
        picked = log_p.gather(1, Target.to(device).reshape(-1, 1))
        return float(torch.exp(-picked.double().mean()))
''')]),
    Variant("perplexity-sum-divided", "a summed loss divided by N·T, math.exp, eval() and the mode put back", [
        ("perplexity", None, '''import math


def perplexity(model, Input, Target):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out, _ = model(Input.to(device))
        total = nn.CrossEntropyLoss(reduction='sum')(out, Target.to(device).reshape(-1))
    model.train(was_training)
    return math.exp(total.item() / Target.numel())
''')]),
]
