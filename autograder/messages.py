"""Every message a student or instructor reads, in one catalogue.

Each entry is a pair (Chinese, English) with ``str.format`` fields.  ``say(key, **fields)`` gives the
message in the course's language with the English beside it ("中文 / English"), or English alone when
the course's language is ``en``.  Graders use keys, never string literals, so a course can switch
language in ``course.toml`` and a translator finds everything here.  Languages: ``zh-Hant`` (the
catalogue's own), ``zh-Hans`` (converted from it: Taiwan terms to mainland ones by :data:`TERMS`, then
character by character with ``zhconv``; applied to templates, never to the student's data in the
fields) and ``en``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATALOGUE: dict[str, tuple[str, str]] = {
    # ---------------------------------------------------------------- the engine
    "not_implemented": ("{name} 尚未實作（仍是 NotImplementedError）",
                        "{name} is not implemented yet (it still raises NotImplementedError)"),
    "student_raised": ("{name} 拋出了例外 {type}: {message}",
                       "{name} raised {type}: {message}"),
    "student_timeout": ("{name} 執行超過時間限制 ({seconds:g} 秒)",
                        "{name} ran past its time limit ({seconds:g} s)"),
    "worker_timeout": ("你的程式執行超過時間限制，已被終止",
                       "your code ran past its time limit and was stopped"),
    "worker_died": ("執行你程式的行程意外結束 ({detail})",
                    "the process running your code ended unexpectedly ({detail})"),
    "memory_exceeded": ("記憶體超過上限 ({limit})：{message}", "memory limit exceeded ({limit}): {message}"),
    "worker_protocol": ("執行你程式的行程送回了無效的資料",
                        "the process running your code sent back invalid data"),
    "worker_stale": ("先前的物件已隨結束的行程消失，無法評分",
                     "an earlier object was lost with a process that ended; cannot grade"),
    "missing_name": ("找不到 {name}：筆記本沒有定義它",
                     "{name} is not defined by the notebook"),
    "grader_error": ("評分程式無法判斷你的答案 ({type}: {message})",
                     "the grader could not judge your answer ({type}: {message})"),
    "not_plain": ("{what} 應回傳 {expected}，卻得到一個 {got} 物件",
                  "{what} should return {expected}, got an object of type {got}"),
    "notebook_unreadable": ("無法評分這個檔案：{reason}", "cannot grade this file: {reason}"),
    "engine_failed": ("評分系統在評這份作業時出錯（{type}: {message}）：這不是你的錯，請告訴助教",
                      "the grading engine failed on this submission ({type}: {message}): not your doing, tell "
                      "the teaching staff"),
    "nb_too_large": ("檔案過大 ({size} bytes)", "notebook file too large ({size} bytes)"),
    "nb_unreadable": ("無法讀取檔案：{reason}", "cannot read the file: {reason}"),
    "nb_empty": ("檔案是空的", "the file is empty"),
    "nb_not_utf8": ("檔案不是 UTF-8 編碼", "the file is not UTF-8 text"),
    "nb_not_json": ("檔案不是有效的 JSON（第 {line} 行）", "the file is not valid JSON (line {line})"),
    "nb_not_notebook": ("檔案不是 Jupyter 筆記本", "the file is not a Jupyter notebook"),
    "nb_old_format": ("筆記本是舊格式 nbformat {version}：請在 Jupyter 中開啟並重新儲存（nbformat 4）後再繳交",
                      "the notebook is in the old format nbformat {version}: open it in Jupyter, save it "
                      "(nbformat 4) and submit again"),
    "nb_unparseable": ("無法解析筆記本 ({type})", "cannot parse the notebook ({type})"),
    "cell_failed": ("第 {index} 個程式儲存格出錯", "code cell {index} failed"),
    "cell_killed": ("第 {index} 個程式儲存格使執行行程結束，評分時略過了它 ({detail})",
                    "code cell {index} ended the worker and was skipped when grading ({detail})"),
    "locked_restored": ("鎖定的儲存格被修改，已還原為原本的內容：{cells}",
                        "locked cells were edited and have been restored: {cells}"),
    "cells_missing": ("筆記本缺少儲存格，已補回：{cells}", "cells were missing and have been put back: {cells}"),
    "cells_duplicated": ("重複的儲存格只採用第一個：{cells}",
                         "duplicated cells: only the first of each was used: {cells}"),
    "not_submitted": ("找不到 {name}", "{name} was not submitted"),
    "nb_bad_cell": ("筆記本的儲存格格式錯誤", "a cell of the notebook is malformed"),
    "return_value_of": ("{what} 的回傳值", "the return value of {what}"),
    "check_passed": ("通過", "passed"),
    "check_failed": ("未通過", "FAILED"),
    "check_note": ("注意", "note"),
    "check_summary": ("{passed}/{total} 項公開檢查通過（隱藏的評分會檢查更多）",
                      "{passed}/{total} public checks passed (the hidden graders check more)"),
    "total": ("總分 {score:g} / {max_score:g}", "total {score:g} / {max_score:g}"),
    "unisolated": ("這份作業在沒有隔離的環境中評分（老師信任所有繳交的作業）",
                   "graded without isolation (the instructor trusts the submissions)"),
    # ---------------------------------------------------------------- written answers (graded by hand)
    "written_name": ("書面題 {id}", "written question {id}"),
    "written_pending": ("待助教批改（{points:g} 分，人工評分）", "pending: a TA grades this answer by hand ({points:g} points)"),
    "written_unanswered": ("未作答：答案儲存格仍是原本的提示", "not answered: the answer cell still holds its prompt"),
    "written_changed": ("答案在批改後改過了：分數保留，已標記請助教複查",
                        "the answer changed after it was graded: the points stand, flagged for the TA to review"),
    "written_total_pending": ("另有書面題 {points:g} 分待助教批改", "{points:g} more points of written answers "
                              "are pending (a TA grades them by hand)"),
    "book_input_name": ("找不到 Input：書中的名稱是大寫的 Input，你的筆記本卻只定義了小寫的 input（{got}）；"
                             "小寫的 input 會遮住 Python 內建的 input()，請改名為 Input",
                             "Input is not defined: the book names it Input, with a capital I, and your notebook "
                             "defines only a lowercase input ({got}), which shadows Python's input(); rename it Input"),
    # ---------------------------------------------------------------- shared by graders
    "expected_got": ("{what}：期望 {expected}，得到 {got}", "{what}: expected {expected}, got {got}"),
    "wrong_type": ("{what} 的型別應為 {expected}，得到 {got}", "{what} should be of type {expected}, got {got}"),
    "wrong_shape": ("{what} 的形狀應為 {expected}，得到 {got}", "{what} should have shape {expected}, got {got}"),
    "wrong_dtype": ("{what} 的資料型別應為 {expected}，得到 {got}",
                    "{what} should have dtype {expected}, got {got}"),
    "not_finite": ("{what} 含有 NaN 或無限大 (inf)", "{what} contains NaN or inf"),
    "returns": ("{what} 應回傳 {expected}，得到 {got}", "{what} should return {expected}, got {got}"),
    "values_differ": ("{what} 與{reference}不同：位置 {where} 期望 {expected:.6g}，得到 {got:.6g}"
                      "（最大誤差 {error:.3g}，容許 {tolerance:.3g}）",
                      "{what} differs from {reference}: at {where} expected {expected:.6g}, got {got:.6g} "
                      "(largest error {error:.3g}, tolerance {tolerance:.3g})"),
    "argument_changed": ("{name} 改變了傳給它的 {arguments}（原地運算 (in-place)，例如 +=、mul_、或寫進傳入的張量）："
                         "函式不可以修改它的輸入，PyTorch 的層 (layers) 也從不修改它的輸入；請在新的張量上計算（例如 x + y 而不是 x += y，"
                         "或先 .clone()）",
                         "{name} changed {arguments}, which it was given (in place: +=, mul_, or writing into a "
                         "tensor passed in): a function must leave its inputs as they were, as PyTorch's layers do; "
                         "compute into new tensors (x + y rather than x += y, or .clone() first)"),
    "depends_on": ("無法評分：這一項依賴 {name}，而 {name} 不符合規格（{why}）",
                   "cannot grade: this depends on {name}, which does not meet the contract ({why})"),
    # ---------------------------------------------------------------- 02-char-rnn
    "onehot_not_onehot": ("{what} 不是獨熱編碼：位置 {where} 應在索引 {expected} 為 1，實際為 1 的索引是 {got}",
                          "{what} is not a one-hot encoding: at {where} the 1 should be at index {expected}, "
                          "found 1s at {got}"),
    "model_attr": ("Model 應有屬性 {attr}（{expected}），得到 {got}",
                   "Model should have attribute {attr} ({expected}), got {got}"),
    "model_not_recurrent": ("改變序列 {seq} 在時間 0 的輸入後，它在時間 {t} 的輸出沒有改變：模型沒有循環 (recurrence)",
                            "changing sequence {seq} at time 0 did not change its output at time {t}: "
                            "the model is not recurrent"),
    "model_leaks": ("改變序列 {seq} 的輸入，卻改變了序列 {other} 的輸出：批次 (batch) 與時間軸混在一起了"
                    "（batch_first？）",
                    "changing sequence {seq} changed the output of sequence {other}: batch and time axes are "
                    "mixed up (batch_first?)"),
    "model_vs_reference": ("用相同權重時，Model 的輸出與 nn.RNN + nn.Linear 參考不同（最大誤差 {error:.3g}，容許 "
                           "{tolerance:.2g}）",
                           "with the same weights, Model's output differs from the nn.RNN + nn.Linear "
                           "reference (largest error {error:.3g}, tolerance {tolerance:.2g})"),
    "init_hidden_zero": ("init_hidden({batch}) 應為全零、形狀 {expected}，得到形狀 {got}、最大絕對值 {norm:.3g}",
                         "init_hidden({batch}) should be zeros of shape {expected}, got shape {got}, "
                         "largest magnitude {norm:.3g}"),
    "curve_loss_title": ("訓練損失（相同初始權重，lr={lr:g}）", "training loss (same initial weights, lr={lr:g})"),
    "curve_yours": ("你的 train", "your train"),
    "curve_reference": ("參考解答", "reference"),
    "train_len": ("train(..., n_epochs={n}) 應回傳 {n} 個損失，得到 {got} 個",
                  "train(..., n_epochs={n}) should return {n} losses, got {got}"),
    "train_floats": ("train 應回傳 Python float 的串列，第 {index} 個是 {got}",
                     "train should return a list of Python floats; item {index} is a {got}"),
    "train_not_decreasing": ("模型的損失沒有下降到一半以下（在評分端以訓練前後的權重重新計算）：訓練前 {first:.4f}，訓練後 {last:.4f}",
                             "the model's loss did not fall below half (measured by the grader on the weights "
                             "before and after training): before {first:.4f}, after {last:.4f}"),
    "train_losses_measured": ("train 回傳的損失不是模型實際的損失：第一個 epoch 的損失（在初始權重上的交叉熵）應為 "
                              "{expected:.6f}，回傳 {got:.6f}",
                              "the losses train returns are not the model's: the first epoch's (the cross-entropy at "
                              "the initial weights) should be {expected:.6f}, it returned {got:.6f}"),
    "train_vs_reference": ("從相同的初始權重出發，第 {epoch} 個 epoch 的損失應為 {expected:.6f}（Adam + "
                           "CrossEntropyLoss, lr={lr:g}；相對容許 {tolerance:g}），得到 {got:.6f}",
                           "from the same initial weights, the loss of epoch {epoch} should be {expected:.6f} "
                           "(Adam + CrossEntropyLoss, lr={lr:g}; relative tolerance {tolerance:g}), got {got:.6f}"),
    "train_hint_zero_grad": ("提示：每個 epoch 都要 optimizer.zero_grad()，並只呼叫一次 optimizer.step()",
                             "hint: call optimizer.zero_grad() every epoch and optimizer.step() once"),
    "train_weights_unchanged": ("train 之後傳入的 net 的權重沒有改變：是不是訓練了別的模型（例如全域的 net）？",
                                "the weights of the net passed to train did not change: did it train another "
                                "model (the global net, say)?"),
    "train_final_weights": ("train 之後的權重與參考訓練不同（最大誤差 {error:.3g}，容許 {tolerance:g}）",
                            "the weights after train differ from the reference training (largest error {error:.3g}, "
                            "tolerance {tolerance:g})"),
    "predict_char": ("predict(model, {context!r}) 應預測 {expected!r}（最後一個時間步分數最高的字），得到 {got!r}",
                     "predict(model, {context!r}) should predict {expected!r} (the highest score at the last time "
                     "step), got {got!r}"),
    "predict_returns": ("predict 應回傳 (下一個字, hidden)，得到 {got}",
                        "predict should return (next_character, hidden), got {got}"),
    "sample_text": ("sample(model, {out_len}, {start!r}) 應為 {expected!r}，得到 {got!r}",
                    "sample(model, {out_len}, {start!r}) should be {expected!r}, got {got!r}"),
    "sample_untrained": ("用未訓練的隨機權重時，sample(model, {out_len}, {start!r}) 應照模型補全為 {expected!r}，得到 "
                         "{got!r}（答案不能寫死）",
                         "with untrained random weights, sample(model, {out_len}, {start!r}) should complete as the "
                         "model says, {expected!r}, got {got!r} (the answer cannot be hard-coded)"),
    "sample_not_deterministic": ("同樣的輸入呼叫 sample 兩次，結果不同：{first!r} 與 {second!r}（應為貪婪解碼）",
                                 "sample gave different results for the same input: {first!r} and {second!r} "
                                 "(decoding should be greedy)"),
    "poem_after_training": ("用書中的 Model 與 train 訓練 100 個 epoch（種子 {seeds}）後，{detail}",
                            "after training the book's Model with the book's train for 100 epochs (seeds {seeds}), "
                            "{detail}"),
}


def register(entries: dict[str, tuple[str, str]]) -> None:
    """Add an assignment's own messages (kept in its reference module) to the one catalogue."""
    for key, value in entries.items():
        if key in CATALOGUE and CATALOGUE[key] != value:
            raise ValueError(f"message {key!r} is already in the catalogue with other text")
        if not (isinstance(value, tuple) and len(value) == 2):
            raise ValueError(f"message {key!r} must be a (Chinese, English) pair")
        CATALOGUE[key] = value


