"""No answer ever exists in a worker: what an answer looks like, and the probe ``course validate`` plants to
look for one.

An answer is the code of a blank's solution (the master notebook's solution regions) or of a reference the
judge puts in a blank's place (:mod:`autograder.references`). Its *fingerprints* are the hashes of its
distinctive lines (normalised: comments and spacing gone; lines the released notebook has, or too short to
tell anything, left out) and of the code objects compiled from it.

The probe is the blank release notebook with one more cell: every function and class the notebook defines is
wrapped so that, whenever a grader calls it (while the references of what it calls stand in the worker, and
after every earlier grader), it first searches the worker's memory (every object the collector tracks, the
strings and code they hold, the frames of every thread, linecache) for a fingerprint, and then does what
the blank does (raises NotImplementedError). What it finds, it prints; validate reads the worker's output.
A *control*, an answer the probe plants itself and must find, proves that the search sees what it should.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import re
import types

import nbformat

MIN_LINE = 24             # characters of a normalised line: shorter ones (``return out``) tell nothing
ANCHOR = 16               # characters of a line's start that a string must hold before its lines are hashed
MARK = "COURSE-ANSWER-PROBE"
CONTROL = "def course_probe_control(values):\n    return [value * 7919 + 104729 for value in values]  # control\n"


def normalised(line: str) -> str:
    """A line without its comment and spacing: the same code written with other spaces is the same line."""
    code = line.split("#", 1)[0] if "#" in line and "'" not in line and '"' not in line else line
    return re.sub(r"\s+", "", code)


def line_hash(line: str) -> str:
    return hashlib.sha256(normalised(line).encode("utf-8")).hexdigest()[:24]


def code_hash(code: types.CodeType) -> str:
    """A code object's bytecode, names and constants: the same function compiled anywhere on this Python."""
    consts = tuple(c for c in code.co_consts if not isinstance(c, types.CodeType))
    parts = (code.co_code, repr(code.co_names), repr(code.co_varnames), repr(consts))
    return hashlib.sha256(b"|".join(p if isinstance(p, bytes) else p.encode() for p in parts)).hexdigest()[:24]


def code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from code_objects(const)


def solution_regions(source: nbformat.NotebookNode) -> dict[str, str]:
    """Blank → the code of its solution regions, dedented, from the master notebook."""
    from autograder import mutate

    found: dict[str, str] = {}
    for cell in source.cells:
        for region in mutate.regions(cell):
            found[region.blank] = found.get(region.blank, "") + region.text
    return found


