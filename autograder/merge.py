"""``course merge``: combine the results of several grading runs (CI shards) into one gradebook.

Merging is idempotent (the same result twice is one result) and refuses conflicts: two different
grades of the same (student, assignment) stop the merge with a message naming them.
"""

from __future__ import annotations

from pathlib import Path

from autograder import results, store
from autograder.course import Course, CourseError
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
                                  f"or wrong signature: {store.KEY_FILE} of its run); regrade it with --resume")
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


def merge(folders: list[Path], out: Path, course: Course, finish=None) -> list[Result]:
    """Every verified result of ``folders`` into ``out``, written by the writer grading uses (signed with
    ``out``'s key), with the executed notebook each names and, where the source had one, its feedback page
    (rendered again, from the result). ``finish(result, executed)``: as in :func:`autograder.batch.grade_all`."""
    from autograder.batch import write_result

    merged = collect(folders)
    for result in merged:
        source = Path(result.path)
        data = store.read_signed(source)
        executed = source.with_name("executed.ipynb")
        text = executed.read_text("utf-8") if executed.is_file() else None
        if text is not None and not store.executed_matches(data, text):
            text = None
        if finish is not None:
            finish(result, text)
        write_result(out, result, course, text, feedback=source.with_name("feedback.html").is_file())
    store.write_atomic(out / "gradebook.csv", results.gradebook_csv(merged))
    return merged
