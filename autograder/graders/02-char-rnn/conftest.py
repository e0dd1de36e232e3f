"""Fixtures of the char-RNN graders; the reference itself is in autograder/graders/char_rnn.py."""

import numpy as np
import pytest
import torch

from autograder.graders.char_rnn import (CHARS, TEXT, Poem, Reference, book_model, on_device, reference_losses,
                                         state_of)
from autograder.submission import Handle


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


def training(nb, poem, trains):
    """Models trained on the poem, one per retry seed: ``get(seed)`` is the book's Model(28, 28, 12, 1), its
    weights drawn from ``seed``, after 100 epochs at lr 0.01, standing in the worker (made again for each
    grader: a stand-in answers only while its grader runs), and ``get.losses[seed]`` the losses of its
    training; ``get.start[seed]`` and ``get.weights[seed]`` its weights before and after. ``trains(x, y, state)``
    trains it: (losses, the weights after)."""
    weights: dict[int, dict] = {}

    def get(seed: int) -> Handle:
        if seed not in weights:
            nb.reseed(seed)
            with torch.random.fork_rng(devices=[]):           # the first weights from the seed alone
                torch.default_generator.manual_seed(seed)
                start = dict(Reference(poem.size, poem.size, 12, 1).state_dict())
            x, y = poem.onehot(poem.inputs), torch.from_numpy(poem.targets)
            get.start[seed] = start
            get.losses[seed], weights[seed] = trains(x, y, start)
        return book_model(nb, poem.size, poem.size, 12, 1, state=weights[seed])[0]

    get.losses, get.start, get.weights = {}, {}, weights
    return get


@pytest.fixture(scope="session")
def trained(nb, poem):
    """The book's Model trained by the student's train (the train graders')."""
    def by_the_student(x, y, start):
        model = book_model(nb, poem.size, poem.size, 12, 1, state=start)[0]
        with nb.time_limit(120), nb.changing(model):
            losses = nb.train(model, on_device(nb, x), on_device(nb, y), n_epochs=100, lr=0.01)
        return losses, state_of(model)

    return training(nb, poem, by_the_student)


@pytest.fixture(scope="session")
def book_trained(nb, poem):
    """The book's Model trained by the book's train, here in the judge (the sample and generate graders': a
    wrong train costs train's points only)."""
    return training(nb, poem, lambda x, y, start: reference_losses(start, x, y, 100, 0.01))
