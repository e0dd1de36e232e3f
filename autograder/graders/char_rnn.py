"""The trusted reference and the helpers of the char-RNN graders (02-char-rnn); judge side only.

The reference runs in the judge, on the weights the student's model reports: a student's
``Model`` is judged by whether it computes what ``nn.RNN(batch_first=True)`` + ``nn.Linear`` compute
with the same weights, and ``train`` by whether it follows Adam + cross-entropy from the same start.

Letters for shapes: N batch, T time, D dictionary size, H hidden size, L layers, O output size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from autograder import references
from autograder.messages import msg, register
from autograder.submission import Handle, keep
from autograder.toolkit import check, fail, kind_of, to_array

TEXT = ['對酒當歌', '人生幾何', '譬如朝露', '去日苦多', '慨當以慷', '憂思難忘', '何以解憂', '唯有杜康']
CHARS = sorted(set(''.join(TEXT)))
CONTRACT_KEYS = ("rnn.weight_ih_l", "rnn.weight_hh_l", "rnn.bias_ih_l", "rnn.bias_hh_l")

# How close a student's model must come to the reference with the same weights: float32 round-off on
# CPU or GPU is ~1e-6; the mistakes the graders look for move outputs by 1e-2 and more.
MODEL_RTOL = 1e-3          # relative to the largest output of the reference
MODEL_ATOL = 1e-5


def model_error(got: torch.Tensor, expected: torch.Tensor) -> tuple[float, float]:
    """(largest absolute difference, what it may be) for outputs of the same shape."""
    error = float((got - expected).abs().max()) if got.numel() else 0.0
    return error, MODEL_ATOL + MODEL_RTOL * float(expected.abs().max() if expected.numel() else 0.0)


@dataclass
class Poem:
    """The poem coded in the submission's own vocabulary (graders never assume its order)."""

    char2int: dict
    int2char: dict
    inputs: np.ndarray      # (N, T) int64: each phrase without its last character
    targets: np.ndarray     # (N, T) int64: each phrase without its first character

    @property
    def size(self) -> int:
        return len(self.char2int)

    def onehot(self, codes: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.eye(self.size, dtype=np.float32)[codes])

    def encode(self, text: str) -> np.ndarray:
        return np.array([[self.char2int[c] for c in text]], dtype=np.int64)


# ------------------------------------------------------------------------------------ the reference

class Reference(nn.Module):
    """The contract's model: nn.RNN(batch_first=True), then nn.Linear on every time step; from a zero
    state, or from the ``hidden`` it is given. With the book's ``hidden_dim``, ``n_layers`` and
    ``init_hidden``: in the worker it stands for the book's Model (:func:`book_model`)."""

    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super().__init__()
        self.hidden_dim, self.n_layers = hidden_dim, n_layers
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def init_hidden(self, batch_size):
        return torch.zeros(self.n_layers, batch_size, self.hidden_dim)

    def forward(self, x, hidden=None):                      # x: (N, T, D), hidden: (L, N, H) or None
        if hidden is None:
            hidden = torch.zeros(self.rnn.num_layers, x.size(0), self.rnn.hidden_size, dtype=x.dtype)
        out, hidden = self.rnn(x, hidden)                   # (N, T, H), (L, N, H)
        return self.fc(out.reshape(-1, self.rnn.hidden_size)), hidden   # (N·T, O)


def reference_from(state: dict) -> Reference:
    """Build the reference with exactly the student's weights, or Fail saying which part is missing."""
    if type(state) is not dict:
        fail("model_attr", attr="state_dict()", expected="dict", got=kind_of(state))
    layers = 0
    while f"rnn.weight_ih_l{layers}" in state:
        layers += 1
    needed = [f"{k}{i}" for i in range(max(layers, 1)) for k in CONTRACT_KEYS] + ["fc.weight", "fc.bias"]
    missing = [k for k in needed if k not in state]
    if missing:
        fail("model_attr", attr=", ".join(missing), expected="self.rnn = nn.RNN(...), self.fc = nn.Linear(...)",
             got=", ".join(sorted(state)) or "no parameters")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            fail("model_attr", attr=key, expected="a tensor", got=kind_of(value))
    hidden, inputs = state["rnn.weight_ih_l0"].shape
    outputs = state["fc.weight"].shape[0]
    model = Reference(inputs, outputs, hidden, layers)
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        fail("model_attr", attr="state_dict()", expected="nn.RNN + nn.Linear weights",
             got=str(exc).splitlines()[0][:200])
    return model


