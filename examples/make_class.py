"""Generate the embedded example class from the source notebooks, so it never drifts from them.

    python examples/make_class.py           # (re)write examples/submitted/
    python examples/make_class.py --check   # exit 1 if examples/submitted/ is not what this script makes

Each student is the release notebook with answers filled in: the master's solutions, changed by
mutants and variants from ``autograder/mutants/<aid>.py`` (so the class moves with the catalogue),
plus a few things real classes contain: an edited locked cell, a broken file. Written answers are the
students' own words (:data:`WRITTEN`): never the master's, which is the TA's model answer and rubric; a
student not listed leaves the answer cell as released.
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
        "bob": ("forgot zero_grad, predicts from out[0], temperature by a plain exp (NaN as T → 0)",
                ["no-zero-grad", "predict-first-step", "sample-next-naive-exp"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("batch_first forgotten, sample one too long, edited the poem (restored)",
                 ["batch-first-forgotten", "sample-one-too-long"],
                 [("data", "Text = ['對酒當歌'", "Text = ['對酒當歌歌'")]),
        "erin": ("different but correct: np.eye one-hot, argmax of the scores, a string in sample, softmax by hand, "
                 "a while loop in generate",
                 ["onehot-np-eye", "predict-argmax-logits", "sample-string", "sample-next-exp-max", "generate-while"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
    "01-rnn-foundations": {
        "alice": ("the reference answers: full marks", [], []),
        "bob": ("forgot the bias in the cell, BPTT keeps only the last step, ∂L/∂h0 without U_h",
                ["cell-no-bias", "bptt-last-step-only", "grads-h0-without-U"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("Jordan recurrence through h, counts multiplied by T, a forward difference, edited the seeds (restored)",
                 ["jordan-through-h", "count-shared-times-T", "numeric-forward-difference"], [("imports", "torch.manual_seed(0)", "torch.manual_seed(1)")]),
        "erin": ("different but correct: addmm, einsum BPTT, sigmoid written out, per-step gradient lists",
                 ["cell-addmm", "bptt-einsum", "jordan-exp", "grads-per-step-lists"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
    "03-lstm": {
        "alice": ("the reference answers: full marks", [], []),
        "bob": ("GRU reset gate before the matmul; thinks h_n follows batch_first; ∂L/∂h_k from the output",
                ["gru-reset-before-matmul", "hn-follows-batch-first", "norms-output-gradient"], []),
        "carol": ("handed in the blank release notebook", None, []),
        "dave": ("LSTM gates i and f swapped, coupled cell f ⊙ g, the adding problem's target a product, "
                 "edited the seeds (restored)",
                 ["cell-if-swapped", "coupled-f-times-g", "adding-product"], [("imports", "torch.manual_seed(0)", "torch.manual_seed(1)")]),
        "erin": ("different but correct: chunk, lists then stack, autograd.grad, clipping by hand",
                 ["cell-chunk", "gru-chunk", "forward-lists-stack", "norms-autograd-grad", "train-manual-clip"], []),
        "frank": ("a notebook file cut off in the middle", "broken", []),
    },
}


# written question -> student -> what they wrote (a TA grades these by hand)
WRITTEN = {
    "why_shared": {
        "alice": "同一組權重用在每一個時間步，所以同一個網路能處理任何長度的序列；參數個數不隨 $T$ 增加"
                 "（我算出共享時 80 個，不共享時 $T = 100$ 就有 6614 個）；同一個模式出現在序列的哪個位置，"
                 "都用同一套規則處理；BPTT 把每個時間步的梯度加到同一組參數上，每一步的資料都在訓練它們。",
        "bob": "因為這樣算得比較快。",
        "dave": "參數比較少，不會因為序列變長而增加。",
        "erin": "權重共享讓模型與序列長度無關，可以用在訓練時沒見過的長度；參數少、比較不會過度擬合；"
                "梯度是所有時間步貢獻的總和，所以每一步都在學同一條規則。",
    },
    "grad_h0": {
        "alice": "$h_0$ 只出現在 $a_1 = W_h x_1 + U_h h_0 + b_h$ 裡，沒有 $y_0$，所以只有經過 $a_1$ 的一條路："
                 "$\\partial L/\\partial h_0 = U_h^\\top \\delta_1$，少了 $W_y^\\top(y_t - \\text{target}_t)$ 那一項。"
                 "只有最後一步有誤差時，$\\partial L/\\partial h_0 = U_h^\\top D_1 U_h^\\top D_2 \\cdots U_h^\\top D_T W_y^\\top e_T$，"
                 "共有 $T$ 個 $U_h^\\top$。所以大小隨 $T$ 指數地變化：$U_h$ 的奇異值小於 1、加上 tanh 的導數不超過 1，就指數地消失"
                 "（s = 0.7 那條）；大於 1 時先爆炸，直到 tanh 飽和。遠處的誤差傳不回來，RNN 很難學到長距離依賴。",
        "bob": "因為 h0 是初始值，所以梯度比較小。",
        "dave": "$h_0$ 只影響 $a_1$，所以梯度是 $U_h^\\top \\delta_1$。T 越大梯度越小，這就是梯度消失。",
        "erin": "連鎖律：$h_0 \\to a_1 \\to h_1 \\to \\cdots$，$h_0$ 沒有自己的輸出，所以只剩 $U_h^\\top \\delta_1$。"
                "展開後是 $T$ 個 $U_h^\\top D_t$ 連乘再乘 $W_y^\\top e_T$；每一步乘上 $U_h$ 的大小與 tanh 的導數，"
                "所以隨 $T$ 指數地變小或變大，長距離的關係就學不到，或訓練不穩定。",
    },
    "why_prefix": {
        "alice": "下一個字取決於前面所有的字，而這些資訊只存在隱藏狀態裡。predict 每次從零狀態重新跑整段前綴，"
                 "才能得到正確的隱藏狀態；只餵最後一個字，「當」後面要接「歌」（對酒當歌）還是「以」（慨當以慷）"
                 "就分不出來。比較省的做法是保留上一步的隱藏狀態、每次只餵一個新字；RNN 是確定的，結果完全一樣。",
        "bob": "因為 RNN 需要一整個序列才能運作。",
        "dave": "只餵最後一個字會失去上下文。",
        "erin": "隱藏狀態 h 記住了前綴；從 h = 0 只看最後一個字，同一個字在不同句子裡就只能有一種接法。"
                "也可以把 h 帶到下一步、只餵新字，省下重算整段前綴的時間，而答案不變。",
    },
    "book_comment": {
        "alice": "書中說 (5, 3, 10) 是 batch_size, seq_len, input_dim，但 nn.LSTM 預設 batch_first=False："
                 "第 0 維是時間、第 1 維是批次，所以是 5 個時間步、批次 3。任何 3 維張量怎麼解讀都算得下去，"
                 "PyTorch 不會報錯。h0 的註解 #n_layers,batch_size,hidden_dim 才是對的：它的第 1 維 3 是批次大小。"
                 "若改成 batch_first=True，輸入要寫成 (3, 5, 10)，h0 與 c0 仍是 (2, 3, 20)。",
        "bob": "註解是對的，第 0 維是批次。",
        "erin": "預設時間在前：5 是序列長度、3 是批次；PyTorch 只檢查最後一維等於 10，其他兩維怎麼想都不會出錯。"
                "h0 的形狀 (2, 3, 20) 說明批次是 3。batch_first=True 時輸入與 output 的前兩維對調，h_n 不變。",
    },
    "why_gates": {
        "alice": "Elman RNN 的 ∂h_t/∂h_{t-1} = diag(1 − h_t²) W_hh，連乘 20 次，若每次縮成 0.5 倍就剩約 1e-6；"
                 "LSTM 沿記憶細胞的 ∂c_t/∂c_{t-1} = diag(f_t)，f = 0.9 時 20 步還剩約 0.12，而且 f 是學出來的，"
                 "要記的時候可以接近 1。《短歌行》每句只有 3 步，梯度來不及消失，所以實驗看不出差別。",
        "dave": "LSTM 有比較多參數，所以學得比較好。",
        "erin": "門讓誤差沿著 c 走一條沒有權重矩陣、也沒有 tanh 導數的路：每步只乘上遺忘門 f。f 接近 1 時梯度幾乎不衰減；"
                "Elman 網路每步乘上 W_hh 與 tanh 的導數，長距離就消失或爆炸。3 步的資料太短，顯示不出這個好處。",
    },
}


def answered(source, release, edits, student: str = "") -> nbformat.NotebookNode:
    """The release notebook with each solution cell answered as the edited master answers it, and each
    written answer as ``student`` wrote it (:data:`WRITTEN`)."""
    master = {grade_id(c): c for c in apply(source, edits).cells}
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "markdown":
            cell.source = WRITTEN.get(gid, {}).get(student, cell.source)
        elif meta.get("solution"):
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
                text = nbformat.writes(answered(source, release, [], student))
                path.write_text(text[: len(text) // 2], encoding="utf-8")
                continue
            else:
                edits = [e for name in names for e in known[name]] + list(locked_edits)
                nb = answered(source, release, edits, student)
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
