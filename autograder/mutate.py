"""Machine-made mutants: one small AST edit of one blank's reference solution at a time.

``course validate --mutate`` grades them (:mod:`autograder.mutation`); this module only makes
them. A blank's solution is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` of a code
cell of the master notebook whose ``nbgrader.solution`` is true; the signature and docstring the stub keeps
are outside those markers and never change, and markdown solution cells (written answers) are skipped.

Each operator of :data:`OPERATORS` finds its sites in the region's AST; a mutant is one site changed. The
change is written into the region's own text (the rest of the cell, comments included, stays as it was)
and kept only if the new region parses to exactly the mutated AST; where the text cannot say it, the
region is written by ``ast.unparse`` instead. A change that leaves the AST as it was is no mutant.

A mutant's id, ``<blank>:<operator>:<line>:<col>:<what>``, depends only on the source: ``line`` is the
line within the solution region (``2.3``: line 3 of the cell's second region, in a cell with several),
``col`` the character column of the change in the region's dedented text, ``what`` says the change.
"""

from __future__ import annotations

import ast
import bisect
import copy
import difflib
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Callable, Iterator

import nbformat

from autograder.notebook import grade_id

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Region:
    """One solution region of a cell: its code dedented, and where it sits among the cell's lines."""

    blank: str              # the cell's grade_id
    number: int             # 1-based among the cell's regions
    several: bool           # the cell has more than one region (ids then say which)
    first: int              # index among the cell's lines of the region's first line
    last: int               # index of the END marker's line
    indent: str             # what dedenting took off every line
    text: str               # the region's code, dedented
    params: frozenset       # the enclosing function's parameters not reassigned before the region

    def line_label(self, line: int) -> str:
        return f"{self.number}.{line}" if self.several else str(line)


@dataclass(frozen=True)
class MachineMutant:
    """One mutant: the whole new source of its cell, and the change said in one line."""

    id: str
    blank: str
    operator: str
    source: str             # the cell's new source
    old: str                # the changed code as the source has it (one line, no comments)
    new: str                # the same code in the mutant

    @property
    def diff(self) -> str:
        return f"{self.old}  ->  {self.new}"

    @property
    def edits(self) -> list:
        """The edit of :func:`autograder.validate.apply`: the whole solution cell replaced."""
        return [(self.blank, None, self.source)]


@dataclass(frozen=True)
class Site:
    """Where an operator applies, and how. ``change`` builds the target's replacement from the target (a
    copy: it may reuse its children); ``edits`` says the same change as edits of the region's text,
    ``[(start, end, new text)]`` in characters; ``at`` is where the change is, for the id."""

    operator: str
    target: ast.AST
    what: str
    change: Callable[[ast.AST], ast.AST]
    edits: list
    at: int


class Text:
    """A region's text, read with the AST's positions (1-based lines, UTF-8 byte columns) as characters."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col_bytes: int) -> int:
        return self.starts[line - 1] + len(self.lines[line - 1].encode("utf-8")[:col_bytes].decode("utf-8"))

    def start(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start(node):self.end(node)]

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, character column) of an offset."""
        line = max(bisect.bisect_right(self.starts, offset) - 1, 0)
        return line + 1, offset - self.starts[line]


# ---------------------------------------------------------------------------------------------- regions

def regions(cell) -> list[Region]:
    """The solution regions of a solution code cell (none for markdown or a cell that is no solution)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    blank = grade_id(cell)
    if cell.get("cell_type") != "code" or not isinstance(meta, dict) or not meta.get("solution") or blank is None:
        return []
    lines = cell.source.splitlines(keepends=True)
    spans, start = [], None
    for i, line in enumerate(lines):
        if line.strip() == BEGIN:
            start = i + 1
        elif line.strip() == END and start is not None:
            spans.append((start, i))
            start = None
    found = []
    for number, (first, last) in enumerate(spans, 1):
        body = "".join(lines[first:last])
        text = textwrap.dedent(body)
        found.append(Region(blank, number, len(spans) > 1, first, last, _removed_indent(body, text), text,
                            _parameters(cell.source, first)))
    return found


def _removed_indent(body: str, dedented: str) -> str:
    """The prefix textwrap.dedent took off (the same on every line that is not blank)."""
    for before, after in zip(body.splitlines(), dedented.splitlines()):
        if before.strip():
            return before[:len(before) - len(after)]
    return ""


def _parameters(cell_source: str, first: int) -> frozenset:
    """The parameters of the function the region starting at line index ``first`` lies in, less those the
    function assigns before the region (they no longer hold the caller's object)."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return frozenset()
    line = first + 1                                  # ast counts lines from 1
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.lineno < line <= node.end_lineno]
    if not functions:
        return frozenset()
    function = max(functions, key=lambda node: node.lineno)          # the innermost
    args = function.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a}
    reassigned = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)
                  and isinstance(node.ctx, ast.Store) and node.lineno < line}
    return frozenset(names - reassigned)


