"""References stand in the worker by callback: their code never exists there, and they answer only while their
grader runs (autograder.remote, autograder.callbacks)."""

import pytest
import torch

from autograder.callbacks import Function
from autograder.limits import Limits
from autograder.submission import StudentError, Submission

LIMITS = Limits(cell_seconds=10, notebook_seconds=30, call_seconds=10, restarts=1)

CELLS = [
    "import gc, types, torch\n",
    # a notebook that looks for the reference's code while the reference is in its place, and keeps what it finds
    "kept = []\n"
    "def forward(xs):\n"
    "    kept.append(cell)\n"
    "    code = [o for o in gc.get_objects() if isinstance(o, types.FunctionType) and o.__name__ == 'secret_cell']\n"
    "    return [cell(x) for x in xs], len(code), type(cell).__name__, hasattr(cell, '__code__')\n",
    "def later(x):\n    return kept[0](x)\n",
    "def step(model, x):\n"
    "    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)\n"
    "    optimizer.zero_grad()\n"
    "    loss = (model(x) ** 2).sum()\n"
    "    loss.backward()\n"
    "    grads = {name: p.grad.clone() for name, p in model.named_parameters()}\n"
    "    optimizer.step()\n"
    "    return float(loss), grads, {name: p.detach().clone() for name, p in model.named_parameters()}\n",
    "def nudge(f):\n    theta = torch.zeros(3)\n    return f(theta), theta\n",
    "def nudge_global():\n    return nudge(f)\n",
    "def greet(model):\n    return model.init_hidden(3).shape[0], model.hidden, model.inner.size\n",
]


@pytest.fixture(scope="module")
def sub():
    submission = Submission(CELLS, limits=LIMITS)
    submission.start()
    yield submission
    submission.close()


def test_a_reference_runs_in_the_judge_and_answers_only_in_its_scope(sub):
    def secret_cell(x):
        return x * 2

    with sub.scope(), sub.overriding(cell=secret_cell):
        values, found, kind, has_code = sub.lookup("forward")([1, 2])
        assert values == [2, 4]
        assert (found, kind, has_code) == (0, "Stub", False)   # a stand-in holding a number, no code
        assert sub.lookup("later")(5) == 10                   # inside the scope, kept or not, it answers
    with pytest.raises(StudentError, match="another grader"):
        sub.lookup("later")(5)                               # kept past its grader: it answers no more


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = 4
        self.inner = torch.nn.Module()
        self.inner.size = 3
        self.linear = torch.nn.Linear(3, 2)
        self.register_buffer("offset", torch.tensor([0.5, -0.5]))

    def init_hidden(self, batch):
        return torch.zeros(1, batch, self.hidden)

    def forward(self, x):
        return torch.tanh(self.linear(x)) + self.offset


def test_a_module_stands_in_with_its_parameters_and_its_backward_pass_computed_in_the_judge(sub):
    judge = Small()
    x = torch.randn(5, 3)
    with sub.scope():
        model = sub.remote_module(judge, methods=("init_hidden",), name="Small")
        assert model.kind == "Small"
        assert set(model.state_dict()) == {"linear.weight", "linear.bias", "offset"}
        with sub.changing(model):
            loss, grads, after = sub.lookup("step")(model, x)
        assert sub.lookup("greet")(model) == (1, 4, 3)      # methods, attributes, a submodule's attributes
    expected = (judge(x) ** 2).sum()
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    for name, p in judge.named_parameters():
        assert torch.allclose(grads[name], p.grad, atol=1e-6), name
        assert torch.allclose(after[name], p.detach() - 0.5 * p.grad, atol=1e-6), name


def test_a_reference_may_work_on_the_workers_objects_by_handle(sub):
    def f_of(theta):
        theta[1] = 7.0                       # in the worker, in place: the notebook's tensor changes
        return float(theta[1] * 2)

    with sub.scope():
        f = sub.stub(lambda t: f_of(t), "f", by_handle=True)
        value, theta = sub.lookup("nudge")(f)
    assert value == 14.0 and theta.tolist() == [0.0, 7.0, 0.0]
    # the same in the place of a notebook's global (numerical_grad's reference nudges the notebook's θ)
    with sub.scope(), sub.overriding(f=Function(f_of, "f", by_handle=True)):
        value, theta = sub.lookup("nudge_global")()
    assert value == 14.0 and theta.tolist() == [0.0, 7.0, 0.0]


def test_a_reference_that_refuses_raises_in_student_code(sub):
    with sub.scope(), sub.overriding(cell=lambda x: torch.zeros(2) @ torch.zeros(3)):
        with pytest.raises(StudentError) as raised:
            sub.lookup("forward")([1])
    assert raised.value.type == "RuntimeError"


def test_a_reference_whose_answer_cannot_cross_fails_the_call_not_the_worker(sub):
    with sub.scope(), sub.overriding(cell=lambda x: object()):
        with pytest.raises(StudentError, match="cannot be sent to the worker"):
            sub.lookup("forward")([1])
        assert sub.lookup("forward").kind == "function"      # the same worker answers on
    assert sub.restarts == 0
