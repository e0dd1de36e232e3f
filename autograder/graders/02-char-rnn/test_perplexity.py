"""perplexity(model, Input, Target) → float: exp of the mean cross-entropy over all N·T positions, under
torch.no_grad(), the model's mode and parameters left as they were.

Graded with the contract's Model made in the worker (a wrong Model costs Model's points only), its
output layer scaled up so that the known mistakes (exp of the sum, base 2, the mean of each phrase's
perplexity, softmax twice) move the result far beyond round-off.
"""

import math

import numpy as np
import pytest
import torch

from autograder.graders.char_rnn import (hidden_model, on_device, perplexity_mistakes, perplexity_reference,
                                         reference_from, state_of)
from autograder.messages import msg
from autograder.toolkit import Fail, check, kind_of

BLANK = "perplexity"
PPL_RTOL = 1e-4          # float32 cross-entropy of a few dozen positions, then exp: ~1e-6 relative

GRADS = """
def parameters_with_grad(model):
    return [name for name, p in model.named_parameters() if p.grad is not None]
"""


def scaled_model(nb, args, scale):
    """The contract's Model(*args) with its output layer ``scale`` times the usual: confident scores."""
    model, _ = hidden_model(nb, *args)
    state = {k: v * scale if k.startswith("fc.") else v for k, v in state_of(model).items()}
    with nb.changing(model):
        model.load_state_dict(state)
    return model, reference_from(state)


def matches(got: float, value: float) -> bool:
    """Whether ``got`` is ``value`` (a known mistake's), in float32: exp of a sum overflows there to inf."""
    if math.isinf(got):
        return got > 0 and value > torch.finfo(torch.float32).max
    return math.isfinite(got) and abs(got - value) <= PPL_RTOL * abs(value)


def expect_perplexity(nb, model, reference, x, y, what):
    got = nb.perplexity(model, on_device(nb, x), on_device(nb, y))
    check(isinstance(got, float) and not isinstance(got, bool), "wrong_type", what=what, expected="float",
          got=kind_of(got))
    expected = perplexity_reference(reference, x, y)
    if not (math.isfinite(got) and abs(got - expected) <= PPL_RTOL * abs(expected)):
        message = msg("ppl_vs_reference", what=what, expected=expected, got=got)
        hint = next((key for key, value in perplexity_mistakes(reference, x, y) if matches(got, value)), None)
        raise Fail(message + msg(hint) if hint else message)


@pytest.mark.points(2, blank=BLANK)
def test_poem(nb, poem):
    """詩句上與參考相同（隨機權重，一層與兩層）/ on the poem, equals the reference (random weights, one and two layers)"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    for args, scale in (((poem.size, poem.size, 12, 1), 6.0), ((poem.size, poem.size, 8, 2), 4.0)):
        model, reference = scaled_model(nb, args, scale)
        expect_perplexity(nb, model, reference, x, y, f"perplexity(Model{args}, Input, Target)")


@pytest.mark.points(1, blank=BLANK)
def test_other_sizes(nb):
    """其他大小（N、T、D 與輸出大小都不同）/ other sizes (N, T, D and the output size all different)"""
    rng = np.random.default_rng(23)
    for (n, t, d, o), scale in (((5, 4, 10, 7), 5.0), ((2, 6, 4, 9), 3.0)):
        model, reference = scaled_model(nb, (d, o, 6, 1), scale)
        x = torch.from_numpy(np.eye(d, dtype=np.float32)[rng.integers(0, d, size=(n, t))])
        y = torch.from_numpy(rng.integers(0, o, size=(n, t)))
        expect_perplexity(nb, model, reference, x, y, f"perplexity(Model({d}, {o}, 6, 1), x {tuple(x.shape)}, "
                                                       f"y {tuple(y.shape)})")


PARAMETERS = """
def parameters_of(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}
"""


@pytest.mark.points(1, blank=BLANK)
def test_mode_kept(nb, poem):
    """不改變模型的模式 (model.training)：訓練模式與評估模式都原樣留下 / the model's mode kept, training and evaluation alike"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    for training in (True, False):
        model, _ = scaled_model(nb, (poem.size, poem.size, 12, 1), 2.0)
        model.train(training)
        nb.perplexity(model, on_device(nb, x), on_device(nb, y))
        after = model.training
        check(after is training, "ppl_mode", before=training, after=after)


@pytest.mark.points(1, blank=BLANK)
def test_no_gradients_no_updates(nb, poem):
    """不留下梯度、不改變參數 / no gradients left, the parameters unchanged"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    grads = nb.define("parameters_with_grad", GRADS)
    parameters = nb.define("parameters_of", PARAMETERS)
    for training in (True, False):
        model, _ = scaled_model(nb, (poem.size, poem.size, 12, 1), 2.0)
        model.train(training)
        before = parameters(model)
        nb.perplexity(model, on_device(nb, x), on_device(nb, y))
        with_grad = grads(model)
        check(not with_grad, "ppl_grad", name=", ".join(with_grad) if isinstance(with_grad, list) else with_grad)
        after = parameters(model)
        changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
        check(not changed, "ppl_parameters_changed", names=", ".join(changed))