def digest(*values) -> str:
    """A key for tensors, arrays, dicts of them and plain values: equal inputs, equal keys."""
    import hashlib

    h = hashlib.sha256()

    def add(value):
        if isinstance(value, dict):
            for key in sorted(value):
                h.update(repr(key).encode())
                add(value[key])
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
            h.update(f"{array.dtype}{array.shape}".encode())
            h.update(np.ascontiguousarray(array).tobytes())
        else:
            h.update(repr(value).encode())
        h.update(b"|")

    for value in values:
        add(value)
    return h.hexdigest()


_TRAINED: dict[str, tuple[list, dict]] = {}


def reference_losses(state: dict, x: torch.Tensor, y: torch.Tensor, n_epochs: int, lr: float,
                     max_norm: float | None = None):
    """Full-batch Adam on cross-entropy, one step an epoch (the gradients clipped to ``max_norm`` when
    it is given): the losses and the final weights.

    Remembered for the judge's lifetime: students whose models start from the same weights (most do,
    with the grader's seed) share one reference run, which is a third of a submission's grading time.
    """
    key = digest(state, x, y, n_epochs, lr, max_norm)
    if key not in _TRAINED:
        if len(_TRAINED) >= 256:
            _TRAINED.clear()
        _TRAINED[key] = train_reference(state, x, y, n_epochs, lr, max_norm=max_norm)
    losses, weights = _TRAINED[key]
    return list(losses), {k: v.clone() for k, v in weights.items()}


class Adam:
    """``torch.optim.Adam`` with its defaults (betas 0.9, 0.999; eps 1e-8), step for step as torch's
    single-tensor loop computes it on the CPU.

    Written out because constructing torch's optimizer imports torch._dynamo: 2.1 s of every cold
    ``course grade``. The reference is checked against torch's own Adam in tests/test_reference.py.
    """

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        bias_correction1 = 1 - self.beta1 ** self.step_count
        bias_correction2 = 1 - self.beta2 ** self.step_count
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is None:
                continue
            m.lerp_(p.grad, 1 - self.beta1)                              # m ← β1·m + (1−β1)·g
            v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)   # v ← β2·v + (1−β2)·g²
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)                      # p ← p − lr·m̂ / (√v̂ + ε)


