"""Generate the embedded example class from the source notebooks, so it never drifts from them.

    python examples/make_class.py           # (re)write examples/submitted/
    python examples/make_class.py --check   # exit 1 if examples/submitted/ is not what this script makes

Each student is the release notebook with answers filled in: the master's solutions, changed by
mutants and variants from ``autograder/mutants/<aid>.py`` (so the class moves with the catalogue),
plus a few things real classes contain: an edited locked cell, a broken file.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course as courses  # noqa: E402
from autograder.notebook import grade_id  # noqa: E402
from autograder.validate import apply, catalogue  # noqa: E402

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$")

# student -> (what they did, mutants and variants applied, extra edits of locked cells)
CLASS = {
    "02-char-rnn": {
        "alice": ("the reference answers: full marks", [], []),
        "bob": ("forgot zero_grad, predicts from out[0]", ["no-zero-grad", "predict-first-step"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("batch_first forgotten, sample one too long, edited the poem (restored)",
                 ["batch-first-forgotten", "sample-one-too-long"],
                 [("data", "Text = ['對酒當歌'", "Text = ['對酒當歌歌'")]),
        "erin": ("different but correct: np.eye one-hot, argmax of the scores, a string in sample",
                 ["onehot-np-eye", "predict-argmax-logits", "sample-string"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
    "01-rnn-foundations": {
        "alice": ("the reference answers: full marks", [], []),
        "bob": ("forgot the bias in the cell, BPTT keeps only the last step", ["cell-no-bias", "bptt-last-step-only"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("Jordan recurrence through h, counts multiplied by T, edited the seeds (restored)",
                 ["jordan-through-h", "count-shared-times-T"], [("imports", "torch.manual_seed(0)", "torch.manual_seed(1)")]),
        "erin": ("different but correct: addmm, einsum BPTT, sigmoid written out",
                 ["cell-addmm", "bptt-einsum", "jordan-exp"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
    "03-lstm": {
        "alice": ("the reference answers: full marks", [], []),
        "bob": ("GRU reset gate before the matmul; thinks h_n follows batch_first",
                ["gru-reset-before-matmul", "hn-follows-batch-first"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("LSTM gates i and f swapped, coupled cell f ⊙ g, edited the seeds (restored)",
                 ["cell-if-swapped", "coupled-f-times-g"], [("imports", "torch.manual_seed(0)", "torch.manual_seed(1)")]),
        "erin": ("different but correct: chunk, lists then stack", ["cell-chunk", "gru-chunk", "forward-lists-stack"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
}


def answered(source, release, edits) -> nbformat.NotebookNode:
    """The release notebook with each solution cell answered as the edited master answers it."""
    master = {grade_id(c): c for c in apply(source, edits).cells}
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = "\n".join(line for line in master[gid].source.split("\n") if not _MARKER.match(line))
        elif meta.get("locked") and master[gid].source != cell.source:
            cell.source = master[gid].source
    return nb


def write_class(course, into: Path) -> None:
    for aid, students in CLASS.items():
        assignment = course.assignment(aid)
        source = nbformat.read(str(assignment.path(course.root, "source")), as_version=4)
        release = nbformat.read(str(assignment.path(course.root, "release")), as_version=4)
        mutants, variants = catalogue(aid)
        known = {m.name: m.edits for m in mutants} | {v.name: v.edits for v in variants}
        for student, (_, names, locked_edits) in students.items():
            path = into / student / aid / assignment.notebook
            path.parent.mkdir(parents=True, exist_ok=True)
            if names is None:
                nb = release
            elif names == "broken":
                text = nbformat.writes(answered(source, release, []))
                path.write_text(text[: len(text) // 2], encoding="utf-8")
                continue
            else:
                edits = [e for name in names for e in known[name]] + list(locked_edits)
                nb = answered(source, release, edits)
            nbformat.write(nb, str(path))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with examples/submitted/")
    args = parser.parse_args(argv)
    course = courses.load(ROOT)
    target = ROOT / "examples" / "submitted"
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "submitted"
        write_class(course, fresh)
        if args.check:
            diff = filecmp.dircmp(fresh, target) if target.is_dir() else None
            stale = _differences(diff) if diff else ["examples/submitted/ is missing"]
            for line in stale:
                print(line)
            return 1 if stale else 0
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)
    return 0


def _differences(diff: filecmp.dircmp, prefix: str = "") -> list[str]:
    out = [f"only generated: {prefix}{n}" for n in diff.left_only]
    out += [f"not generated: {prefix}{n}" for n in diff.right_only]
    _, mismatch, errors = filecmp.cmpfiles(diff.left, diff.right, diff.common_files, shallow=False)
    out += [f"stale: {prefix}{n}" for n in mismatch + errors]
    for name, sub in diff.subdirs.items():
        out += _differences(sub, f"{prefix}{name}/")
    return out


if __name__ == "__main__":
    sys.exit(main())
