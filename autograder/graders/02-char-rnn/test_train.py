"""train(net, Input, Target, n_epochs=100, lr=0.01, max_norm=None) → a list of n_epochs Python floats."""

import pytest
import torch
from torch import nn

from autograder.graders.char_rnn import (book_model, on_device, reference_from, reference_losses, state_of,
                                         train_reference)
from autograder.messages import msg, say
from autograder.toolkit import Fail, check, fail, is_float, kind_of

BLANK = "train"
# CPU and CUDA runs of the same training agree to ~1e-5 relative; a missing zero_grad is 1e-3 off by
# epoch 3 and far more by epoch 12.
LOSS_RTOL = 5e-4
LOSS_ATOL = 1e-5
WEIGHT_ATOL = 1e-4


def run_train(nb, poem, model, **kwargs):
    x = on_device(nb, poem.onehot(poem.inputs))
    y = on_device(nb, torch.from_numpy(poem.targets))
    with nb.time_limit(120), nb.changing(model):      # train changes the model's weights, and only those
        return nb.train(model, x, y, **kwargs)


def expect_losses(losses, n):
    check(type(losses) in (list, tuple), "wrong_type", what="train(...)", expected="list", got=kind_of(losses))
    check(len(losses) == n, "train_len", n=n, got=len(losses))
    for index, value in enumerate(losses):
        check(is_float(value), "train_floats", index=index, got=kind_of(value))


def poem_loss(state: dict, poem) -> float:
    """The cross-entropy of the model with weights ``state`` on the poem, measured here: what train reports
    is checked against it, never believed."""
    with torch.no_grad():
        out, _ = reference_from(state)(poem.onehot(poem.inputs))
        return float(nn.functional.cross_entropy(out, torch.from_numpy(poem.targets).reshape(-1)))


def expect_measured(losses, start: dict, poem) -> None:
    """The first loss train returns is the model's loss at the weights it started from (epoch 1's forward)."""
    first = poem_loss(start, poem)
    check(abs(losses[0] - first) <= LOSS_ATOL + LOSS_RTOL * abs(first), "train_losses_measured", expected=first,
          got=losses[0])


@pytest.mark.points(2, blank=BLANK)
def test_returns_losses(nb, poem):
    """回傳 n_epochs 個 Python float，是模型實際的損失（n_epochs 不能寫死）/ returns n_epochs Python floats, the model's own losses (n_epochs honoured)"""
    for n in (7, 3):
        model, _ = book_model(nb, poem.size, poem.size, 12, 1)
        start = state_of(model)
        losses = run_train(nb, poem, model, n_epochs=n, lr=0.01)
        expect_losses(losses, n)
        expect_measured(losses, start, poem)


@pytest.mark.points(2, blank=BLANK)
def test_loss_decreases(trained, poem, retry_seeds):
    """100 個 epoch 後，模型的損失（在這裡重新量測）下降到一半以下 / after 100 epochs the model's loss, measured here, is below half its start"""
    seed = retry_seeds[0]
    trained(seed)             # the book's Model(28, 28, 12, 1) trained by your train, lr 0.01
    losses = trained.losses[seed]
    expect_losses(losses, 100)
    expect_measured(losses, trained.start[seed], poem)
    first, last = poem_loss(trained.start[seed], poem), poem_loss(trained.weights[seed], poem)
    check(last < 0.5 * first, "train_not_decreasing", first=first, last=last)


@pytest.mark.points(5, blank=BLANK)
def test_follows_reference(nb, poem, record_curve):
    """從相同初始權重出發，損失與參考的 Adam + CrossEntropyLoss 一致（lr 也要用上）/ losses follow the reference"""
    for n_epochs, lr in ((12, 0.02), (6, 0.005)):
        model, _ = book_model(nb, poem.size, poem.size, 9, 1)
        start = state_of(model)
        losses = run_train(nb, poem, model, n_epochs=n_epochs, lr=lr)
        expect_losses(losses, n_epochs)
        expected, _ = reference_losses(start, poem.onehot(poem.inputs), torch.from_numpy(poem.targets),
                                       n_epochs, lr)
        # the feedback page draws the two curves of the first run, whatever the verdict
        record_curve("loss", title=say("curve_loss_title", lr=lr), x_label="epoch", y_label="loss",
                     series={say("curve_yours"): losses, say("curve_reference"): expected})
        for epoch, (got, want) in enumerate(zip(losses, expected), start=1):
            if abs(got - want) > LOSS_ATOL + LOSS_RTOL * abs(want):
                fail("train_vs_reference", epoch=epoch, expected=want, got=got, lr=lr, tolerance=LOSS_RTOL)


@pytest.mark.points(3, blank=BLANK)
def test_trains_its_argument(nb, poem):
    """訓練的是傳入的 net：之後它的權重等於參考訓練的結果 / it trains the net it is given, to the reference's weights"""
    model, _ = book_model(nb, poem.size, poem.size, 12, 1)
    start = state_of(model)
    run_train(nb, poem, model, n_epochs=10, lr=0.01)
    after = state_of(model)
    check(any(not torch.equal(after[k], start[k]) for k in start), "train_weights_unchanged")
    _, expected = reference_losses(start, poem.onehot(poem.inputs), torch.from_numpy(poem.targets), 10, 0.01)
    error = max(float((after[k] - expected[k].float()).abs().max()) for k in expected)
    check(error <= WEIGHT_ATOL, "train_final_weights", error=error, tolerance=WEIGHT_ATOL)