def train_reference(state: dict, x: torch.Tensor, y: torch.Tensor, n_epochs: int, lr: float, optimizer=Adam,
                    max_norm: float | None = None, clip=None):
    """``clip``: how the gradients are clipped to ``max_norm`` (torch's ``clip_grad_norm_``; a known
    mistake's, for hints)."""
    model = reference_from(state)
    optimizer = optimizer(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    clip = clip or nn.utils.clip_grad_norm_
    losses = []
    for _ in range(n_epochs):
        optimizer.zero_grad()
        out, _ = model(x)
        loss = criterion(out, y.reshape(-1))
        loss.backward()
        if max_norm is not None:
            clip(model.parameters(), max_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses, model.state_dict()


MARGIN = 1e-3      # greedy choices whose top two scores are closer than this are not asked (round-off could decide)


def greedy(model: Reference, poem: Poem, context: str) -> tuple[str, float]:
    """The reference's next character after ``context`` and its margin over the runner-up."""
    with torch.no_grad():
        out, _ = model(poem.onehot(poem.encode(context)))
    top = torch.topk(out[-1].double(), 2)
    return poem.int2char[int(top.indices[0])], float(top.values[0] - top.values[1])


def greedy_completion(model: Reference, poem: Poem, start: str, out_len: int) -> tuple[str, bool]:
    """The greedy completion of ``start`` to ``out_len`` characters that feeds the whole prefix each time
    (the book's sample), and whether every choice in it was decisive (by MARGIN)."""
    text, decisive = start, True
    while len(text) < out_len:
        char, margin = greedy(model, poem, text)
        decisive = decisive and margin >= MARGIN
        text += char
    return text, decisive


def random_completions(model: Reference, poem: Poem, seed: int, start_max: int, extra_max: int,
                       tries: int = 12, least: int = 6) -> list[tuple[int, str, int, str]]:
    """(try, start, out_len, expected): ``tries`` random starts of 1 to ``start_max - 1`` characters, to be
    completed by 1 to ``extra_max - 1`` more, with ``model``'s greedy completion where it is decisive (at
    least ``least`` of them, or the grader itself is broken)."""
    rng = np.random.default_rng(seed)
    chars = list(poem.char2int)
    cases = []
    for n in range(tries):
        start = ''.join(rng.choice(chars, size=int(rng.integers(1, start_max))))
        out_len = len(start) + int(rng.integers(1, extra_max))
        expected, decisive = greedy_completion(model, poem, start, out_len)
        if decisive:
            cases.append((n, start, out_len, expected))
    if len(cases) < least:
        raise RuntimeError(f"only {len(cases)} completions were decisive")
    return cases


# ------------------------------------------------------------------------------------ student side

def on_device(nb, value) -> Handle:
    """A tensor placed on the submission's ``device``, kept in the worker (graders work on CPU or CUDA)."""
    return keep(nb.torch.as_tensor, value, device=nb.device)


def to_device(nb, model: Handle) -> Handle:
    """``model.to(device)``: on CUDA it moves the parameters it holds, a change the call is allowed."""
    with nb.changing(model):
        return model.to(nb.device)


def build(nb, *args) -> Handle:
    """``Model(*args)`` in the worker, moved to the submission's device."""
    model = nb.Model(*args)
    if not isinstance(model, Handle):
        fail("not_plain", what="Model(...)", expected="an nn.Module", got=kind_of(model))
    return to_device(nb, model)


def state_of(model: Handle) -> dict:
    state = model.state_dict()
    if type(state) is not dict:
        fail("model_attr", attr="state_dict()", expected="a dict of tensors", got=kind_of(state))
    return {k: v.float() if isinstance(v, torch.Tensor) else v for k, v in state.items()}


def forward(nb, model: Handle, x: torch.Tensor, what: str = "Model.forward", hidden: torch.Tensor | None = None):
    """Run the student's forward on ``x`` (and ``hidden``, when given); return (out, hidden) as judge-side
    tensors."""
    result = model(on_device(nb, x)) if hidden is None else model(on_device(nb, x), on_device(nb, hidden))
    if type(result) not in (tuple, list) or len(result) != 2:
        fail("expected_got", what=msg("return_value_of", what=what),
             expected="(out, hidden)", got=kind_of(result))
    out, hidden = result
    return (torch.from_numpy(to_array(out, f"{what}: out")).float(),
            torch.from_numpy(to_array(hidden, f"{what}: hidden")).float())


def book_model(nb, *args, state: dict | None = None) -> tuple[Handle, Reference]:
    """The book's ``Model(*args)`` standing in the worker, on the submission's device (its code stays in the
    judge: a stand-in, see :mod:`autograder.remote`), and its judge-side twin; with ``state``, these weights.
    The contract's ``forward(x, hidden=None)`` too: the Model of generate's and perplexity's graders. So a
    wrong Model costs Model's points only."""
    reference = Reference(*args)
    if state is not None:
        reference.load_state_dict(state)
    model = to_device(nb, nb.remote_module(reference, methods=("init_hidden",), name="Model"))
    return model, reference_from(state_of(model))


def expect_text(value, what: str) -> str:
    check(type(value) is str, "wrong_type", what=what, expected="str", got=kind_of(value))
    return value


# ------------------------------------------------------------------------ beyond the book (issue #16)
# Model's hidden argument, temperature sampling, generation that carries the hidden state, gradient
# clipping in train, perplexity.

register({
    # Model(x, hidden)
    "model_hidden_vs_reference": ("{what} 與從傳入的 hidden 出發的 nn.RNN + nn.Linear 參考不同（最大誤差 {error:.3g}，"
                                  "容許 {tolerance:.2g}）",
                                  "{what} differs from the nn.RNN + nn.Linear reference started from the hidden it "
                                  "is given (largest error {error:.3g}, tolerance {tolerance:.2g})"),
    "model_hint_hidden_ignored": ("提示：你的結果與從全零狀態出發相同：forward 沒有用到傳入的 hidden",
                                  "hint: your result is the one from a zero state: forward ignores the hidden it "
                                  "is given"),
    # sample_next
    "sample_next_greedy": ("sample_next(logits, {temperature!r}) 應回傳分數最高的編號 {expected}（貪婪解碼 greedy），"
                           "得到 {got}",
                           "sample_next(logits, {temperature!r}) should return the index of the highest score, "
                           "{expected} (greedy), got {got}"),
    "sample_next_distribution": ("溫度 {temperature:g}、{size} 個字時，抽 {draws} 次的頻率與 softmax(logits / temperature) "
                                 "相差太多：累積分布在編號 {index} 相差 {gap:.3f}（容許 {tolerance:.3f}）。"
                                 "期望的機率 {expected}，得到的頻率 {got}",
                                 "at temperature {temperature:g} with {size} characters, the frequencies of {draws} "
                                 "draws are too far from softmax(logits / temperature): the cumulative distributions "
                                 "differ by {gap:.3f} at index {index} (tolerance {tolerance:.3f}). Expected "
                                 "probabilities {expected}, frequencies got {got}"),
    "sample_next_same_seed": ("兩個種子都是 {seed} 的 generator 應抽到相同的一串編號，卻得到 {first}… 與 {second}…",
                              "two generators both seeded {seed} should give the same draws, got {first}… and "
                              "{second}…"),
    "sample_next_generator_ignored": ("種子 {seed} 與 {other} 的 generator 抽到完全相同的一串編號：抽樣沒有用到傳入的 "
                                      "generator",
                                      "generators seeded {seed} and {other} gave exactly the same draws: the draws do "
                                      "not come from the generator passed in"),
    "sample_next_global_draw": ("generator 為 None 時，應從 PyTorch 全域的亂數產生器抽樣：torch.manual_seed 設定相同的種子，"
                                "應抽到相同的一串編號，而且全域產生器的狀態要前進；得到 {first}… 與 {second}…",
                                "with generator None, draw from PyTorch's global random generator: after the same "
                                "torch.manual_seed the draws should be the same, and the global generator's state "
                                "should move; got {first}… and {second}…"),
    "sample_next_global_used_at_zero": ("溫度 0 是貪婪解碼，不抽樣：PyTorch 全域亂數產生器的狀態不應改變，卻改變了",
                                        "temperature 0 is greedy decoding, no draw: the state of PyTorch's global "
                                        "random generator should stay as it was, and it changed"),
    "sample_next_generator_used": ("溫度 0 是貪婪解碼，不抽樣：generator 的狀態不應改變，卻改變了",
                                   "temperature 0 is greedy decoding, no draw: the generator's state should stay as "
                                   "it was, and it changed"),
    "global_rng_used": ("{what} 改變了 PyTorch 全域亂數產生器的狀態 (torch.get_rng_state())：給了 generator 時，"
                        "亂數只能從它取（torch.distributions.Categorical(...).sample() 不接受 generator）",
                        "{what} changed the state of PyTorch's global random generator (torch.get_rng_state()): "
                        "given a generator, every random number comes from it "
                        "(torch.distributions.Categorical(...).sample() takes no generator)"),
    "sample_next_hint_nan": ("提示：溫度很小時 exp(logits / temperature) 溢位成 inf，inf / inf 是 nan：請用 torch.softmax"
                             "（它先減去最大值）；溫度 0 直接取 argmax",
                             "hint: at a small temperature exp(logits / temperature) overflows to inf, and inf / inf "
                             "is nan: use torch.softmax (it subtracts the maximum first); at temperature 0 take the "
                             "argmax"),
    "sample_next_hint_greedy": ("提示：你的結果是一律取分數最高的編號：溫度大於 0 時要抽樣",
                                "hint: your result always takes the highest score: above temperature 0, draw"),
    "sample_next_hint_times": ("提示：你的結果與 softmax(logits * temperature) 相同：應除以溫度",
                               "hint: your result is softmax(logits * temperature): divide by the temperature"),
    # generate
    "generate_greedy": ("溫度 0 時 generate(model, {out_len}, {start!r}) 應與每次重送整段前文的貪婪解碼相同："
                        "{expected!r}，得到 {got!r}",
                        "at temperature 0, generate(model, {out_len}, {start!r}) should equal greedy decoding "
                        "that feeds the whole prefix again, {expected!r}, got {got!r}"),
    "generate_sampled": ("以種子 {seed} 的 generator、溫度 {temperature:g}，generate(model, {out_len}, {start!r}) 應為 "
                         "{expected!r}（每個字都由 sample_next(最後一個時間步的分數, temperature, generator) 選出），"
                         "得到 {got!r}",
                         "with a generator seeded {seed} at temperature {temperature:g}, generate(model, {out_len}, "
                         "{start!r}) should be {expected!r} (each character chosen by sample_next(the scores of the "
                         "last time step, temperature, generator)), got {got!r}"),
    "generate_calls": ("generate(model, {out_len}, {start!r}) 要產生 {expected} 個字，應恰好呼叫模型 {expected} 次"
                       "（第一次送入整個開頭，之後每次一個字），實際呼叫 {got} 次",
                       "generate(model, {out_len}, {start!r}) produces {expected} characters and should call the "
                       "model exactly {expected} times (the whole start first, then one character a call), "
                       "it called it {got} times"),
    "generate_first_call": ("generate(model, {out_len}, {start!r}) 第 1 次呼叫模型應送入整個開頭：x 的形狀 (1, {steps}, D)、"
                            "不傳 hidden（或傳入 None、全零），實際為 {got}",
                            "the first model call of generate(model, {out_len}, {start!r}) should feed the whole "
                            "start: x of shape (1, {steps}, D), no hidden (or None, or zeros); it was {got}"),
    "generate_step_call": ("generate(model, {out_len}, {start!r}) 第 {index} 次呼叫模型應只送入剛產生的一個字"
                           "（x 的形狀 (1, 1, D)），並傳入上一次呼叫回傳的 hidden，實際為 {got}",
                           "model call {index} of generate(model, {out_len}, {start!r}) should feed only the "
                           "character just produced (x of shape (1, 1, D)) with the hidden the previous call "
                           "returned; it was {got}"),
    "generate_call_got": ("x 的形狀 {shape}，{hidden}", "x of shape {shape}, {hidden}"),
    "generate_hidden_none": ("沒有傳入 hidden", "no hidden"),
    "generate_hidden_zero": ("傳入全零的 hidden", "a zero hidden"),
    "generate_hidden_returned": ("傳入上一次回傳的 hidden", "the hidden the previous call returned"),
    "generate_hidden_other": ("傳入的 hidden 不是上一次回傳的", "a hidden other than the one the previous call returned"),
    # train(..., max_norm)
    "train_clip_vs_reference": ("max_norm={max_norm:g}（n_epochs={n_epochs}、lr={lr:g}）時，第 {epoch} 個 epoch 的損失"
                                "應為 {expected:.6f}（每次更新所用的梯度，全部參數合起來的範數先縮到至多 max_norm；"
                                "相對容許 {tolerance:g}），得到 {got:.6f}",
                                "with max_norm={max_norm:g} (n_epochs={n_epochs}, lr={lr:g}), the loss of epoch "
                                "{epoch} should be {expected:.6f} (the gradient of every update, all parameters "
                                "together, scaled to a norm of at most max_norm first; relative tolerance "
                                "{tolerance:g}), got {got:.6f}"),
    "train_clip_weights": ("max_norm={max_norm:g} 時，訓練後的權重與參考不同（最大誤差 {error:.3g}，容許 {tolerance:g}）",
                           "with max_norm={max_norm:g}, the weights after train differ from the reference "
                           "(largest error {error:.3g}, tolerance {tolerance:g})"),
    "train_clip_when_not_asked": ("max_norm={max_norm} 時，訓練應與不裁剪完全相同（None 表示不裁剪；梯度範數從未超過很大的 "
                                  "max_norm）：第 {epoch} 個 epoch 的損失應為 {expected:.6f}，得到 {got:.6f}",
                                  "with max_norm={max_norm}, training should be exactly as without clipping (None "
                                  "means no clipping; the gradient norm never exceeds a large max_norm): the loss "
                                  "of epoch {epoch} should be {expected:.6f}, got {got:.6f}"),
    "train_clip_below": ("max_norm={max_norm:g}（n_epochs={n_epochs}、lr={lr:g}）大於每一步的梯度範數，裁剪應什麼也不改變："
                         "第 {epoch} 個 epoch 的損失應為 {expected:.6f}（與不裁剪相同），得到 {got:.6f}；"
                         "範數沒超過 max_norm 的梯度不可以縮放",
                         "with max_norm={max_norm:g} (n_epochs={n_epochs}, lr={lr:g}) above every step's gradient "
                         "norm, clipping should change nothing: the loss of epoch {epoch} should be {expected:.6f} "
                         "(as without clipping), got {got:.6f}; a gradient whose norm is within max_norm is not "
                         "rescaled"),
    "train_hint_clip_none": ("提示：你的損失與完全沒有裁剪相同：clip_grad_norm_ 要在 loss.backward() 之後（梯度已算出）、"
                             "optimizer.step() 之前（梯度還沒被用掉）",
                             "hint: your losses are those of no clipping at all: clip_grad_norm_ goes after "
                             "loss.backward() (the gradients exist) and before optimizer.step() (before they "
                             "are used)"),
    "train_hint_clip_value": ("提示：你的損失與 clip_grad_value_（逐個元素截斷）相同：應把所有梯度合起來的範數縮到 "
                              "max_norm（clip_grad_norm_）",
                              "hint: your losses are those of clip_grad_value_ (element by element): scale the "
                              "norm of all the gradients together down to max_norm (clip_grad_norm_)"),
    # perplexity
    "ppl_vs_reference": ("{what} 應為 {expected:.6g}（所有 N·T 個位置的平均交叉熵取 exp），得到 {got:.6g}",
                         "{what} should be {expected:.6g} (exp of the mean cross-entropy over all N·T positions), "
                         "got {got:.6g}"),
    "ppl_hint_sum": ("提示：你的結果是 exp(交叉熵的總和)：應對 N·T 個位置取平均", "hint: your result is exp of the "
                     "summed cross-entropy: take the mean over the N·T positions"),
    "ppl_hint_base2": ("提示：你的結果是 2 的（平均交叉熵）次方：交叉熵是以自然對數算的，應取 exp",
                       "hint: your result is 2 to the mean cross-entropy: the cross-entropy is in natural log units, "
                       "take exp"),
    "ppl_hint_per_phrase": ("提示：你的結果是每一句困惑度的平均：應先對所有位置的交叉熵取平均，再取一次 exp",
                            "hint: your result is the mean of each phrase's perplexity: average the cross-entropy "
                            "over all positions first, then take exp once"),
    "ppl_hint_softmax": ("提示：你的結果與先做 softmax 再送進交叉熵相同：cross_entropy 自己會做 softmax，要給它分數 (logits)",
                         "hint: your result is that of a softmax before the cross-entropy: cross_entropy does the "
                         "softmax itself, give it the scores (logits)"),
    "ppl_hint_no_exp": ("提示：你的結果是平均交叉熵本身：還要取 exp", "hint: your result is the mean cross-entropy "
                        "itself: take exp of it"),
    "ppl_mode": ("perplexity 改變了模型的模式：呼叫前 model.training = {before}，呼叫後是 {after}"
                 "（若呼叫了 model.eval()，回傳前要還原）",
                 "perplexity changed the model's mode: model.training was {before} before the call and {after} "
                 "after it (after model.eval(), put the mode back before returning)"),
    "ppl_parameters_changed": ("呼叫 perplexity 之後，模型的參數（{names}）改變了：perplexity 只計算，不訓練",
                               "after perplexity, the model's parameters ({names}) changed: perplexity measures, "
                               "it does not train"),
    "ppl_grad": ("呼叫 perplexity 之後，模型的參數（{name}）有了梯度 (.grad)：請在 torch.no_grad() 之下計算，不要 backward()",
                 "after perplexity, the model's parameters ({name}) have gradients (.grad): compute under "
                 "torch.no_grad(), without backward()"),
})

# generate's graders put the judge's references of what it calls in place of the notebook's
GENERATE_CALLS = references.GENERATE_CALLS


# A model that records how it is called: (shape of x, what hidden was) for each call, where hidden is
# "none", "zero" (zeros), "returned" (equal to what the previous call returned) or "other".
RECORDER = """
import torch
from torch import nn


class Recorder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.hidden_dim, self.n_layers = model.hidden_dim, model.n_layers
        self.calls = []
        self.returned = None

    def init_hidden(self, batch_size):
        return self.model.init_hidden(batch_size)

    def forward(self, x, hidden=None):
        if hidden is None:
            kind = "none"
        elif self.returned is not None and tuple(hidden.shape) == tuple(self.returned.shape) \\
                and bool(torch.equal(hidden.to(self.returned.device), self.returned)):
            kind = "returned"
        elif not bool(torch.as_tensor(hidden).abs().max() > 0):
            kind = "zero"
        else:
            kind = "other"
        self.calls.append([list(x.shape), kind])
        out, self.returned = self.model(x, hidden)
        return out, self.returned
"""

# calls of the notebook's sample_next in a row in the worker (one request, not hundreds): every
# temperature of ``temperatures`` once, ``rounds`` times over, from one generator seeded ``seed``
SAMPLE_NEXT_DRAWS = """
import torch


def sample_next_draws(logits, temperatures, rounds, seed):
    generator = torch.Generator().manual_seed(seed)
    return [sample_next(logits.clone(), t, generator) for _ in range(rounds) for t in temperatures]
"""


# many draws in one request: counts of each index for each (logits, temperature), one generator seeded once
SAMPLE_NEXT_COUNTS = """
import torch


def sample_next_counts(logits_list, temperatures, draws, seed):
    generator = torch.Generator().manual_seed(seed)
    result = []
    for logits, temperature in zip(logits_list, temperatures):
        counts = [0] * len(logits)
        for _ in range(draws):
            index = sample_next(logits.clone(), temperature, generator)
            if type(index) is not int or not 0 <= index < len(counts):
                return {"got": type(index).__name__ if type(index) is not int else f"int {index}"}
            counts[index] += 1
        result.append(counts)
    return result
"""

# generator None: the global generator seeded by torch.manual_seed decides the draws; and it moves
SAMPLE_NEXT_GLOBAL_DRAWS = """
import torch


def sample_next_global_draws(logits, temperatures, rounds, seed):
    torch.manual_seed(seed)
    before = torch.get_rng_state()
    draws = [sample_next(logits.clone(), t, None) for _ in range(rounds) for t in temperatures]
    return draws, not torch.equal(before, torch.get_rng_state())
"""


def sample_next_reference(logits, temperature, generator=None):
    """The contract's sample_next, here in the judge (on the judge's generator): the argmax at T = 0, else
    one draw from softmax(logits / T)."""
    logits = logits.cpu()
    if temperature == 0:
        return int(torch.argmax(logits))
    return int(torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator))


hidden_model = book_model          # (the contract's Model takes hidden: one stand-in for both)


def generate_reference(model: Reference, poem: Poem, out_len: int, start: str, temperature: float = 0.0,
                       generator: torch.Generator | None = None) -> str:
    """The contract's generate on the judge's side: the start once, then one character a call with the
    hidden state carried, each character chosen by the reference sample_next."""
    chars = list(start)
    x = poem.onehot(poem.encode(start))
    hidden = None
    with torch.no_grad():
        for _ in range(out_len - len(chars)):
            out, hidden = model(x, hidden)
            index = sample_next_reference(out[-1], temperature, generator)
            chars.append(poem.int2char[index])
            x = poem.onehot(np.array([[index]]))
    return ''.join(chars)


def perplexity_reference(model: Reference, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        out, _ = model(x)
        return float(torch.exp(nn.functional.cross_entropy(out.double(), y.reshape(-1))))


def perplexity_mistakes(model: Reference, x: torch.Tensor, y: torch.Tensor) -> list:
    """(hint key, value) of the known wrong perplexities, for hints."""
    with torch.no_grad():
        out, _ = model(x)
    out, target = out.double(), y.reshape(-1)
    ce = nn.functional.cross_entropy
    per_phrase = ce(out, target, reduction="none").reshape(y.shape).mean(dim=1)
    return [("ppl_hint_sum", float(torch.exp(ce(out, target, reduction="sum")))),
            ("ppl_hint_base2", float(2 ** ce(out, target))),
            ("ppl_hint_per_phrase", float(torch.exp(per_phrase).mean())),
            ("ppl_hint_softmax", float(torch.exp(ce(torch.softmax(out, dim=-1), target)))),
            ("ppl_hint_no_exp", float(ce(out, target)))]
