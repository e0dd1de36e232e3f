"""The references put in the place of the blanks a blank calls, for its graders and its public checks.

Where blank B calls blank A (elman_forward calls elman_cell, sample calls predict), B is judged with A's
reference in A's place (``Submission.overriding``; the plugin does it for every grader and public check
of B), so that one mistake costs one blank: a wrong elman_cell loses elman_cell's points, and
elman_forward's graders and ``course check`` judge elman_forward alone. The same rule for both keeps the
hidden graders never laxer than the public checks.

These are answers, so they run here, in the judge: the worker gets stand-ins that call back
(:mod:`autograder.remote`), and no line of them ever reaches a worker or a student's bundle (the one piece
of instrumentation here, :data:`EVALUATE`, does the worker's share of a central difference and is none). Each
entry of :data:`CALLS` makes its reference for a submission (``make(nb)``): the book's ``predict`` reads
the notebook's vocabulary and calls the worker's model; the temperature sampler draws from the worker's
generator.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn


# torch.rnn_tanh_cell is h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), here with b_hh = 0
def elman_cell(x_t, h_prev, params):
    return torch.rnn_tanh_cell(x_t, h_prev, params["W_h"], params["U_h"], params["b_h"])


# the recurrence through y_{t-1}: U_h is (H, O), which torch's cells do not take
def jordan_cell(x_t, y_prev, params):
    linear = nn.functional.linear
    h = torch.tanh(linear(x_t, params["W_h"], params["b_h"]) + linear(y_prev, params["U_h"]))
    return h, torch.sigmoid(linear(h, params["W_y"], params["b_y"]))


# torch's fused RNN over all time steps, then the output layer
def elman_forward(x, h0, params):
    weights = [params["W_h"], params["U_h"], params["b_h"], torch.zeros_like(params["b_h"])]
    hs, _ = torch.rnn_tanh(x, h0.unsqueeze(0), weights, True, 1, 0.0, False, False, False)
    return hs, nn.functional.linear(hs, params["W_y"], params["b_y"])


# autograd's gradients of L = ½ Σ ||y_t − target_t||² through torch's fused RNN, in the precision given: what
# train_elman calls bptt_grads for (computed in the judge: the backward recursion is nowhere in the worker)
def bptt_grads(x, h0, params, targets):
    names = ("W_h", "U_h", "b_h", "W_y", "b_y")
    leaves = [params[k].detach().clone().requires_grad_(True) for k in names]
    start = h0.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        _, ys = elman_forward(x, start, dict(zip(names, leaves)))
        grads = torch.autograd.grad(0.5 * ((ys - targets) ** 2).sum(), leaves + [start])
    return dict(zip(names + ("h0",), grads))


# torch's own fused LSTM cell, chunks [i, f, g, o]
def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    return tuple(torch.lstm_cell(x, (h_prev, c_prev), W_ih, W_hh, b_ih, b_hh))


# Instrumentation, not an answer: f evaluated at the points the judge chose (each a list of (index, value)
# set in θ before the call), θ's entries put back after each. The reference numerical_grad chooses the
# points and computes the differences in the judge; this only saves it a request for every entry.
EVALUATE = """
def course_evaluate(f, theta, points):
    values = []
    for changes in points:
        saved = [(tuple(index), theta[tuple(index)].item()) for index, _ in changes]
        try:
            for index, value in changes:
                theta[tuple(index)] = value
            values.append(float(f()))
        finally:
            for index, value in saved:
                theta[index] = value
    return values
"""


def numerical_grad(nb):
    """The central difference, in the judge, of f on the worker's θ (by handle: f reads θ there), f evaluated
    at θ ± ε e_i by the worker's instrumentation (:data:`EVALUATE`)."""
    from autograder.callbacks import Function

    def numerical_grad(f, theta, eps=1e-6):
        values = theta.clone()                  # (a copy, here, of the worker's θ)
        indices = list(itertools.product(*[range(n) for n in values.shape]))
        points = [[[list(i), float(values[i]) + sign * eps]] for i in indices for sign in (1, -1)]
        evaluated = nb.define("course_evaluate", EVALUATE)(f, theta, points)
        grad = torch.zeros(values.shape, dtype=torch.float64)
        for k, index in enumerate(indices):
            grad[index] = (evaluated[2 * k] - evaluated[2 * k + 1]) / (2 * eps)
        return grad

    return Function(numerical_grad, "numerical_grad", by_handle=True)


# the book's GetDummies
def getdummies(sequence, dict_size, seq_len, batch_size):
    features = np.zeros((batch_size, seq_len, dict_size), dtype=np.float32)
    for i in range(batch_size):
        for u in range(seq_len):
            features[i, u, sequence[i][u]] = 1
    return features


def predict(nb):
    """The book's predict, on the notebook's vocabulary and device, calling the worker's model (the one
    student code passes) without autograd."""
    from autograder.submission import keep

    known = {}

    def predict(model, character):
        if not known:                     # the notebook's vocabulary and device, asked once per grader
            known.update(char2int=nb.Char2int, int2char=nb.Int2char, size=nb.Dict_size,
                         cpu=nb.device.type == "cpu")
        codes = np.array([[known["char2int"][c] for c in character]])
        x = torch.from_numpy(getdummies(codes, known["size"], codes.shape[1], 1))
        x = x if known["cpu"] else keep(nb.torch.as_tensor, x, device=nb.device)
        with nb.without_autograd():
            out, hidden = model(x)
        prob = nn.functional.softmax(torch.as_tensor(out)[-1], dim=0)
        return known["int2char"][torch.max(prob, dim=0)[1].item()], hidden

    return predict


def sample_next(nb):
    """A temperature sampler: the argmax at T = 0; else one draw from softmax(logits / T), made in the worker
    from the generator student code passes (None: the worker's global one)."""

    def sample_next(logits, temperature, generator=None):
        logits = torch.as_tensor(logits).cpu()
        if temperature == 0:
            return int(torch.argmax(logits))
        probabilities = torch.softmax(logits / temperature, dim=-1)
        return int(nb.torch.multinomial(probabilities, 1, generator=generator))

    return sample_next


def same(reference):
    """A reference that needs nothing of the submission."""
    return lambda nb: reference


# assignment → blank → the blanks it calls, each with the maker of its reference
CALLS = {
    "01-rnn-foundations": {"elman_forward": {"elman_cell": same(elman_cell)},
                           "jordan_forward": {"jordan_cell": same(jordan_cell)},
                           "bptt_grad_U": {"elman_forward": same(elman_forward), "elman_cell": same(elman_cell)}},
    "02-char-rnn": {"predict": {"GetDummies": same(getdummies)},
                    "sample": {"GetDummies": same(getdummies), "predict": predict}},
    "03-lstm": {"lstm_forward": {"lstm_cell": same(lstm_cell)}},
}
# what generate may call, in the place of the notebook's while generate is graded (one mistake, one deduction)
GENERATE_CALLS = {"GetDummies": same(getdummies), "predict": predict, "sample_next": sample_next}
# what bptt_grads and find_wrong_grads may call
FORWARD_CALLS = {"elman_forward": same(elman_forward), "elman_cell": same(elman_cell)}
FIND_WRONG_GRADS_CALLS = {**FORWARD_CALLS, "numerical_grad": numerical_grad}
# what train_elman may call
TRAIN_CALLS = {**FORWARD_CALLS, "bptt_grads": same(bptt_grads)}


def made(makers: dict, nb) -> dict:
    """The references of ``makers`` (name → maker), made for the submission ``nb`` stands for."""
    return {name: make(nb) for name, make in makers.items()}


