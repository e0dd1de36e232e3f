"""The worker process: cells in order, errors recorded, deaths contained, limits enforced."""

import os
import time

import numpy as np
import pytest

from autograder.limits import Limits
from autograder.submission import StudentError, Submission, keep
from autograder.worker_process import WorkerLost

FAST = Limits(cell_seconds=3, notebook_seconds=30, call_seconds=3, restarts=3)


@pytest.fixture
def run():
    started = []

    def start(*cells, limits=FAST):
        sub = Submission(list(cells), limits=limits)
        started.append(sub)
        sub.start()
        return sub

    yield start
    for sub in started:
        sub.close()


def statuses(sub):
    return [(r.index, r.status) for r in sub.runs]


def test_cells_run_in_order_in_one_namespace(run):
    sub = run("x = 2", "y = x * 21", "print('hello')")
    assert sub.lookup("y") == 42 and statuses(sub) == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert "hello" in sub.output()


def test_an_error_is_recorded_and_later_cells_still_run(run):
    sub = run("a = 1", "raise ValueError('boom')", "b = a + 1")
    assert statuses(sub) == [(0, "ok"), (1, "error"), (2, "ok")]
    assert sub.runs[1].error["type"] == "ValueError" and "boom" in sub.runs[1].error["message"]
    assert sub.lookup("b") == 2


@pytest.mark.parametrize("killer", ["import os\nos._exit(3)", "import ctypes\nctypes.string_at(0)"])
def test_a_cell_that_kills_the_worker_is_skipped_on_a_fresh_worker(run, killer):
    sub = run("a = 1", killer, "b = a + 1")
    assert [r.status for r in sub.runs] == ["ok", "skipped", "ok"] and sub.lookup("b") == 2
    assert sub.restarts == 1


def test_system_exit_keyboard_interrupt_and_recursion_in_a_cell_are_ordinary_errors(run):
    sub = run("import sys\nsys.exit(0)", "raise KeyboardInterrupt",
              "def f(n):\n    return f(n + 1)\nf(0)", "c = 3")
    assert statuses(sub) == [(0, "error"), (1, "error"), (2, "error"), (3, "ok")] and sub.restarts == 0
    assert sub.runs[2].error["type"] == "RecursionError"


def test_a_cell_past_its_time_is_stopped_and_the_next_runs(run):
    started = time.monotonic()
    sub = run("while True:\n    pass", "d = 4")
    assert statuses(sub) == [(0, "timeout"), (1, "ok")] and sub.lookup("d") == 4
    assert time.monotonic() - started < 15


@pytest.mark.slow
def test_a_cell_that_swallows_the_timeout_is_killed_by_the_judge(run):
    """At the cell's limit (and a grace), not at the notebook's: here 1 + 5 s, not 300."""
    stubborn = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    started = time.monotonic()
    sub = run("e = 5", stubborn, "f = 6", limits=Limits(cell_seconds=1, notebook_seconds=300, call_seconds=2, restarts=2))
    assert [r.status for r in sub.runs] == ["ok", "skipped", "ok"] and sub.lookup("f") == 6
    assert sub.runs[1].error["timeout"]
    assert time.monotonic() - started < 100


def test_calls_return_plain_data_and_handles(run):
    sub = run("import numpy as np, torch\n"
              "def f(n):\n    return np.arange(n), torch.ones(n), {'k': [1, 'two']}\n"
              "class C:\n    scale = 3\n    def times(self, x):\n        return x * self.scale\n"
              "c = C()")
    arr, ten, d = sub.lookup("f")(3)
    assert arr.tolist() == [0, 1, 2] and ten.tolist() == [1.0, 1.0, 1.0] and d == {"k": [1, "two"]}
    c = sub.lookup("c")
    assert c.kind == "C" and c.scale == 3 and c.times(np.float64(2.0)) == 6.0
    kept = keep(sub.lookup("f"), 2)
    assert kept.kind == "tuple" and kept[1].tolist() == [1.0, 1.0]


