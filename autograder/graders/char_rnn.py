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

from autograder.messages import msg
from autograder.references import BOOK_MODEL
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
    """The contract's model: nn.RNN(batch_first=True), then nn.Linear on every time step."""

    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def forward(self, x):                                   # x: (N, T, D)
        h0 = torch.zeros(self.rnn.num_layers, x.size(0), self.rnn.hidden_size, dtype=x.dtype)
        out, hidden = self.rnn(x, h0)                       # (N, T, H), (L, N, H)
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


def reference_losses(state: dict, x: torch.Tensor, y: torch.Tensor, n_epochs: int, lr: float):
    """Full-batch Adam on cross-entropy, one step an epoch: the losses and the final weights.

    Remembered for the judge's lifetime: students whose models start from the same weights (most do,
    with the grader's seed) share one reference run, which is a third of a submission's grading time.
    """
    key = digest(state, x, y, n_epochs, lr)
    if key not in _TRAINED:
        if len(_TRAINED) >= 256:
            _TRAINED.clear()
        _TRAINED[key] = train_reference(state, x, y, n_epochs, lr)
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


def train_reference(state: dict, x: torch.Tensor, y: torch.Tensor, n_epochs: int, lr: float, optimizer=Adam):
    model = reference_from(state)
    optimizer = optimizer(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for _ in range(n_epochs):
        optimizer.zero_grad()
        out, _ = model(x)
        loss = criterion(out, y.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model.state_dict()


def greedy(model: Reference, poem: Poem, context: str) -> tuple[str, float]:
    """The reference's next character after ``context`` and its margin over the runner-up."""
    with torch.no_grad():
        out, _ = model(poem.onehot(poem.encode(context)))
    top = torch.topk(out[-1].double(), 2)
    return poem.int2char[int(top.indices[0])], float(top.values[0] - top.values[1])


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


def forward(nb, model: Handle, x: torch.Tensor, what: str = "Model.forward"):
    """Run the student's forward on ``x``; return (out, hidden) as judge-side tensors."""
    result = model(on_device(nb, x))
    if type(result) not in (tuple, list) or len(result) != 2:
        fail("expected_got", what=msg("return_value_of", what=what),
             expected="(out, hidden)", got=kind_of(result))
    out, hidden = result
    return (torch.from_numpy(to_array(out, f"{what}: out")).float(),
            torch.from_numpy(to_array(hidden, f"{what}: hidden")).float())






def book_model(nb, *args) -> tuple[Handle, Reference]:
    """The book's ``Model(*args)`` in the worker, on the submission's device, and its judge-side twin."""
    model = to_device(nb, nb.define("Model", BOOK_MODEL)(*args))     # so a wrong Model costs Model's points only
    return model, reference_from(state_of(model))


def expect_text(value, what: str) -> str:
    check(type(value) is str, "wrong_type", what=what, expected="str", got=kind_of(value))
    return value
