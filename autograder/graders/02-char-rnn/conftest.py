"""Fixtures of the char-RNN graders; the reference itself is in autograder/graders/char_rnn.py."""

import numpy as np
import pytest
import torch

from autograder.graders.char_rnn import CHARS, TEXT, Poem, book_model, on_device
from autograder.references import BOOK_TRAIN
from autograder.submission import Handle, WorkerLost


@pytest.fixture(scope="session")
def poem(nb) -> Poem:
    """The vocabulary the student's predict will use: their Char2int/Int2char, if they are sound."""
    char2int, int2char = nb.Char2int, nb.Int2char
    sound = (type(char2int) is dict and type(int2char) is dict and set(char2int) == set(CHARS)
             and sorted(char2int.values()) == list(range(len(CHARS)))
             and all(int2char.get(i) == c for c, i in char2int.items()))
    if not sound:
        char2int = {c: i for i, c in enumerate(CHARS)}
        int2char = dict(enumerate(CHARS))
    inputs = np.array([[char2int[c] for c in p[:-1]] for p in TEXT], dtype=np.int64)
    targets = np.array([[char2int[c] for c in p[1:]] for p in TEXT], dtype=np.int64)
    return Poem(char2int, int2char, inputs, targets)


def alive(handle: Handle) -> bool:
    """Whether the worker that holds ``handle`` still runs (a call that killed it leaves handles stale)."""
    try:
        handle.training                 # any attribute: a stale handle raises before asking the worker
    except WorkerLost:
        return False
    return True


def training(nb, poem, train_of):
    """Models trained by ``train_of()`` (a handle of the worker's: the student's train or the book's), one per
    retry seed, built on demand and kept while their worker lives (a call that killed the worker leaves
    them stale: they are built again, as a fresh grading would build them): ``get(seed)`` is the book's
    Model(28, 28, 12, 1) after 100 epochs at lr 0.01, and ``get.losses[seed]`` what train returned for it."""
    cache: dict[int, Handle] = {}

    def get(seed: int) -> Handle:
        if seed not in cache or not alive(cache[seed]):
            nb.reseed(seed)
            model = book_model(nb, poem.size, poem.size, 12, 1)[0]
            x = on_device(nb, poem.onehot(poem.inputs))
            y = on_device(nb, torch.from_numpy(poem.targets))
            with nb.time_limit(120), nb.changing(model):
                get.losses[seed] = train_of()(model, x, y, n_epochs=100, lr=0.01)
            cache[seed] = model
        return cache[seed]

    get.losses = {}
    return get


@pytest.fixture(scope="session")
def trained(nb, poem):
    """The book's Model trained by the student's train (the train graders')."""
    return training(nb, poem, lambda: nb.train)


@pytest.fixture(scope="session")
def book_trained(nb, poem):
    """The book's Model trained by the book's train (the sample and generate graders': a wrong train costs
    train's points only)."""
    return training(nb, poem, lambda: nb.define("train", BOOK_TRAIN))