def test_student_exceptions_come_back_as_strings(run):
    sub = run("def f():\n    raise NotImplementedError('f')\n", "def g():\n    raise SystemExit(1)\n")
    with pytest.raises(StudentError) as info:
        sub.lookup("f")()
    assert info.value.not_implemented and "<cell 0>" in info.value.traceback
    with pytest.raises(StudentError, match="SystemExit"):
        sub.lookup("g")()
    with pytest.raises(StudentError, match="NameError"):
        sub.lookup("nothing_here")


def test_a_call_that_hangs_times_out_and_the_next_gets_a_fresh_worker(run):
    sub = run("import time\ndef hang():\n    while True:\n        time.sleep(0.01)\n", "x = 1")
    with pytest.raises(StudentError) as info:
        sub.lookup("hang")()
    assert info.value.timeout
    assert sub.lookup("x") == 1


def test_a_call_that_kills_the_worker_fails_alone(run):
    sub = run("import os\ndef die():\n    os._exit(1)\n", "x = 7")
    handle = sub.lookup("die")
    with pytest.raises(WorkerLost, match="died"):
        handle()
    with pytest.raises(WorkerLost, match="stale"):
        handle()                                    # an object of the dead worker
    assert sub.lookup("x") == 7                     # a new worker, notebook run again


def test_output_is_bounded(run):
    sub = run("import sys\nfor i in range(2000):\n    sys.stdout.write('x' * 10000)\n", "y = 1")
    text = sub.output()
    assert sub.lookup("y") == 1 and len(text) < 100_000 and "bytes cut" in text


def test_the_environment_is_scrubbed_and_the_hash_seed_fixed(run, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    sub = run("import os\nenv = dict(os.environ)\norder = list({'對', '酒', '當', '歌', 'a', 'b'})")
    env = sub.lookup("env")
    assert "SECRET_TOKEN" not in env and env["PYTHONHASHSEED"] == "0"
    first = sub.lookup("order")
    sub2 = run("order = list({'對', '酒', '當', '歌', 'a', 'b'})")
    assert sub2.lookup("order") == first


def test_workers_never_contain_the_graders(run):
    sub = run("import sys\nmods = sorted(m for m in sys.modules if m.startswith('autograder'))")
    assert all(m in ("autograder", "autograder.protocol", "autograder.worker", "autograder.limits",
                     "autograder.forkserver", "autograder.sandbox", "autograder.dynamo", "autograder.landlock",
                     "autograder.seccomp", "autograder.guard", "autograder.fence", "autograder.remote",
                     "autograder.cgroups", "autograder.reaper", "autograder.isolation")
               for m in sub.lookup("mods"))


def test_magics_are_neutralised(run):
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell("!echo pwned > pwned.txt\n%time z = 3\n")
    sub = run(code + "import os\nwritten = os.path.exists('pwned.txt')\nfolder = os.getcwd()\n")
    # looked for where the shell would have written it: the worker's own folder
    assert sub.lookup("z") == 3 and sub.lookup("written") is False and sub.lookup("folder") != os.getcwd()
    assert "shell escape disabled" in sub.output()


def test_each_cell_keeps_what_it_printed_drew_and_raised_for_the_executed_notebook():
    import nbformat

    from autograder import notebook as notebooks

    cells = ["print('hello'); import sys; print('careful', file=sys.stderr)",
             "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
             "print('x' * 100_000)",
             "raise ValueError('boom')"]
    sub = Submission(cells, limits=FAST, figures=True)
    try:
        sub.start()
    finally:
        sub.close()
    first, figure, flood, error = sub.runs
    assert (first.stdout, first.stderr) == ("hello\n", "careful\n")
    assert len(figure.figures) == 1 and figure.figures[0].startswith(b"\x89PNG")
    assert 20_000 <= len(flood.stdout) < 20_200 and "characters cut" in flood.stdout
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("intro")]
                                  + [nbformat.v4.new_code_cell(c) for c in cells])
    done = notebooks.executed(nb, sub.runs)
    nbformat.validate(done)
    kinds = [[o.output_type for o in c.outputs] for c in done.cells if c.cell_type == "code"]
    assert kinds == [["stream", "stream"], ["display_data"], ["stream"], ["error"]]
    assert done.cells[4].outputs[0].ename == "ValueError" and done.cells[4].execution_count == 4


