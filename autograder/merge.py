"""``course merge``: combine the results of several grading runs (CI shards) into one gradebook.

Merging is idempotent (the same result twice is one result) and refuses conflicts: two different
grades of the same (student, assignment) stop the merge with a message naming them.
"""

from __future__ import annotations

from pathlib import Path

from autograder import results
from autograder.course import CourseError
from autograder.model import Result


def collect(folders: list[Path]) -> list[Result]:
    """Every complete results.json under the folders, one per (student, assignment)."""
    found: dict[tuple[str, str], tuple[Result, Path]] = {}
    conflicts = []
    for folder in folders:
        if not folder.is_dir():
            raise CourseError(f"no such folder: {folder}")
        for path in sorted(folder.glob("*/*/results.json")):
            result = results.load(path)
            if result is None:
                raise CourseError(f"{path} is not a complete results.json written by the engine (a missing "
                                  f"or wrong signature: {results.KEY_FILE} of its run); regrade it with --resume")
            key = (result.student, result.assignment)
            if key in found:
                if _verdict(found[key][0]) != _verdict(result):
                    conflicts.append(f"{key[0]}/{key[1]}: {found[key][1]} and {path} disagree")
                continue
            found[key] = (result, path)
    if conflicts:
        raise CourseError("conflicting results, nothing merged:\n  " + "\n  ".join(conflicts))
    return [found[k][0] for k in sorted(found)]


def _verdict(result: Result) -> list:
    return [(t.nodeid, t.score, t.status) for t in result.tests] + [result.error]


def merge(folders: list[Path], out: Path) -> list[Result]:
    """Every verified result of ``folders`` into ``out``, signed again with ``out``'s key."""
    merged = collect(folders)
    secret = results.key(out)
    for result in merged:
        source = Path(result.path)
        target = results.result_path(out, result.student, result.assignment)
        if source.resolve() != target.resolve():
            data = results.read_signed(source)
            # what was written beside the results travels with them: the executed notebook they name,
            # and the feedback page (which is only ever rebuilt from them)
            executed = source.with_name("executed.ipynb")
            text = executed.read_text("utf-8") if executed.is_file() else None
            if text is not None and results.executed_matches(data, text):
                results.write_atomic(target.with_name(executed.name), text)
            if source.with_name("feedback.html").is_file():
                results.write_atomic(target.with_name("feedback.html"), source.with_name("feedback.html").read_text("utf-8"))
            results.write_atomic(target, results.dumps(results.sign(data, secret)))
    results.write_atomic(out / "gradebook.csv", results.gradebook_csv(merged))
    return merged
