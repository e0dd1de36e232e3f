"""The reference code put in the place of the blanks a blank calls, for its graders and its public checks.

Where blank B calls blank A (elman_forward calls elman_cell, sample calls predict), B is judged with A's
reference in A's place (``Submission.overriding``; the plugin does it for every grader and public check
of B), so that one mistake costs one blank: a wrong elman_cell loses elman_cell's points, and
elman_forward's graders and ``course check`` judge elman_forward alone. The same rule for both keeps the
hidden graders never laxer than the public checks.

This code runs in the worker, where a notebook could read it; it is built from torch's own fused cells
and from the book's printed code, nothing a student cannot read already.
"""

# torch.rnn_tanh_cell is h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), here with b_hh = 0
ELMAN_CELL = """
def elman_cell(x_t, h_prev, params):
    import torch
    return torch.rnn_tanh_cell(x_t, h_prev, params["W_h"], params["U_h"], params["b_h"])
"""

# the recurrence through y_{t-1}: U_h is (H, O), which torch's cells do not take
JORDAN_CELL = """
def jordan_cell(x_t, y_prev, params):
    import torch
    linear = torch.nn.functional.linear
    h = torch.tanh(linear(x_t, params["W_h"], params["b_h"]) + linear(y_prev, params["U_h"]))
    return h, torch.sigmoid(linear(h, params["W_y"], params["b_y"]))
"""

# torch's fused RNN over all time steps, then the output layer
ELMAN_FORWARD = """
def elman_forward(x, h0, params):
    import torch
    weights = [params["W_h"], params["U_h"], params["b_h"], torch.zeros_like(params["b_h"])]
    hs, _ = torch.rnn_tanh(x, h0.unsqueeze(0), weights, True, 1, 0.0, False, False, False)
    return hs, torch.nn.functional.linear(hs, params["W_y"], params["b_y"])
"""

# torch's own fused LSTM cell, chunks [i, f, g, o]
LSTM_CELL = """
def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    import torch
    return tuple(torch.lstm_cell(x, (h_prev, c_prev), W_ih, W_hh, b_ih, b_hh))
"""

# the book's character RNN: nn.RNN(batch_first=True) and nn.Linear over every time step
BOOK_MODEL = """
import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, input_size, output_size, hidden_dim, n_layers):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_size)

    def init_hidden(self, batch_size):
        weight = next(self.parameters())
        return torch.zeros(self.n_layers, batch_size, self.hidden_dim, device=weight.device)

    def forward(self, x):
        hidden = self.init_hidden(x.size(0))
        out, hidden = self.rnn(x, hidden)
        out = out.contiguous().view(-1, self.hidden_dim)
        return self.fc(out), hidden
"""

# the book's GetDummies, BOOK_PREDICT its predict and BOOK_TRAIN its train (Adam, full batch)
BOOK_GETDUMMIES = """
import numpy as np


def GetDummies(sequence, dict_size, seq_len, batch_size):
    features = np.zeros((batch_size, seq_len, dict_size), dtype=np.float32)
    for i in range(batch_size):
        for u in range(seq_len):
            features[i, u, sequence[i][u]] = 1
    return features
"""

BOOK_PREDICT = """
import numpy as np
import torch
from torch import nn


def predict(model, character):
    character = np.array([[Char2int[c] for c in character]])
    character = GetDummies(character, Dict_size, character.shape[1], 1)
    character = torch.from_numpy(character).to(device)
    with torch.no_grad():
        out, hidden = model(character)
    prob = nn.functional.softmax(out[-1], dim=0)
    return Int2char[torch.max(prob, dim=0)[1].item()], hidden
"""

BOOK_TRAIN = """
import torch
from torch import nn


def train(net, Input, Target, n_epochs=100, lr=0.01):
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for epoch in range(n_epochs):
        optimizer.zero_grad()
        output, hidden = net(Input)
        loss = criterion(output, Target.view(-1).long())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
"""

# assignment → blank → the blanks it calls, each with its reference
CALLS = {
    "01-rnn-foundations": {"elman_forward": {"elman_cell": ELMAN_CELL},
                           "jordan_forward": {"jordan_cell": JORDAN_CELL},
                           "bptt_grad_U": {"elman_forward": ELMAN_FORWARD, "elman_cell": ELMAN_CELL}},
    "02-char-rnn": {"predict": {"GetDummies": BOOK_GETDUMMIES},
                    "sample": {"GetDummies": BOOK_GETDUMMIES, "predict": BOOK_PREDICT}},
    "03-lstm": {"lstm_forward": {"lstm_cell": LSTM_CELL}},
}