TRAIN = """
import sys, torch
torch.manual_seed(0)
model = torch.nn.LSTM(3, 4, 2)
losses = []
for make in (torch.optim.Adam, torch.optim.SGD, torch.optim.RMSprop):
    optimizer = make(model.parameters(), lr=0.01)
    for _ in range(3):
        out, _ = model(torch.randn(5, 2, 3))
        loss = out.pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
kind = type(sys.modules["torch._dynamo"]).__name__
"""


def test_the_compiler_is_imported_at_its_first_real_use_and_then_works(run):
    """The fork server defers torch._dynamo (autograder.dynamo): optimizers must train exactly as with it,
    and a notebook that compiles must get the real compiler."""
    import torch

    sub = run(TRAIN,
              "f = torch.compile(lambda x: x * 2 + 1, backend='eager')\ny = f(torch.ones(2)).tolist()\n"
              "from torch._dynamo import config\nlimit = config.recompile_limit\n"
              "optimizer.zero_grad(); model(torch.randn(5, 2, 3))[0].sum().backward(); optimizer.step()\n"
              "after = type(sys.modules['torch._dynamo']).__name__",
              limits=Limits(cell_seconds=60, notebook_seconds=120, call_seconds=10, restarts=1))
    assert statuses(sub) == [(0, "ok"), (1, "ok")], sub.output()
    assert sub.lookup("kind") == "StandIn"             # three optimizers trained without the compiler
    assert sub.lookup("y") == [3.0, 3.0] and sub.lookup("limit") == torch._dynamo.config.recompile_limit
    assert sub.lookup("after") == "module"
    namespace: dict = {}
    exec(TRAIN, namespace)                             # the same loop here, where torch._dynamo is real
    assert namespace["kind"] == "module" and sub.lookup("losses") == namespace["losses"]


def test_workers_compute_with_the_grading_processs_kernels(monkeypatch):
    """The processor-kernel choices set for the grading process (ATen's, MKL's, oneDNN's) reach the
    workers, whose results the judge compares with references it computes itself; nothing else does."""
    from autograder import spawn, worker_process

    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.setenv("COURSE_SECRET_TOKEN", "x")
    for env in (spawn.base_environment(), worker_process.worker_environment("/nowhere")):
        assert env["ATEN_CPU_CAPABILITY"] == "default" and env["MKL_CBWR"] == "COMPATIBLE"
        assert "COURSE_SECRET_TOKEN" not in env
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert "ATEN_CPU_CAPABILITY" not in spawn.base_environment()


# ---------------------------------------------------------------------------------------------- guarded calls
TORCH_CELLS = ("import torch\nfrom torch import nn\n"
               "def accumulate(x, y):\n    x += y\n    return x.clone()\n"
               "def fresh(x, y):\n    z = x + y\n    z *= 2\n    return z\n"
               "def grow(items):\n    items.append(0)\n    return len(items)\n"
               "def bias_sum(rnn):\n    b = rnn.bias_ih_l0.detach()\n    b += rnn.bias_hh_l0.detach()\n    return b.clone()\n"
               "def into(params, out):\n    out['W'][0, 0] = 5.0\n    return params['W'] * 1\n"
               "def step(net):\n    with torch.no_grad():\n        net.weight.mul_(0.5)\n    return 0\n")


def test_a_call_that_changes_its_arguments_is_named_and_one_that_does_not_passes(run):
    import torch

    sub = run(TORCH_CELLS)
    x, y = torch.ones(2, 3), torch.full((2, 3), 2.0)
    with pytest.raises(StudentError) as caught:
        sub.lookup("accumulate")(x, y)
    assert caught.value.type == "ArgumentChanged" and caught.value.message == "x"
    assert float(x.sum()) == 6.0                            # the judge's own copy was never touched
    assert torch.equal(sub.lookup("fresh")(x, y), torch.full((2, 3), 6.0))      # in place on its own tensor
    with pytest.raises(StudentError, match="items"):
        sub.lookup("grow")([1, 2])
    rnn = sub.lookup("torch").nn.RNN(3, 4)
    with pytest.raises(StudentError, match="rnn.bias_ih_l0"):
        sub.lookup("bias_sum")(rnn)
    with pytest.raises(StudentError, match=r"out\['W'\]"):
        sub.lookup("into")({"W": torch.ones(2, 2)}, {"W": torch.zeros(2, 2)})
    nan = torch.tensor([float("nan"), 1.0])
    assert torch.equal(sub.lookup("fresh")(nan, nan)[1:], torch.tensor([4.0]))     # NaN is still NaN: unchanged


