"""The message catalogue in the three languages a course may choose (course.toml's ``language``)."""

import shutil

import pytest

from autograder import messages
from autograder.course import CourseError, load
from conftest import ROOT, run_course


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
    assert messages.localize("記憶體與檔案 / memory and files") == "内存与文件 / memory and files"
    language("en")
    assert messages.localize("記憶體與檔案 / memory and files") == "memory and files"
    assert messages.localize("no pair here") == "no pair here"


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
        chinese = messages.pair(key, **fields)[0]
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
