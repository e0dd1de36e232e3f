"""results.json for run_autograder: the engine's, with a note on what was graded, or a zero
that says why.

The standard library only, run as ``python -I``: it has to work when the engine itself does not.

    python -I gradescope_results.py finish ENGINE_RESULTS RESULTS NOTEBOOK KIND [FOUND...]
    python -I gradescope_results.py fail RESULTS POINTS MESSAGE [STDERR_FILE]
"""

import json
import os
import sys
import tempfile
from pathlib import Path


def write(path, text):
    """Atomically: Gradescope never reads half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def names(found):
    return ", ".join(Path(f).name for f in found) or "無 / none"


def note(kind, notebook, found):
    if kind == "renamed":
        return (f"評分的是 {Path(found[0]).name}（請命名為 {notebook}） / "
                f"graded {Path(found[0]).name} (please name it {notebook})")
    if kind == "none":
        return f"沒有找到筆記本：請上傳 {notebook} / no notebook was submitted: upload {notebook}"
    if kind == "ambiguous":
        return (f"上傳了多個筆記本，沒有一個叫做 {notebook}，無法判斷要評分哪一個（{names(found)}） / "
                f"several notebooks were submitted and none is named {notebook}, so none was graded "
                f"({names(found)})")
    return ""


def finish(engine_results, results, notebook, kind, *found):
    text = Path(engine_results).read_text("utf-8")
    data = json.loads(text)
    tests = data.get("tests")
    # a test without a score is a written answer still to be graded by hand (the top-level score counts it 0)
    if not isinstance(data, dict) or not isinstance(data.get("score"), (int, float)) or not isinstance(tests, list) \
            or not all(isinstance(t, dict) and "max_score" in t for t in tests):
        raise SystemExit(f"{engine_results} is not a complete results.json")
    extra = note(kind, notebook, found)
    if extra:
        lines = str(data.get("output", "")).split("\n")
        data["output"] = "\n".join(lines[:1] + [extra] + lines[1:])
        data.setdefault("extra_data", {})["submitted"] = [Path(f).name for f in found]
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    write(results, text)


def summary(stderr_file):
    """The engine's own one-line reason ("course: ..."), else the last line: never a whole traceback,
    whose source lines could show a hidden grader to the student."""
    try:
        lines = [line.strip() for line in Path(stderr_file).read_text("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    reason = next((line for line in lines if line.startswith("course: ")), lines[-1] if lines else "")
    return reason[:1000]


def fail(results, points, message, stderr_file=""):
    reason = summary(stderr_file) if stderr_file else ""
    detail = f"{message}: {reason}" if reason else message
    output = (f"評分程式出錯，這份作業暫記 0 分；請通知老師 / the autograder failed, so this submission "
              f"scores 0 for now: please tell your instructor\n{detail}")
    doc = {
        "score": 0.0,
        "output": output,
        "execution_time": 0,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": "評分 / grading", "number": "1", "score": 0.0, "max_score": float(points),
                   "status": "failed", "output": detail, "tags": [], "visibility": "visible"}],
        "extra_data": {"error": detail},
    }
    write(results, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"finish": finish, "fail": fail}[command](*args)