# -------------------------------------------------------------------------------------------- operators

def _short(code: str, width: int = 32) -> str:
    code = " ".join(code.split())
    return code if len(code) <= width else code[:width - 3] + "..."


def _child_site(operator: str, node: ast.AST, what: str, child: Callable[[ast.AST], ast.AST], text: Text,
                at: int | None = None) -> Site:
    """A site whose change puts one of the node's own children in its place (``at``: where the id says
    the change is; default: where the node starts)."""
    return Site(operator, node, what, child, [(text.start(node), text.end(node), text.segment(child(node)))],
                text.start(node) if at is None else at)


ACTIVATIONS = {"sigmoid": "tanh", "tanh": "sigmoid", "Sigmoid": "Tanh", "Tanh": "Sigmoid"}


def activation(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """torch.sigmoid ↔ torch.tanh, and the same for F.*, nn.Sigmoid/nn.Tanh and the tensor methods."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in ACTIVATIONS:
            other = ACTIVATIONS[node.attr]
            end = text.end(node)                      # the attribute's name ends the node's text
            yield Site("activation", node, f"{node.attr}->{other}",
                       lambda n, other=other: ast.Attribute(value=n.value, attr=other, ctx=ast.Load()),
                       [(end - len(node.attr), end, other)], end - len(node.attr))


def drop_term(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """``a + b`` or ``a - b`` replaced by ``a``, or by ``b``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            for side in ("left", "right"):
                kept = getattr(node, side)
                yield _child_site("drop-term", node, f"keep {_short(ast.unparse(kept))}",
                                  lambda n, side=side: getattr(n, side), text)


def _atomic(node: ast.AST) -> bool:
    """Whether ``.T`` may follow the node's text without parentheses."""
    return isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call))