def reference_sources() -> dict[str, str]:
    """Name → the source of each function and class of :mod:`autograder.references` (answers, judge side)."""
    try:
        from autograder import references
    except ImportError:
        return {}
    tree = ast.parse(inspect.getsource(references))
    text = inspect.getsource(references)
    return {node.name: ast.get_source_segment(text, node) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def fingerprints(source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> tuple[dict, dict, list]:
    """(line hash → where it comes from, code hash → where it comes from, anchors) of every answer of an
    assignment. An anchor is the first characters of a fingerprinted line, normalised: a string holding none
    is skipped without hashing its lines (a search of a worker's memory then takes a tenth of a second)."""
    given = {normalised(line) for cell in release.cells if cell.cell_type == "code"
             for line in cell.source.splitlines()}
    answers = {f"solution of {blank}": text for blank, text in solution_regions(source).items()}
    answers.update({f"reference {name}": text for name, text in reference_sources().items()})
    answers["the probe's control"] = CONTROL
    lines, codes, anchors = {}, {}, set()
    for label, text in answers.items():
        for line in text.splitlines():
            if len(normalised(line)) >= MIN_LINE and normalised(line) not in given:
                lines.setdefault(line_hash(line), label)
                anchors.add(normalised(line)[:ANCHOR])
        try:
            compiled = compile(_as_module(text), f"<{label}>", "exec")
        except SyntaxError:
            continue
        for code in code_objects(compiled):
            if code.co_name != "<module>" and len(code.co_code) >= 16:
                codes.setdefault(code_hash(code), label)
    return lines, codes, sorted(anchors)


def _as_module(text: str) -> str:
    """A solution region is the body of a function (it may ``return``): wrapped in one, it compiles."""
    try:
        compile(text, "<answer>", "exec")
        return text
    except SyntaxError:
        return "def course_answer():\n" + "".join(f"    {line}\n" for line in text.splitlines())


# The probe's cell. It runs in the worker (where it is the student's code, as any notebook's), after the
# release notebook's cells; {lines}, {codes}, {anchors}, {control}, {mark} and {helpers} (this module's own
# normalised, line_hash and code_hash) are filled in by :func:`probe_cell`.
PROBE = r'''
import gc as _gc, linecache as _linecache, re as _re, sys as _sys, time as _time, types as _types

_LINES, _CODES, _MARK = {lines!r}, {codes!r}, {mark!r}
_ANCHORS = _re.compile("|".join(_re.escape(a) for a in {anchors!r}))
_SPACE = {{ord(c): None for c in " \t\n\r\f\v"}}
_seen, _state = set(), {{"scans": 0}}
_clean_texts, _clean_codes = set(), set()     # strings and code objects are immutable: searched once each


_helpers = {{}}                           # the judge's own definitions of a line and a code object's hash
exec({helpers!r}, _helpers)
_normalised, _line_hash, _code_hash = _helpers["normalised"], _helpers["line_hash"], _helpers["code_hash"]


def _report(what, where):
    if (what, where) not in _seen:
        _seen.add((what, where))
        if what != "the probe's control":
            print(f"{{_MARK}} FOUND {{what}} ({{where}})", file=_sys.__stderr__, flush=True)


def _text(value, where, mine):
    if len(value) < 24 or value in _clean_texts or id(value) in mine:
        return
    found = None
    if _ANCHORS.search(value.translate(_SPACE)):
        for line in value.splitlines():
            if len(_normalised(line)) >= 24:
                found = _LINES.get(_line_hash(line)) or found
                if found:
                    _report(found, where)
    if not found:
        _clean_texts.add(value)


def _code(code, where, mine, done):
    if id(code) in done or code in _clean_codes:
        return
    done.add(id(code))
    before = len(_seen)
    found = _CODES.get(_code_hash(code))
    if found and id(code) not in mine:
        _report(found, where)
    for const in code.co_consts:
        if type(const) is str:
            _text(const, where, mine)
        elif type(const) is _types.CodeType:
            _code(const, where, mine, done)
    if not found and len(_seen) == before:
        _clean_codes.add(code)


def _scan():
    now = _time.monotonic()
    mine = {{id(_LINES), id(_CODES)}} | {{id(v) for v in _LINES.values()}} | {{id(v) for v in _CODES.values()}}
    mine |= {{id(f.__code__) for f in (_scan, _text, _code, _report, _normalised, _line_hash, _code_hash)}}
    done = set()
    for obj in _gc.get_objects():
        kind = type(obj)
        if kind is dict:
            for key, value in list(obj.items()):
                if type(value) is str:
                    _text(value, "a dict", mine)
                elif type(value) is _types.CodeType:
                    _code(value, "a dict", mine, done)
                if type(key) is str:
                    _text(key, "a dict's key", mine)
        elif kind in (list, tuple, set, frozenset):
            for value in list(obj):
                if type(value) is str:
                    _text(value, "a container", mine)
                elif type(value) is _types.CodeType:
                    _code(value, "a container", mine, done)
        elif kind is _types.FunctionType:
            _code(obj.__code__, "a function " + str(getattr(obj, "__qualname__", "?"))[:60], mine, done)
        elif kind is _types.CodeType:
            _code(obj, "a code object", mine, done)
    for frame in list(_sys._current_frames().values()):
        while frame is not None:
            _code(frame.f_code, "a frame", mine, done)
            for value in list(frame.f_locals.values()):
                if type(value) is str:
                    _text(value, "a frame's local", mine)
            frame = frame.f_back
    for name, entry in list(_linecache.cache.items()):
        if len(entry) > 2 and isinstance(entry[2], list):
            _text("".join(entry[2]), "linecache " + str(name)[:60], mine)
    _state["scans"] += 1
    print(f"{{_MARK}} SCANS {{_state['scans']}} {{_time.monotonic() - now:.2f}}", file=_sys.__stderr__, flush=True)


def _probing(name, original):
    def probe(*args, **kwargs):
        _scan()
        return original(*args, **kwargs)
    probe.__name__ = probe.__qualname__ = name
    return probe


# the control: an answer planted here, which the search must find (else it is blind, and says so)
_control_scope = {{}}
exec({control!r}, _control_scope)
_before = len(_seen)
_scan()
print(f"{{_MARK}} CONTROL {{'seen' if len(_seen) > _before else 'MISSED'}}", file=_sys.__stderr__, flush=True)
_seen.clear()
del _control_scope
for _table in (_LINES, _CODES):          # (this cell's own text holds the control: it is no answer of the course's)
    for _key in [k for k, v in _table.items() if v == "the probe's control"]:
        del _table[_key]

for _name, _value in list(globals().items()):
    if not _name.startswith("_") and getattr(_value, "__module__", None) == "__main__" \
            and isinstance(_value, (_types.FunctionType, type)):
        globals()[_name] = _probing(_name, _value)
'''


def probe_cell(lines: dict, codes: dict, anchors: list) -> str:
    helpers = "import hashlib, re, types\n\n" + "\n\n".join(inspect.getsource(f) for f in (normalised, line_hash, code_hash))
    return PROBE.format(lines=lines, codes=codes, anchors=anchors, control=CONTROL, mark=MARK, helpers=helpers)


def probe_notebook(source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release notebook with the probe's cell at its end."""
    nb = nbformat.from_dict(release)
    nb.cells.append(nbformat.v4.new_code_cell(probe_cell(*fingerprints(source, release))))
    return nb


def verdict(output: str) -> tuple[bool, str]:
    """Whether a probe's run found no answer, with a line saying what it did (read from the worker's output)."""
    found = sorted({line.split(" FOUND ", 1)[1] for line in output.splitlines() if f"{MARK} FOUND " in line})
    scans = [int(line.split(f"{MARK} SCANS ", 1)[1].split()[0]) for line in output.splitlines()
             if f"{MARK} SCANS " in line]
    control = f"{MARK} CONTROL seen" in output
    if not control:
        return False, "the probe's search did not find its own control: it cannot vouch for anything"
    if found:
        return False, f"answers found in the worker: {'; '.join(found[:8])}"
    return bool(scans), f"{max(scans, default=0)} searches of the worker's memory, while graders ran: no answer"
