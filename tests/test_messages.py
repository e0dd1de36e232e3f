"""The message catalogue in the three languages a course may choose (course.toml's ``language``)."""

import json
import re
import shutil
from pathlib import Path

import pytest

from autograder import messages
from autograder.course import CourseError, load
from conftest import ROOT, course_in, run_course


@pytest.fixture
def language():
    before = messages.Language.current
    yield messages.set_language
    messages.set_language(before)


def test_each_language_says_the_same_message_its_own_way(language):
    language("zh-Hant")
    assert messages.say("worker_timeout") == "你的程式執行超過時間限制，已被終止 / your code ran past its time limit and was stopped"
    language("zh-Hans")
    assert messages.say("worker_timeout") == "你的程序执行超过时间限制，已被终止 / your code ran past its time limit and was stopped"
    assert messages.say("cell_failed", index=3).startswith("第 3 个程序单元格出错")
    language("en")
    assert messages.say("worker_timeout") == "your code ran past its time limit and was stopped"


def test_zh_hans_converts_the_template_never_the_students_data(language):
    language("zh-Hans")
    text = messages.say("expected_got", what="sample(net, 4, '對')", expected="對酒當歌", got="對酒酒酒")
    assert text.startswith("sample(net, 4, '對')：期望 對酒當歌，得到 對酒酒酒 / ")


def test_grader_names_and_literal_pairs_follow_the_language(language):
    language("zh-Hans")
    assert messages.name("記憶體與檔案 / memory and files").render() == "内存与文件 / memory and files"
    language("en")
    assert messages.name("記憶體與檔案 / memory and files").render() == "memory and files"
    # the separator is the slash after which no Chinese is left, whatever the spaces around it
    assert messages.name("與 nn.GRUCell 一致（多種大小）/ equals nn.GRUCell, h/c sizes").render() == \
        "equals nn.GRUCell, h/c sizes"
    code = "sample(net, 4, '對') == '對酒當歌'"
    for each in messages.LANGUAGES:               # the same in every language: said once, never converted
        language(each)
        assert messages.name(code).render() == code and messages.text(code, code).render() == code
    for bad in ("只有中文", "中文 / 也是中文", "中文 /", ""):
        with pytest.raises(ValueError):
            messages.name(bad)


def test_every_catalogue_entry_converts_and_formats_in_every_language(language):
    import string

    import zhconv

    for key, (zh, en) in messages.CATALOGUE.items():
        fields = {f: 1 for _, f, _, _ in string.Formatter().parse(zh + en) if f}
        language("zh-Hant")
        assert messages.say(key, **fields) == f"{zh.format(**fields)} / {en.format(**fields)}"
        language("en")
        assert messages.say(key, **fields) == en.format(**fields)
        language("zh-Hans")
        chinese = messages.msg(key, **fields).halves()[0]
        assert zhconv.convert(chinese, "zh-hans") == chinese, (key, chinese)   # nothing Traditional left


def test_an_unknown_language_in_course_toml_is_refused(tmp_path):
    text = (ROOT / "course.toml").read_text("utf-8").replace('language = "zh-Hant"', 'language = "fr"')
    (tmp_path / "course.toml").write_text(text, "utf-8")
    with pytest.raises(CourseError, match="zh-Hans"):
        load(tmp_path)


@pytest.mark.slow
def test_course_check_speaks_simplified_chinese_when_the_course_says_so(tmp_path):
    text = (ROOT / "course.toml").read_text("utf-8").replace('language = "zh-Hant"', 'language = "zh-Hans"')
    (tmp_path / "course.toml").write_text(text, "utf-8")
    for area in ("release", "source"):
        shutil.copytree(ROOT / area / "02-char-rnn", tmp_path / area / "02-char-rnn")
    proc = run_course("--course", tmp_path, "check", tmp_path / "release" / "02-char-rnn" / "char-rnn.ipynb")
    assert proc.returncode == 1, proc.stderr
    assert "GetDummies 尚未实作" in proc.stdout and "项公开检查通过" in proc.stdout     # say() and grader names
    assert "項" not in proc.stdout and "實作" not in proc.stdout


def test_every_grader_and_check_has_a_name_in_both_languages():
    """A grader's name is its docstring's first line: one that does not read "中文 / English" would
    show Chinese to an English course (and is refused when the graders are collected)."""
    import ast

    names = 0
    for path in sorted([*(ROOT / "autograder" / "graders").rglob("test_*.py"),
                        *(ROOT / "autograder" / "checks").rglob("test_*.py")]):
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                line = ((ast.get_docstring(node) or "").strip().splitlines() or [""])[0]
                english = messages.name(line).render("en")          # raises where it does not parse
                assert not messages.CJK.search(messages.QUOTED.sub("", english)), (path.name, node.name, english)
                names += 1
    assert names >= 80


# ---------------------------------------------------------------------------------------------- graded
CJK_RUN = re.compile(messages.CJK.pattern + "+")


def stray_chinese(out: Path, language: str, skip: str | None = None) -> dict[str, list[str]]:
    """Chinese in what students read (names, messages, notes) that is neither quoted data nor something
    the graded notebook itself holds (its code, what it printed, its errors), by results.json (but for
    students whose name starts with ``skip``)."""
    import zhconv

    found = {}
    for path in sorted(out.glob("*/*/results.json")):
        if skip and path.parent.parent.name.startswith(skip):
            continue
        data = json.loads(path.read_text("utf-8"))
        executed = path.with_name("executed.ipynb")
        own = ""
        if executed.is_file():
            for cell in json.loads(executed.read_text("utf-8"))["cells"]:
                if cell["cell_type"] == "code":
                    own += "".join(cell["source"]) + json.dumps(cell.get("outputs", []), ensure_ascii=False)
        texts = [data["output"], *data["extra_data"]["notes"], *(t["name"] for t in data["tests"]),
                 *(t["output"] for t in data["tests"])]
        runs = {run for text in texts for run in CJK_RUN.findall(messages.QUOTED.sub("", text)) if run not in own}
        if language == "zh-Hans":
            runs = {run for run in runs if zhconv.convert(run, "zh-hans") != run}
        if runs:
            found[str(path.relative_to(out))] = sorted(runs)
    return found


@pytest.mark.slow
def test_an_english_course_grades_every_mutant_in_english(validation):
    """Every solution, blank, mutant, variant and attack of every assignment, graded with language = "en"
    (conftest's ``validation`` runs on an English copy of the course): no Chinese reaches a student but
    their own notebook's and the quoted data (a poem, a completion). The public checks' results are left
    out: `course check` speaks both languages by design."""
    proc, out = validation
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(list(out.glob("*/*/results.json"))) >= 100
    assert stray_chinese(out, "en", skip="public-") == {}


@pytest.mark.slow
def test_a_simplified_chinese_course_grades_the_class_in_simplified_chinese(tmp_path):
    course_in("zh-Hans", tmp_path / "course")
    shutil.copytree(ROOT / "examples", tmp_path / "course" / "examples")
    out = tmp_path / "graded"
    proc = run_course("--course", tmp_path / "course", "grade", "--out", out, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(out.glob("*/*/results.json"))) == 18
    assert stray_chinese(out, "zh-Hans") == {}
    assert "总分" in (out / "alice" / "02-char-rnn" / "results.json").read_text("utf-8")