def transpose(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """``W.T`` → ``W``; and ``x @ W`` → ``x @ W.T`` where the right operand has no ``.T`` yet."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
            yield _child_site("transpose", node, "drop .T", lambda n: n.value, text, at=text.end(node) - 1)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and not (
                isinstance(node.right, ast.Attribute) and node.right.attr == "T"):
            right = text.segment(node.right)
            new = f"{right}.T" if _atomic(node.right) else f"({right}).T"
            yield Site("transpose", node, f"add .T to {_short(ast.unparse(node.right), 20)}",
                       lambda n: ast.BinOp(left=n.left, op=ast.MatMult(), right=ast.Attribute(n.right, "T", ast.Load())),
                       [(text.start(node.right), text.end(node.right), new)], text.start(node.right))


def _integer(node: ast.AST) -> int | None:
    """The value of an integer literal (``-1`` is a unary minus on 1 in the AST), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return None if inner is None else -inner
    return None


def _literal(value: int) -> ast.AST:
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def _subscript_bounds(tree: ast.AST) -> Iterator[ast.AST]:
    """The expressions used as a whole index, an element of a tuple index, or a slice bound or step."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            index = node.slice
            for part in index.elts if isinstance(index, ast.Tuple) else [index]:
                if isinstance(part, ast.Slice):
                    yield from (b for b in (part.lower, part.upper, part.step) if b is not None)
                else:
                    yield part


def index(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """An integer literal used as an index or slice bound, moved by one: 0 → 1, n → n ± 1 otherwise (never
    0 → -1: the last element is another mistake than an off-by-one)."""
    for bound in _subscript_bounds(tree):
        value = _integer(bound)
        if value is None:
            continue
        for new in ([1] if value == 0 else [value - 1, value + 1]):
            yield Site("index", bound, f"{value}->{new}", lambda n, new=new: _literal(new),
                       [(text.start(bound), text.end(bound), str(new))], text.start(bound))


def swap_args(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """A call's first two positional arguments exchanged (when both exist and differ)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        first, second = node.args[:2]
        if isinstance(first, ast.Starred) or isinstance(second, ast.Starred) or ast.dump(first) == ast.dump(second):
            continue

        def change(n):
            call = copy.copy(n)
            call.args = [n.args[1], n.args[0], *n.args[2:]]
            return call
        yield Site("swap-args", node, f"swap args of {_short(ast.unparse(node.func), 24)}", change,
                   [(text.start(first), text.end(first), text.segment(second)),
                    (text.start(second), text.end(second), text.segment(first))], text.start(first))


BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
           ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def _token(text: Text, before: ast.AST, after: ast.AST, token: str) -> int | None:
    """Where the operator ``token`` between two operands starts (past any closing parenthesis), or None."""
    start = text.end(before)
    gap = text.text[start:text.start(after)]
    found = re.search(r"[^\s()\\]", gap)
    if found is None or not gap[found.start():].startswith(token):
        return None
    return start + found.start()


def _inside_indices(tree: ast.AST) -> set[int]:
    """ids of the nodes within a subscript's index."""
    return {id(inner) for node in ast.walk(tree) if isinstance(node, ast.Subscript) for inner in ast.walk(node.slice)}


def _op_site(text: Text, node: ast.AST, before: ast.AST, after: ast.AST, old: str, new: str, change) -> Site:
    """A site that replaces the operator between two operands; without the token in sight, the edit is
    left to ast.unparse (no edits) and the id points at the node."""
    at = _token(text, before, after, old)
    edits = [] if at is None else [(at, at + len(old), new)]
    return Site("operator", node, f"{old}->{new}", change, edits, text.start(node) if at is None else at)


def operator(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """``+`` ↔ ``-`` and ``*`` ↔ ``/`` (also in ``+=`` and the like); ``<`` ↔ ``<=``, ``>`` ↔ ``>=``,
    ``==`` ↔ ``!=``. Not ``*`` → ``/`` within an index: a float never indexes, so the mutant could only
    crash, and would be killed without telling anything about the graders."""
    in_index = _inside_indices(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINARY:
            if id(node) in in_index and isinstance(node.op, ast.Mult):
                continue
            new = BINARY[type(node.op)]

            def change(n, new=new):
                changed = copy.copy(n)
                changed.op = new()
                return changed
            augmented = "=" if isinstance(node, ast.AugAssign) else ""
            before, after = (node.target, node.value) if augmented else (node.left, node.right)
            yield _op_site(text, node, before, after, SYMBOLS[type(node.op)] + augmented, SYMBOLS[new] + augmented,
                           change)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for k, op in enumerate(node.ops):
                if type(op) not in COMPARE:
                    continue
                new = COMPARE[type(op)]

                def change(n, k=k, new=new):
                    changed = copy.copy(n)
                    changed.ops = [*n.ops[:k], new(), *n.ops[k + 1:]]
                    return changed
                yield _op_site(text, node, operands[k], operands[k + 1], SYMBOLS[type(op)], SYMBOLS[new], change)


def no_clone(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """``x.clone()`` → ``x`` and ``x.detach()`` → ``x``: the copy that protected the caller's tensor gone."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("clone", "detach") and not node.args and not node.keywords):
            # the id points at the method dropped, not at the start of the chain it ends
            yield _child_site("no-clone", node, f"drop .{node.func.attr}()", lambda n: n.func.value, text,
                              at=text.end(node.func) - len(node.func.attr))


IN_PLACE = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def in_place(tree: ast.AST, region: Region, text: Text) -> Iterator[Site]:
    """``a = a + b`` → ``a += b`` (also ``-``, ``*``, ``/``) where ``a`` is a parameter that still holds the
    caller's object: the out-of-place update becomes an in-place one on the caller's tensor."""
    assigned = {}                                     # name -> the first line of the region that assigns it
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned[node.id] = min(assigned.get(node.id, node.lineno), node.lineno)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if (name not in region.params or assigned.get(name, node.lineno) < node.lineno
                or not isinstance(value, ast.BinOp) or type(value.op) not in IN_PLACE
                or not (isinstance(value.left, ast.Name) and value.left.id == name)):
            continue
        symbol = SYMBOLS[type(value.op)]

        def change(n, name=name):
            return ast.AugAssign(target=ast.Name(name, ast.Store()), op=type(n.value.op)(), value=n.value.right)
        yield Site("in-place", node, f"{name} {symbol}=", change,
                   [(text.start(node), text.end(node), f"{name} {symbol}= {text.segment(value.right)}")],
                   text.start(node))


OPERATORS = {"activation": activation, "drop-term": drop_term, "transpose": transpose, "index": index,
             "swap-args": swap_args, "operator": operator, "no-clone": no_clone, "in-place": in_place}


# ----------------------------------------------------------------------------------------------- writing

def _edited(text: str, edits: list, parenthesize: bool = False) -> str | None:
    """The text with the edits made, each new text in parentheses if asked (None: no edits, or overlapping)."""
    ordered = sorted(edits, reverse=True)
    if not ordered or any(a[0] < b[1] for a, b in zip(ordered, ordered[1:])):
        return None
    for start, end, new in ordered:
        text = text[:start] + (f"({new})" if parenthesize else new) + text[end:]
    return text


def _same(text: str, dump: str) -> bool:
    try:
        return ast.dump(ast.parse(text)) == dump
    except SyntaxError:
        return False


def _written(region: Region, site: Site, mutated: ast.AST) -> str | None:
    """The mutated region's text: the site's edits, else the edits parenthesized (precedence), else the
    region unparsed; whichever first parses to exactly the mutated AST."""
    dump = ast.dump(mutated)
    for text in (_edited(region.text, site.edits), _edited(region.text, site.edits, parenthesize=True),
                 ast.unparse(mutated)):
        if text is not None and _same(text, dump):
            return text
    return None


def _reindent(text: str, indent: str) -> str:
    return "".join(indent + line if line.strip() else line for line in text.splitlines(keepends=True))


def _cell_with(cell_source: str, region: Region, text: str) -> str:
    """The cell's source with the region's text replaced by ``text`` (dedented), put back at its indent.
    Only the lines that changed come from ``text``: every other line stays byte for byte (blank lines
    keep their spaces, which dedenting took off)."""
    lines = cell_source.splitlines(keepends=True)
    body = lines[region.first:region.last]
    new = _reindent(text, region.indent).splitlines(keepends=True)      # as many lines as ``text``
    if new and not new[-1].endswith("\n"):
        new[-1] += "\n"
    matcher = difflib.SequenceMatcher(a=region.text.splitlines(keepends=True), b=text.splitlines(keepends=True),
                                      autojunk=False)
    rebuilt = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        rebuilt += body[i1:i2] if tag == "equal" else new[j1:j2]
    return "".join(lines[:region.first] + rebuilt + lines[region.last:])


def _code_lines(text: str) -> list[str]:
    """The text's lines without comments and surrounding space (what a diff of the code shows)."""
    lines = text.splitlines()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                lines[row - 1] = lines[row - 1][:col]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return [line.strip() for line in lines]


def _changed(old_text: str, new_text: str) -> tuple[str, str]:
    """The code lines that differ between two texts, each side as one line."""
    old, new = _code_lines(old_text), _code_lines(new_text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    hunks = [(old[i1:i2], new[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    return (" ".join(" ".join(line for a, _ in hunks for line in a).split()),
            " ".join(" ".join(line for _, b in hunks for line in b).split()))


# ------------------------------------------------------------------------------------------------ mutants

def _put(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Replace the node ``old`` of ``tree`` by ``new``, in place."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[k for k, item in enumerate(value) if item is old][0]] = new
                return


def _apply(tree: ast.AST, site: Site) -> ast.AST:
    """A copy of ``tree`` with the site changed."""
    twin = copy.deepcopy(tree)
    nodes = dict(zip(map(id, ast.walk(tree)), ast.walk(twin)))     # deepcopy keeps the walk's order
    target = nodes[id(site.target)]
    _put(twin, target, site.change(target))
    return twin


def _region_mutants(cell_source: str, region: Region, operators) -> Iterator[tuple[Site, str, str]]:
    """(site, the cell's new source, the region's new text) for each change of the region that is a mutant."""
    try:
        tree = ast.parse(region.text)
    except SyntaxError:
        return
    original, text = ast.dump(tree), Text(region.text)
    for name in operators:
        for site in OPERATORS[name](tree, region, text):
            mutated = _apply(tree, site)
            if ast.dump(mutated) == original:
                continue
            written = _written(region, site, mutated)
            if written is not None:
                yield site, _cell_with(cell_source, region, written), written


def mutants(source: nbformat.NotebookNode, operators=None) -> list[MachineMutant]:
    """Every machine mutant of a master notebook, in the notebook's order, each with a stable id.
    ``operators``: names of :data:`OPERATORS` (default: all of them)."""
    names = list(OPERATORS) if operators is None else list(operators)
    unknown = [n for n in names if n not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown mutation operator(s) {', '.join(unknown)}; known: {', '.join(OPERATORS)}")
    made, seen = [], {}
    for cell in source.cells:
        for region in regions(cell):
            text = Text(region.text)
            for site, new_source, written in _region_mutants(cell.source, region, names):
                line, col = text.position(site.at)
                base = f"{region.blank}:{site.operator}:{region.line_label(line)}:{col}:{site.what}"
                # two sites can share a place and a description (a + b + c: both sums start at a); the
                # AST walk's order, which depends on the source alone, tells them apart
                seen[base] = seen.get(base, 0) + 1
                mutant_id = base if seen[base] == 1 else f"{base}#{seen[base]}"
                old, new = _changed(region.text, written)
                made.append(MachineMutant(mutant_id, region.blank, site.operator, new_source, old, new))
    return made