# ------------------------------------------------------------------ gradient clipping: train(..., max_norm)
# Adam hardly notices a gradient scaled by a constant, so clipping shows only where the gradient norm moves
# during the run: these runs are long enough for that. Their largest relative differences from the
# reference: not clipping 2.5e-2 and 8.5e-3, clip_grad_value_ 5.6e-2 (first run), 17 to 100 times the
# tolerance; float32 and float64 runs of the reference agree to 3e-7.
CLIPPED = ((25, 0.02, 12, 0.002), (20, 0.02, 9, 0.05))      # n_epochs, lr, hidden size, max_norm


def first_off(losses, expected):
    """The first epoch (from 1) whose loss is off ``expected``'s, or None."""
    return next((epoch for epoch, (got, want) in enumerate(zip(losses, expected), start=1)
                 if abs(got - want) > LOSS_ATOL + LOSS_RTOL * abs(want)), None)


def follows(losses, expected, key, **fields):
    """None where the losses follow ``expected``; else message ``key`` for the first epoch off."""
    epoch = first_off(losses, expected)
    if epoch is None:
        return None
    return msg(key, epoch=epoch, expected=expected[epoch - 1], got=losses[epoch - 1], **fields)


def clipped_run(nb, poem, n_epochs: int, lr: float, hidden: int, max_norm: float):
    """train on a fresh contract Model with ``max_norm``: (model, its starting weights, the losses)."""
    model, _ = book_model(nb, poem.size, poem.size, hidden, 1)
    start = state_of(model)
    losses = run_train(nb, poem, model, n_epochs=n_epochs, lr=lr, max_norm=max_norm)
    expect_losses(losses, n_epochs)
    return model, start, losses


@pytest.mark.points(3, blank=BLANK)
def test_clip_follows_reference(nb, poem):
    """max_norm：在 backward 與 step 之間 clip_grad_norm_，損失與權重與參考相同 / max_norm: clip_grad_norm_ between backward and step, as the reference"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    for n_epochs, lr, hidden, max_norm in CLIPPED:
        model, start, losses = clipped_run(nb, poem, n_epochs, lr, hidden, max_norm)
        expected, weights = reference_losses(start, x, y, n_epochs, lr, max_norm)
        wrong = follows(losses, expected, "train_clip_vs_reference", max_norm=max_norm, n_epochs=n_epochs, lr=lr,
                        tolerance=LOSS_RTOL)
        if wrong is not None:
            mistakes = (("train_hint_clip_none", lambda: reference_losses(start, x, y, n_epochs, lr)[0]),
                        ("train_hint_clip_value", lambda: train_reference(start, x, y, n_epochs, lr, max_norm=max_norm,
                                                                          clip=nn.utils.clip_grad_value_)[0]))
            hint = next((key for key, losses_of in mistakes if first_off(losses, losses_of()) is None), None)
            raise Fail(wrong + msg(hint) if hint else wrong)
        after = state_of(model)
        error = max(float((after[k] - weights[k].float()).abs().max()) for k in weights)
        check(error <= WEIGHT_ATOL, "train_clip_weights", max_norm=max_norm, error=error, tolerance=WEIGHT_ATOL)


@pytest.mark.points(1, blank=BLANK)
def test_clip_only_when_asked(nb, poem):
    """max_norm=None（預設）或很大時不裁剪，即使梯度範數大於 1 / no clipping with max_norm=None (the default) or a large one, even for gradient norms above 1"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    for kwargs in ({}, {"max_norm": None}, {"max_norm": 1e3}):
        model, _ = book_model(nb, poem.size, poem.size, 12, 1)
        # weights ten times the usual: gradient norms 2 to 5 (a clip at 1.0 "by default" would show)
        scaled = {k: v * 10 for k, v in state_of(model).items()}
        with nb.changing(model):
            model.load_state_dict(scaled)
        start = state_of(model)
        losses = run_train(nb, poem, model, n_epochs=8, lr=0.01, **kwargs)
        expect_losses(losses, 8)
        expected, _ = reference_losses(start, x, y, 8, 0.01)
        wrong = follows(losses, expected, "train_clip_when_not_asked", max_norm=kwargs.get("max_norm"))
        if wrong is not None:
            raise Fail(wrong)


# max_norm above every gradient norm of the run (the largest is about 0.35): clip_grad_norm_ leaves the
# gradients alone. A clip that always rescales the gradient to norm max_norm (even when it is below) moves
# the losses by 1.5e-2 to 6e-2 relative in such runs, 30 to 120 times LOSS_RTOL.
ABOVE = ((30, 0.02, 12, 2.0), (20, 0.05, 9, 1.0))      # n_epochs, lr, hidden size, max_norm


@pytest.mark.points(1, blank=BLANK)
def test_clip_leaves_small_gradients_alone(nb, poem):
    """max_norm 大於梯度範數時，梯度不變（不可以一律縮放到 max_norm）/ a gradient norm below max_norm is left alone (no rescaling up to max_norm)"""
    x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
    for n_epochs, lr, hidden, max_norm in ABOVE:
        _, start, losses = clipped_run(nb, poem, n_epochs, lr, hidden, max_norm)
        expected, _ = reference_losses(start, x, y, n_epochs, lr)
        wrong = follows(losses, expected, "train_clip_below", max_norm=max_norm, n_epochs=n_epochs, lr=lr)
        if wrong is not None:
            raise Fail(wrong)