LANGUAGES = ("zh-Hant", "zh-Hans", "en")

# Taiwan's computing terms and the mainland's, longest first; the characters are converted after these.
TERMS = {
    "程式碼": "代码", "程式": "程序", "儲存格": "单元格", "資料型別": "数据类型", "型別": "类型",
    "物件": "对象", "函式": "函数", "記憶體": "内存", "行程": "进程", "預設": "默认", "網路": "网络",
    "例外": "异常", "陣列": "数组", "變數": "变量", "字元": "字符", "介面": "接口", "執行緒": "线程",
    "訊息": "信息", "檔案": "文件", "資料": "数据", "模組": "模块", "回傳": "返回", "迴圈": "循环",
    "位元組": "字节", "最佳化": "优化", "批次": "批量", "索引值": "索引", "串列": "列表",
}


_LONGEST_FIRST = sorted(TERMS, key=len, reverse=True)    # 程式碼 before 程式


class Language:
    """The course's language; set once per grading run."""

    current = "zh-Hant"


def set_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
    Language.current = language


def simplified(text: str) -> str:
    """Traditional Chinese (Taiwan) → Simplified Chinese (mainland terms)."""
    import zhconv

    for taiwan in _LONGEST_FIRST:
        text = text.replace(taiwan, TERMS[taiwan])
    return zhconv.convert(text, "zh-hans")


CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class Message:
    """A message as a value: a Chinese (zh-Hant) template, its English, and the fields both are
    formatted with; a field may be a Message itself (nested, rendered in the same language). Rendered
    once, where it is shown: ``render(language)`` gives "中文 / English", or the English alone for
    ``en``; for ``zh-Hans`` the template is converted, never the data in the fields. A message of
    ``parts`` renders each part on a line of its own."""

    zh: str = ""
    en: str = ""
    fields: tuple = ()
    parts: tuple = ()

    def halves(self, language: str | None = None) -> tuple[str, str]:
        """The Chinese and the English, each complete (a nested message's halves go into each)."""
        language = language or Language.current
        if self.parts:
            pieces = [p.halves(language) if isinstance(p, Message) else (str(p), str(p)) for p in self.parts]
            return "\n".join(zh for zh, _ in pieces), "\n".join(en for _, en in pieces)
        zh_values, en_values = {}, {}
        for name, value in self.fields:
            zh_values[name], en_values[name] = value.halves(language) if isinstance(value, Message) else (value, value)
        if self.zh == self.en:          # the same in every language (code, data): never converted
            return self.en.format(**en_values), self.en.format(**en_values)
        zh = simplified(self.zh) if language == "zh-Hans" else self.zh
        return zh.format(**zh_values), self.en.format(**en_values)

    def render(self, language: str | None = None) -> str:
        language = language or Language.current
        if self.parts:
            return "\n".join(p.render(language) if isinstance(p, Message) else str(p) for p in self.parts)
        zh, en = self.halves(language)
        return en if language == "en" or zh == en else f"{zh} / {en}"

    def __str__(self) -> str:
        return self.render()

    def __add__(self, other: "Message | str") -> "Message":
        """This message, then ``other`` on the next line."""
        mine = self.parts or (self,)
        theirs = other.parts if isinstance(other, Message) and other.parts else (other,)
        return Message(parts=tuple(mine) + tuple(theirs))


