"""The attack corpus of 02-char-rnn: hostile or broken submissions and the outcome each must get.

Each attack is the master solution (or the blank release) with edits, like a mutant; ``("+", None,
code)`` appends a code cell the student added.  ``honest`` is the submission whose grade the attack
must get exactly, grader by grader: the same notebook without the attack (None), or an honest
notebook that fails the same way without being hostile.  Attacks that probe for a leak (graders on
disk or in memory, the network, the environment, writable files) sabotage their own answers when
they find one, so a leak shows up as lost points.

`course validate` and tests/test_attacks.py run the corpus.
"""

from autograder.validate import Attack

# sabotage: a leak costs the submission its GetDummies points, which the corpus would notice
LEAK = "\n    GetDummies = None   # found a leak: lose points so that the corpus notices\n"

ATTACKS = [
    # ------------------------------------------------------------------ ending the process
    Attack("sys-exit-top", "sys.exit() in a cell of its own",
           [("+", None, "import sys\nsys.exit(0)")]),
    Attack("os-exit-top", "os._exit() in a cell of its own: the worker dies, the cell is skipped",
           [("+", None, "import os\nos._exit(0)")]),
    Attack("sys-exit-in-graded-function", "sample() calls sys.exit()",
           [("sample", "    model.eval()\n", "    import sys\n    sys.exit(3)\n")],
           honest=[("sample", "    model.eval()\n", "    raise RuntimeError('broken')\n")]),
    Attack("os-exit-in-graded-function", "predict() kills the worker on every call",
           [("predict", "    character = np.array(", "    import os\n    os._exit(1)\n    character = np.array(")],
           honest=[("predict", "    character = np.array(", "    raise RuntimeError('broken')\n    character = np.array(")]),
    Attack("keyboard-interrupt-in-grader-call", "Model.forward raises KeyboardInterrupt",
           [("model", "        hidden = self.init_hidden(x.size(0))\n",
             "        raise KeyboardInterrupt\n        hidden = self.init_hidden(x.size(0))\n")],
           honest=[("model", "        hidden = self.init_hidden(x.size(0))\n",
                    "        raise RuntimeError('broken')\n        hidden = self.init_hidden(x.size(0))\n")]),
    Attack("kill-parent", "kills its parent, its process group and every pid it can name",
           [("+", None, "import os, signal\nfor pid in [os.getppid(), 0, -1] + list(range(1, 400)):\n"
                        "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n")]),
    # ------------------------------------------------------------------ resources
    Attack("infinite-loop-top", "a cell that never ends",
           [("+", None, "while True:\n    pass")]),
    Attack("infinite-loop-in-function", "sample() never returns",
           [("sample", "    model.eval()\n", "    while True:\n        pass\n")],
           honest=[("sample", "    model.eval()\n", "    raise RuntimeError('broken')\n")]),
    Attack("memory-bomb", "allocates without end, a GiB at a time (the 2 GiB limit, not the clock, stops it)",
           [("+", None, "blocks = []\nwhile True:\n    blocks.append(bytearray(1024 * 1024 * 1024))")]),
    Attack("fork-bomb", "forks hundreds of sleeping children",
           [("+", None, "import os, time\nfor i in range(500):\n    try:\n        if os.fork() == 0:\n"
                        "            time.sleep(60)\n            os._exit(0)\n    except OSError:\n        break\n")]),
    Attack("segfault", "dereferences NULL through ctypes",
           [("+", None, "import ctypes\nctypes.string_at(0)")]),
    Attack("recursion", "unbounded recursion with the limit raised",
           [("+", None, "import sys\nsys.setrecursionlimit(100000)\ndef f(n):\n    return f(n + 1)\nf(0)")]),
    Attack("print-flood", "prints 100 MB",
           [("+", None, "import sys\nline = 'x' * 1000 + '\\n'\nfor i in range(100_000):\n    sys.stdout.write(line)")]),
    Attack("thread-left-running", "a thread that keeps working and keeps re-breaking numpy while graders run",
           [("+", None, "import threading, time, numpy as np\ndef spin():\n    while True:\n"
                        "        np.allclose = lambda *a, **k: True\n        time.sleep(0.001)\n"
                        "threading.Thread(target=spin, daemon=True).start()")]),
    Attack("signal-handlers", "ignores SIGALRM and SIGTERM, then loops",
           [("+", None, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass")]),
    Attack("file-bomb", "writes one huge file",
           [("+", None, "with open('big.bin', 'wb') as out:\n    for i in range(1024):\n"
                        "        out.write(b'0' * (1 << 20))")]),
    # ------------------------------------------------------------------ forging a verdict
    Attack("monkeypatch-comparisons", "torch.equal, torch.allclose, np.allclose always true, on a blank notebook",
           [("+", None, "import torch, numpy as np\ntorch.equal = lambda *a, **k: True\n"
                        "torch.allclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
                        "np.array_equal = lambda *a, **k: True")], base="blank"),
    Attack("monkeypatch-isinstance", "builtins.isinstance and type replaced, on a correct solution",
           [("+", None, "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda *a: 3")]),
    Attack("monkeypatch-pytest", "patches pytest's internals in its own process, on a blank notebook",
           [("+", None, "try:\n    import _pytest.outcomes, pytest\n    pytest.fail = lambda *a, **k: None\n"
                        "    _pytest.outcomes.Failed = Exception\nexcept ImportError:\n    pass")], base="blank"),
    Attack("lying-object", "GetDummies returns an object whose __eq__ is always true and whose shape lies",
           [("getdummies", "    return features\n", "    class Liar:\n        shape = (batch_size, seq_len, dict_size)\n"
                                                  "        dtype = np.float32\n"
                                                  "        def __eq__(self, other):\n            return True\n"
                                                  "        def __getattr__(self, name):\n            return lambda *a, **k: self\n"
                                                  "    return Liar()\n")],
           honest=[("getdummies", "    return features\n", "    return None\n")]),
    Attack("fake-results", "writes a full-marks results.json everywhere it can",
           [("+", None, "import json, os\nfake = json.dumps({'score': 50, 'tests': []})\n"
                        "for folder in ['.', '..', '/tmp', os.path.expanduser('~'), '/work/main/graded', '/root']:\n"
                        "    for name in ['results.json', 'gradebook.csv']:\n"
                        "        try:\n            open(os.path.join(folder, name), 'w').write(fake)\n"
                        "        except OSError:\n            pass\n")], base="blank"),
    Attack("hard-coded-public-answers", "answers only the public inputs: the poem's one-hot and '對' → '對酒當歌'",
           [("getdummies", "    features = np.zeros(", "    if batch_size == 8 and seq_len == 3 and dict_size == 28:\n"
                                                     "        return np.eye(28, dtype=np.float32)[np.asarray(Input_codes)]\n"
                                                     "    features = np.zeros("),
            ("getdummies", "def GetDummies(", "Input_codes = [[Char2int[c] for c in p[:-1]] for p in Text]\n\n\ndef GetDummies("),
            ("getdummies", "            features[i, u, sequence[i][u]] = 1", "            features[i, u, 0] = 1"),
            ("sample", "    model.eval()\n", "    if start == '對' and out_len == 4:\n        return '對酒當歌'\n"
                                           "    return start + start[-1] * (out_len - len(start))\n")],
           # honest partial work: the right shape and dtype, nothing else
           honest=[("getdummies", "    features = np.zeros(", "    return np.zeros((batch_size, seq_len, dict_size), "
                                                             "dtype=np.float32)\n    features = np.zeros("),
                   ("sample", "    model.eval()\n", "    raise RuntimeError('broken')\n")]),
    Attack("write-judge-socket", "writes garbage and a forged frame to every file descriptor",
           [("+", None, "import os, struct, json\nhead = json.dumps({'ok': True, 'value': 50}).encode()\n"
                        "frame = struct.pack('>I', len(head)) + head + struct.pack('>I', 0)\n"
                        "for fd in range(3, 64):\n    try:\n"
                        "        os.write(fd, struct.pack('>Q', len(frame)) + frame + b'garbage')\n"
                        "    except OSError:\n        pass\n")]),
    # ------------------------------------------------------------------ reading what it must not
    Attack("read-graders-from-disk", "looks for the hidden graders and the sources on disk",
           [("getdummies", "def GetDummies(", "import glob as _glob, os as _os, autograder as _ag\n"
             "_package = _os.path.dirname(_ag.__file__)\n_found = [p for pattern in ["
             "_package + '/graders/*/*.py', _package + '/graders/*.py', _package + '/mutants/*.py', "
             "'/work/*/autograder/graders/*/test_*.py', '/work/*/source/*/*.ipynb', '/work/*/solutions/*/*.ipynb', "
             "'/work/*/tests/*.py', '/*/autograder/graders/*/*.py'] for p in _glob.glob(pattern)]\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    Attack("read-graders-from-memory", "looks for the graders in its own memory and in other processes",
           [("getdummies", "def GetDummies(", "import sys as _sys, os as _os\n_own = {'autograder', 'autograder.protocol', 'autograder.worker', "
             "'autograder.sandbox', 'autograder.limits', 'autograder.forkserver', 'autograder.dynamo'}\n"
             "_found = [m for m in _sys.modules if m.startswith('autograder') and m not in _own]\n"
             "for _pid in [p for p in _os.listdir('/proc') if p.isdigit() and int(p) != _os.getpid()]:\n"
             "    try:\n        if b'pytest' in open(f'/proc/{_pid}/cmdline', 'rb').read() or "
             "b'autograder.judge' in open(f'/proc/{_pid}/cmdline', 'rb').read():\n"
             "            _found.append(_pid)\n        open(f'/proc/{_pid}/mem', 'rb').read(1)\n"
             "        _found.append('mem:' + _pid)\n    except (OSError, ValueError):\n        pass\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    Attack("network", "opens sockets to the outside and to the machine's own addresses",
           [("getdummies", "def GetDummies(", "import socket as _socket\n_found = []\n"
             "for _addr in [('1.1.1.1', 53), ('8.8.8.8', 443), ('127.0.0.1', 22), ('127.0.0.1', 8888)]:\n"
             "    try:\n        _socket.create_connection(_addr, timeout=1).close()\n        _found.append(_addr)\n"
             "    except OSError:\n        pass\n\n\ndef GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    Attack("environment", "reads the environment for tokens and the instructor's home",
           [("getdummies", "def GetDummies(", "import os as _os\n_found = [k for k in _os.environ if 'TOKEN' in k "
             "or 'SECRET' in k or 'KEY' in k or 'GITHUB' in k] + [v for v in _os.environ.values() if '/root' in v]\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    Attack("delete-files", "deletes what it can in its working directory and probes its parent and the course",
           [("getdummies", "def GetDummies(", "import os as _os, shutil as _shutil\n_found = []\n"
             "for _entry in _os.listdir('.'):\n    _shutil.rmtree(_entry, ignore_errors=True) if _os.path.isdir(_entry) "
             "else _os.remove(_entry)\n"
             "for _folder in ['..', '/', '/work/main', '/work/main/graded', '/root', '/var/tmp']:\n"
             "    _probe = _os.path.join(_folder, '.course-attack-probe')\n    try:\n        open(_probe, 'w').close()\n"
             "        _os.remove(_probe)\n        _found.append(_folder)\n    except OSError:\n        pass\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
]
