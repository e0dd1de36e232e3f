"""train_task(model, batches, lr=0.01, max_norm=1.0) → one Python float per batch: Adam on the mean squared
error, one update per batch, nn.utils.clip_grad_norm_(model.parameters(), max_norm) between backward and
step, each loss taken before its update. Judged against the reference run from the same weights and
batches, and by what it achieves: an LSTM it trains solves the adding problem at a short length."""

import pytest
import torch

from autograder.graders.lstm import (
    adding_batch, hints, task_mse, task_state, train_reference, worker_task_net,
)
from autograder.toolkit import Fail, calling, check, fail, first_match, is_float, kind_of
from autograder.messages import msg

BLANK = "train_task"
LOSS_RTOL = 5e-4          # float32 runs of the same training agree to ~1e-6; the mistakes move a loss by 1e-2
LOSS_ATOL = 1e-6
WEIGHT_ATOL = 1e-4
MISTAKES = ("train_no_zero_grad", "train_no_clip", "train_new_optimizer", "train_sum_loss")


def batches_of(steps: int, n: int, T: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return [adding_batch(n, T, g) for _ in range(steps)]


def what_of(kind: str, steps: int, lr: float, max_norm: float) -> str:
    return f"train_task(TaskNet(nn.{kind}, H), {steps} batches, lr={lr:g}, max_norm={max_norm:g})"


def run(nb, model, batches, lr, max_norm, what):
    with nb.time_limit(60), nb.changing(model), calling(BLANK):     # train_task changes the model, and only it
        losses = nb.train_task(model, batches, lr=lr, max_norm=max_norm)
    check(type(losses) in (list, tuple), "wrong_type", what=what, expected="list", got=kind_of(losses))
    check(len(losses) == len(batches), "lstm_train_len", what=what, n=len(batches), got=len(losses))
    for index, value in enumerate(losses):
        check(is_float(value), "lstm_train_floats", what=what, index=index, got=kind_of(value))
    return list(losses)


def state_of(model) -> dict:
    state = model.state_dict()
    return {k: v.float() for k, v in state.items()}


# (kind, hidden, batches, n, T, lr, max_norm): max_norm 0.05 clips every step, 100 never does; lr = 0 and
# max_norm = 1e-12 as the visible check has them (the weights stay put, or barely move)
SETTINGS = [("LSTM", 5, 14, 8, 6, 0.02, 0.05), ("GRU", 4, 10, 6, 5, 0.01, 100.0), ("RNN", 6, 12, 5, 7, 0.03, 0.2),
            ("LSTM", 4, 5, 6, 5, 0.0, 1.0), ("GRU", 5, 5, 6, 5, 0.01, 1e-12)]


@pytest.mark.points(1, blank=BLANK)
def test_returns_losses(nb):
    """回傳每個批次一個 Python float（批次數不能寫死）/ returns one Python float per batch (however many batches)"""
    for steps in (3, 5):
        state = task_state("LSTM", 4)
        model = worker_task_net(nb, "LSTM", state)
        run(nb, model, batches_of(steps, 4, 5, steps), 0.01, 1.0, what_of("LSTM", steps, 0.01, 1.0))


@pytest.mark.points(3, blank=BLANK)
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"{s[0]},lr={s[5]:g},max_norm={s[6]:g}")
def test_follows_reference(nb, setting):
    """從相同的初始權重與批次出發，損失與參考（Adam、均方誤差、梯度裁剪）一致 / from the same weights and batches, the losses of the reference (Adam, MSE, clipping)"""
    kind, hidden, steps, n, T, lr, max_norm = setting
    state = task_state(kind, hidden)
    batches = batches_of(steps, n, T, 40 + hidden)
    what = what_of(kind, steps, lr, max_norm)
    losses = run(nb, worker_task_net(nb, kind, state), batches, lr, max_norm, what)
    expected, _ = train_reference(kind, state, batches, lr, max_norm)
    for step, (got, want) in enumerate(zip(losses, expected), start=1):
        if abs(got - want) > LOSS_ATOL + LOSS_RTOL * abs(want):
            message = msg("lstm_train_vs_reference", what=what, step=step, expected=want, got=got, tolerance=LOSS_RTOL)
            candidates = hints(lambda mistake: [torch.tensor(train_reference(kind, state, batches, lr, max_norm,
                                                                             mistake)[0])], MISTAKES)
            hint = first_match([torch.tensor(losses)], candidates, rtol=LOSS_RTOL, atol=LOSS_ATOL)
            raise Fail(message + hint if hint else message)


@pytest.mark.points(1, blank=BLANK)
def test_trains_its_argument(nb):
    """訓練的是傳入的 model：之後它的權重等於參考訓練的結果 / it trains the model it is given, to the reference's weights"""
    kind, hidden, steps, n, T, lr, max_norm = SETTINGS[0]
    state = task_state(kind, hidden)
    batches = batches_of(steps, n, T, 7)
    what = what_of(kind, steps, lr, max_norm)
    model = worker_task_net(nb, kind, state)
    run(nb, model, batches, lr, max_norm, what)
    after = state_of(model)
    check(any(not torch.equal(after[k], state[k]) for k in state), "lstm_train_unchanged", what=what)
    _, expected = train_reference(kind, state, batches, lr, max_norm)
    error = max(float((after[k] - expected[k]).abs().max()) for k in expected)
    check(error <= WEIGHT_ATOL, "lstm_train_weights", what=what, error=error, tolerance=WEIGHT_ATOL)


# an LSTM of 16 at T = 5 after 150 batches of 32 (lr 0.03): MSE 0.002–0.013 (12 seeds measured), where guessing
# the mean gives 0.167 and remembering only the second marked number 0.083
SOLVE = {"hidden": 16, "T": 5, "steps": 150, "n": 32, "lr": 0.03, "max_norm": 1.0}
THRESHOLD = 0.03


@pytest.mark.points(2, blank=BLANK)
def test_lstm_solves_short_problem(nb, retry_seeds):
    """用它訓練的 LSTM 學會了短序列 (T = 5) 的加法問題 / an LSTM trained by it solves the adding problem at T = 5"""
    best = float("inf")
    for seed in retry_seeds:
        torch.manual_seed(seed)
        state = task_state("LSTM", SOLVE["hidden"])
        g = torch.Generator().manual_seed(1000 + seed)
        batches = [adding_batch(SOLVE["n"], SOLVE["T"], g) for _ in range(SOLVE["steps"])]
        x_test, y_test = adding_batch(500, SOLVE["T"], g)
        model = worker_task_net(nb, "LSTM", state)
        run(nb, model, batches, SOLVE["lr"], SOLVE["max_norm"],
            what_of("LSTM", SOLVE["steps"], SOLVE["lr"], SOLVE["max_norm"]))
        best = min(best, task_mse("LSTM", state_of(model), x_test, y_test))
        if best < THRESHOLD:
            return
    fail("lstm_train_not_solved", hidden=SOLVE["hidden"], T=SOLVE["T"], steps=SOLVE["steps"], n=SOLVE["n"],
         lr=SOLVE["lr"], max_norm=SOLVE["max_norm"], seeds=list(retry_seeds), best=best, threshold=THRESHOLD)