def msg(key: str, **fields) -> Message:
    """The catalogue's message ``key`` with its fields."""
    zh, en = CATALOGUE[key]
    return Message(zh, en, tuple(fields.items()))


def text(zh: str, en: str) -> Message:
    """A message written where it is used (a grader's name, a public check's verdict): no fields."""
    return Message(_literal(zh), _literal(en))


def _literal(value: str) -> str:
    return value.replace("{", "{{").replace("}", "}}")


# "中文 / English": the separator is the slash after which no Chinese is left
_SEPARATOR = re.compile(r"\s*/\s+")


QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|「[^」]*」")      # data: the same in every language


def name(line: str) -> Message:
    """A grader's or public check's name, written "中文 / English" (its docstring's first line), or one
    with no Chinese but in quotes (code, the same in every language). Raises ValueError otherwise."""
    def chinese(part: str) -> bool:
        return bool(CJK.search(QUOTED.sub("", part)))

    for match in _SEPARATOR.finditer(line):
        zh, en = line[:match.start()].strip(), line[match.end():].strip()
        if chinese(zh) and en and not chinese(en):
            return text(zh, en)
    if line.strip() and not chinese(line):
        return text(line.strip(), line.strip())
    raise ValueError(f"a name must read '中文 / English', with no Chinese in the English half: {line!r}")


def say(key: str, **fields) -> str:
    """The catalogue's message rendered now, in the course's language (for what is shown at once)."""
    return msg(key, **fields).render()
