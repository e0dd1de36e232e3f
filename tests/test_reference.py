"""The graders' own reference pieces agree with the PyTorch they stand in for."""

import torch

from autograder.graders import char_rnn


def test_the_hand_written_adam_follows_torch_optim_adam_step_for_step():
    poem = char_rnn.Poem({c: i for i, c in enumerate(char_rnn.CHARS)}, dict(enumerate(char_rnn.CHARS)), None, None)
    codes = [[poem.char2int[c] for c in line] for line in char_rnn.TEXT]
    x = poem.onehot(torch.tensor([c[:-1] for c in codes]).numpy())
    y = torch.tensor([c[1:] for c in codes])
    torch.manual_seed(0)
    start = dict(char_rnn.Reference(len(char_rnn.CHARS), len(char_rnn.CHARS), 9, 2).state_dict())
    for lr in (0.02, 0.005):
        ours, our_weights = char_rnn.train_reference(start, x, y, 30, lr)
        theirs, their_weights = char_rnn.train_reference(start, x, y, 30, lr, optimizer=torch.optim.Adam)
        assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-6
        assert max(float((our_weights[k] - their_weights[k]).abs().max()) for k in our_weights) < 1e-6
        assert ours[-1] < 0.8 * ours[0]           # and it does train