def test_what_the_grader_lets_a_call_change_it_may_change(run):
    sub = run(TORCH_CELLS)
    net = sub.lookup("torch").nn.Linear(2, 2)
    before = net.weight.tolist()
    with pytest.raises(StudentError, match="net.weight"):
        sub.lookup("step")(net)
    with sub.changing(net):
        assert sub.lookup("step")(net) == 0
    assert net.weight.tolist() != before


def test_a_blank_runs_with_the_reference_of_what_it_calls_and_the_notebook_keeps_its_own(run):
    sub = run("def cell(x):\n    return x + 1000\n", "def forward(xs):\n    return [cell(x) for x in xs]\n")
    with sub.overriding(cell=lambda x: x * 2):
        assert sub.lookup("forward")([1, 2]) == [2, 4]
    assert sub.lookup("forward")([1, 2]) == [1001, 1002] and sub.lookup("cell")(1) == 1001
    made = sub.define("Double", "class Double:\n    def __call__(self, x):\n        return 2 * x\n")
    assert made()(21) == 42
    with pytest.raises(StudentError, match="Double"):
        sub.lookup("Double")                       # defined beside the notebook's globals, not among them


GUARD_CELLS = ("import collections\nimport torch\nfrom torch import nn\n"
               "def replace_bias(rnn):\n    rnn.bias_ih_l0 = nn.Parameter(rnn.bias_ih_l0 + rnn.bias_hh_l0)\n    return 0\n"
               "def bump_stats(bn):\n    bn.running_mean += 1\n    return 0\n"
               "def pop_key(d):\n    d.pop('a')\n    return 0\n"
               "def scale(x):\n    x.mul_(2)\n    return 0\n"
               "def untouched(*args):\n    return 0\n"
               "def by_hand(W):\n    with torch.enable_grad():\n        w = W.clone().requires_grad_(True)\n"
               "        (w * w).sum().backward()\n    return w.grad\n"
               "def inference_off(W):\n    with torch.inference_mode(False):\n        return torch.is_grad_enabled()\n")


def test_the_guard_sees_replaced_parameters_buffers_and_dict_subclasses_and_puts_back_what_changed(run):
    import torch

    sub = run(GUARD_CELLS)
    nn = sub.lookup("torch").nn
    with pytest.raises(StudentError, match="rnn.bias_ih_l0"):
        sub.lookup("replace_bias")(nn.RNN(2, 3))
    with pytest.raises(StudentError, match="bn.running_mean"):
        sub.lookup("bump_stats")(nn.BatchNorm1d(3))
    ordered = sub.lookup("collections").OrderedDict(a=1, b=2)
    with pytest.raises(StudentError, match="d"):
        sub.lookup("pop_key")(ordered)
    x = keep(sub.lookup("torch").ones, 3)
    with pytest.raises(StudentError, match="x"):
        sub.lookup("scale")(x)
    assert x.tolist() == [1.0, 1.0, 1.0]                   # put back: a handle a grader keeps is not left changed
    nan = torch.tensor([complex(float("nan"), 0), 1j])
    sparse = keep(keep(sub.lookup("torch").eye, 3).to_sparse)        # made in the worker: the wire takes no sparse
    assert sub.lookup("untouched")(nan, sparse) == 0        # complex NaN is unchanged; a sparse tensor is no crash


def test_without_autograd_enable_grad_and_inference_mode_cannot_turn_it_on(run):
    import torch

    sub = run(GUARD_CELLS)
    W = torch.ones(2, 2)
    with sub.without_autograd():
        with pytest.raises(StudentError, match="autograd is switched off"):
            sub.lookup("by_hand")(W)
        assert sub.lookup("inference_off")(W) is False
    assert torch.equal(sub.lookup("by_hand")(W), 2 * W)    # and afterwards autograd works again
