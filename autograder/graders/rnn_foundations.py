"""The trusted reference and the helpers of the 01-rnn-foundations graders; judge side only.

The reference is written here from the equations, not taken from the master notebook: Elman
(h_t = tanh(x_t W_hᵀ + h_{t-1} U_hᵀ + b_h), y_t = h_t W_yᵀ + b_y), Jordan (the recurrence through
y_{t-1}, y_t = sigmoid(h_t W_yᵀ + b_y)), PyTorch's naming of the same parameters, and ∂L/∂U_h (and the
gradients of every parameter and of h0) by autograd (in float64) for L = ½ Σ_t Σ_batch ||y_t − target_t||².
For the gradient check: the central difference of the graders' own test functions, in closed form, and
the finite-difference ``numerical_grad`` put in the place of the student's while find_wrong_grads is graded.

Where a student's answer is wrong, the graders also compute the answers of the usual mistakes
(sigmoid for tanh, a term forgotten, h0 ignored, only the last time step of BPTT, …) and, when the
student's answer is one of them, say so in a hint.

Letters for shapes: T time steps, N batch, D input size, H hidden size, O output size; sequences are
time-major, x of shape (T, N, D).
"""

from __future__ import annotations

import torch

from autograder.messages import msg, register
from autograder.submission import StudentError
from autograder.toolkit import Fail, calling, close, differs, fail, first_match, kind_of, mismatch, tensor, unpack

BLANKS = ("elman_cell", "elman_forward", "params_from_torch", "jordan_cell", "jordan_forward", "bptt_grad_U",
          "bptt_grads", "numerical_grad", "find_wrong_grads", "n_params_shared", "n_params_unshared", "train_elman")
ELMAN_KEYS = ("W_h", "U_h", "b_h", "W_y", "b_y")
GRAD_KEYS = ELMAN_KEYS + ("h0",)          # what bptt_grads returns: a gradient for every parameter, and for h0

# The toolkit's RTOL and ATOL for values; gradients are compared more tightly:
GRAD_RTOL = 1e-4       # for ∂L/∂U_h (and every gradient of bptt_grads), relative to the gradient's largest |entry|
GRAD_ATOL = 1e-6
# numerical_grad against the central difference in closed form, both in float64: at eps ≥ 1e-4 the round-off of
# (f(θ+ε) − f(θ−ε)) / 2ε is below 1e-9 of the gradient, and a float32 step anywhere costs ~1e-7 of it
NUMERIC_RTOL = 1e-9
NUMERIC_ATOL = 1e-10
DEFAULT_EPS = 1e-6
METHOD_RTOL = 1e-6       # which difference, which eps: at the default eps = 1e-6 the round-off is ~1e-8 of the
                         # gradient, and a one-sided difference or another eps is off by far more

register({
    # ------------------------------------------------------------ hints: which mistake the answer looks like
    "rf_hint_sigmoid_h": ("提示：結果像是用了 sigmoid；隱藏狀態的活化函數應為 tanh",
                          "hint: this looks like sigmoid; the hidden state's activation should be tanh"),
    "rf_hint_no_tanh": ("提示：結果像是沒有取 tanh", "hint: this looks like tanh was left out"),
    "rf_hint_no_bias": ("提示：結果像是少了偏差 b_h", "hint: this looks like the bias b_h was left out"),
    "rf_hint_no_recurrent": ("提示：結果像是少了循環項 U_h h_{{t-1}}（h_prev @ U_h.T）",
                             "hint: this looks like the recurrent term U_h h_{{t-1}} (h_prev @ U_h.T) was left out"),
    "rf_hint_no_input": ("提示：結果像是少了輸入項 W_h x_t（x_t @ W_h.T）",
                         "hint: this looks like the input term W_h x_t (x_t @ W_h.T) was left out"),
    "rf_hint_untransposed": ("提示：結果像是權重沒有轉置；列向量的寫法是 x_t @ W_h.T、h_prev @ U_h.T",
                             "hint: this looks like a weight was not transposed; with row vectors write "
                             "x_t @ W_h.T and h_prev @ U_h.T"),
    "rf_hint_h0_ignored": ("提示：結果像是忽略了 h0，從全零開始", "hint: this looks like h0 was ignored (a zero start)"),
    "rf_hint_not_carried": ("提示：結果像是每一步都從 h0 重新開始，沒有把上一步的隱藏狀態傳下去",
                            "hint: this looks like every step started again from h0 instead of the previous "
                            "hidden state"),
    "rf_hint_shifted": ("提示：結果像是回傳了 h_0..h_{{T-1}}；hs 應為 h_1..h_T（不含 h0）",
                        "hint: this looks like h_0..h_{{T-1}}; hs should hold h_1..h_T (without h0)"),
    "rf_hint_ys_preactivation": ("提示：ys 像是由 tanh 之前的值 a_t 算出；應為 y_t = W_y h_t + b_y",
                                 "hint: ys looks computed from the pre-activation a_t; it should be "
                                 "y_t = W_y h_t + b_y"),
    "rf_hint_ys_activation": ("提示：ys 像是多取了一次 tanh；Elman 的輸出 y_t = W_y h_t + b_y 不經過活化函數",
                              "hint: ys looks passed through tanh; the Elman output y_t = W_y h_t + b_y has "
                              "no activation"),
    "rf_hint_bias_one": ("提示：b_h 像是只取了 {name}；應為 bias_ih_l0 + bias_hh_l0（兩個偏差的和）",
                         "hint: b_h looks like {name} alone; it should be bias_ih_l0 + bias_hh_l0 (the sum of "
                         "both biases)"),
    "rf_hint_swapped": ("提示：{entry} 像是取成了 {name}；W_h = weight_ih_l0、U_h = weight_hh_l0",
                        "hint: {entry} looks like {name}; W_h = weight_ih_l0 and U_h = weight_hh_l0"),
    "rf_hint_y_tanh": ("提示：y_t 像是用了 tanh；Jordan 網路的輸出應為 sigmoid(W_y h_t + b_y)",
                       "hint: y_t looks like tanh; the Jordan output should be sigmoid(W_y h_t + b_y)"),
    "rf_hint_y_linear": ("提示：y_t 像是沒有取 sigmoid", "hint: y_t looks like sigmoid was left out"),
    "rf_hint_through_h": ("提示：結果像是把上一步的隱藏狀態 h_{{t-1}} 傳下去；Jordan 網路的循環經過上一步的輸出 y_{{t-1}}",
                          "hint: this looks like the previous hidden state h_{{t-1}} was fed back; the Jordan "
                          "recurrence runs through the previous output y_{{t-1}}"),
    "rf_hint_y0_ignored": ("提示：結果像是忽略了 y0，從全零開始", "hint: this looks like y0 was ignored (a zero start)"),
    "rf_hint_y_not_carried": ("提示：結果像是每一步都用 y0，沒有把上一步的輸出傳下去",
                              "hint: this looks like every step used y0 instead of the previous output"),
    "rf_hint_bptt_last": ("提示：結果像是只有最後一個時間步的貢獻；共享權重的梯度是所有時間步的總和",
                          "hint: this looks like the last time step's contribution alone; the gradient of a "
                          "shared weight is the sum over all time steps"),
    "rf_hint_bptt_no_tanh": ("提示：結果像是少了 tanh 的導數 (1 - h_t²)", "hint: this looks like the tanh "
                             "derivative (1 - h_t²) was left out"),
    "rf_hint_bptt_no_recurrent": ("提示：結果像是少了 U_hᵀ δ_{{t+1}} 這一項：誤差沒有沿時間往回傳",
                                  "hint: this looks like the term U_hᵀ δ_{{t+1}} was left out: the error did "
                                  "not flow back through time"),
    "rf_hint_bptt_h_t": ("提示：結果像是用了 δ_t h_tᵀ；應為 δ_t h_{{t-1}}ᵀ（上一步的隱藏狀態，第一步是 h0）",
                         "hint: this looks like δ_t h_tᵀ; it should be δ_t h_{{t-1}}ᵀ (the previous hidden "
                         "state, h0 for the first step)"),
    "rf_hint_bptt_tanh_prev": ("提示：結果像是 tanh 的導數用了 h_{{t-1}}；應為 1 - h_t²",
                               "hint: this looks like the tanh derivative used h_{{t-1}}; it should be 1 - h_t²"),
    "rf_hint_bptt_one_sample": ("提示：結果像是只用了批次中的第一個樣本；梯度要對整批加總",
                                "hint: this looks like the first sample of the batch alone; the gradient sums "
                                "over the batch"),
    "rf_hint_bptt_mean": ("提示：結果像是對批次取平均；L 是總和，不是平均",
                          "hint: this looks like a mean over the batch; L is a sum, not a mean"),
    "rf_hint_bptt_no_half": ("提示：結果是正確答案的 2 倍：L 有 ½，∂L/∂y_t = y_t - target_t",
                             "hint: this is twice the right answer: L has a ½, so ∂L/∂y_t = y_t - target_t"),
    "rf_hint_bptt_sign": ("提示：結果的正負號相反：∂L/∂y_t = y_t - target_t",
                          "hint: this has the wrong sign: ∂L/∂y_t = y_t - target_t"),
    "rf_hint_bptt_transposed": ("提示：結果像是正確答案的轉置；∂L/∂U_h = Σ_t δ_t h_{{t-1}}ᵀ，列是 δ 的分量",
                                "hint: this looks like the transpose of the right answer; ∂L/∂U_h = "
                                "Σ_t δ_t h_{{t-1}}ᵀ, rows indexed by δ"),
    "rf_hint_grads_transposed": ("提示：{name} 的梯度像是正確答案的轉置", "hint: the gradient of {name} looks like the "
                                 "transpose of the right one"),
    "rf_hint_grads_skip_first": ("提示：結果像是反向的迴圈少走了第一個時間步 (t = 1，索引 0)；應從 t = T 一路算到 t = 1",
                                 "hint: this looks like the backward loop stopped before the first time step (t = 1, "
                                 "index 0); it must run from t = T down to t = 1"),
    "rf_hint_grads_h0_no_u": ("提示：結果像是 δ_1 本身；h_0 經由 a_1 = W_h x_1 + U_h h_0 + b_h 影響損失，還要乘上 U_h："
                              "∂L/∂h_0 = U_hᵀ δ_1（列向量寫法 delta_1 @ U_h）",
                              "hint: this looks like δ_1 itself; h_0 reaches the loss through a_1 = W_h x_1 + U_h h_0 + "
                              "b_h, so it takes one more U_h: ∂L/∂h_0 = U_hᵀ δ_1 (with row vectors delta_1 @ U_h)"),
    "rf_hint_grads_h0_ut": ("提示：結果像是 delta_1 @ U_h.T；∂L/∂h_0 = U_hᵀ δ_1，列向量寫法是 delta_1 @ U_h（不轉置）",
                            "hint: this looks like delta_1 @ U_h.T; ∂L/∂h_0 = U_hᵀ δ_1 is delta_1 @ U_h with row "
                            "vectors (no transpose)"),
    "rf_hint_grads_h0_g1": ("提示：結果像是 ∂L/∂h_1（g_1）；h_0 在 h_1 之前一步，還要乘上 tanh 的導數與 U_h：∂L/∂h_0 = U_hᵀ δ_1",
                            "hint: this looks like ∂L/∂h_1 (g_1); h_0 is one step before h_1, so the tanh derivative "
                            "and U_h come in: ∂L/∂h_0 = U_hᵀ δ_1"),
    "rf_hint_grads_bias_batch": ("提示：{name} 的梯度要對時間與整批都加總（例如 .sum(dim=0)），形狀與 {name} 相同",
                                 "hint: the gradient of {name} sums over time and over the batch (e.g. .sum(dim=0)), "
                                 "so it has {name}'s shape"),
    "rf_hint_grads_h0_batch": ("提示：h0 的梯度每個樣本各一列，形狀 (N, H)，不要對整批加總",
                               "hint: the gradient of h0 has one row per sample, shape (N, H): do not sum it over the "
                               "batch"),
    "rf_note_cell_wrong": ("另外，你的 {cell} 本身也不符合規格：請先修正 {cell}",
                           "also, your {cell} does not meet the contract itself: fix {cell} first"),
    "rf_note_forward_wrong": ("另外，你的 elman_forward（或它用到的 elman_cell）本身也不符合規格：請先修正它",
                              "also, your elman_forward (or the elman_cell it uses) does not meet the contract "
                              "itself: fix it first"),
    # ------------------------------------------------------------ properties
    "rf_not_recurrent": ("{what}：改變時間 0 的輸入 x[0] 後，時間 {t} 的隱藏狀態 hs[{t}] 沒有改變：上一步的狀態沒有傳下去",
                         "{what}: changing the input at time 0 (x[0]) did not change the hidden state at time "
                         "{t} (hs[{t}]): the state is not carried from step to step"),
    "rf_start_ignored": ("{what}：改變初始值 {start} 後，第一個隱藏狀態 hs[0] 沒有改變：{start} 沒有用上",
                         "{what}: changing the initial value {start} did not change the first hidden state "
                         "hs[0]: {start} is not used"),
    "rf_split": ("{what}：把序列從時間 {k} 切成兩段、第二段以 hs[{k1}] 為初始狀態接著算，結果應與一次算完相同（最大差距 "
                 "{error:.3g}）：每一步都要用同一個規則，並且從傳入的初始狀態開始",
                 "{what}: running the sequence in two parts, the second with hs[{k1}] as its initial state, should "
                 "give what one run gives (largest difference {error:.3g}): every step must apply the same rule, "
                 "starting from the initial state it is given"),
    "rf_batch_mixed": ("{what}：只改變批次中的樣本 {n}，樣本 {other} 的結果卻改變了：時間軸 (第 0 維) 與批次軸 (第 1 維) "
                       "混在一起了",
                       "{what}: changing sample {n} of the batch changed the result of sample {other}: the time "
                       "axis (dim 0) and the batch axis (dim 1) are mixed up"),
    # ------------------------------------------------------------ params_from_torch
    "rf_params_type": ("params_from_torch 應回傳一個 dict，鍵為 {expected}，得到 {got}",
                       "params_from_torch should return a dict with keys {expected}, got {got}"),
    "rf_params_value": ("params[{entry!r}] 應等於 {source}：位置 {where} 期望 {expected:.6g}，得到 {got:.6g}",
                        "params[{entry!r}] should equal {source}: at {where} expected {expected:.6g}, got {got:.6g}"),
    "rf_params_attached": ("params[{entry!r}] 沒有脫離計算圖（requires_grad=True）：請用 .detach()",
                           "params[{entry!r}] is not detached (requires_grad=True): use .detach()"),
    # ------------------------------------------------------------ bptt_grad_U
    "rf_bptt_autograd": ("bptt_grad_U 要親手計算梯度：在關閉 autograd 時（整個呼叫都關閉，torch.enable_grad() 也打不開）"
                         "它拋出了 {type}: {message}",
                         "bptt_grad_U must compute the gradient by hand: with autograd switched off for the whole "
                         "call (torch.enable_grad() cannot turn it on) it raised {type}: {message}"),
    # ------------------------------------------------------------ bptt_grads
    "rf_grads_autograd": ("bptt_grads 要親手計算梯度：在關閉 autograd 時（整個呼叫都關閉，torch.enable_grad() 也打不開）"
                          "它拋出了 {type}: {message}",
                          "bptt_grads must compute the gradients by hand: with autograd switched off for the whole "
                          "call (torch.enable_grad() cannot turn it on) it raised {type}: {message}"),
    "rf_grads_type": ("{what} 應回傳一個 dict，鍵恰好是 {expected}，得到 {got}",
                      "{what} should return a dict whose keys are exactly {expected}, got {got}"),
    "rf_grads_missing": ("{what} 回傳的 dict 沒有鍵 {name!r}（它的鍵：{got}）",
                         "the dict {what} returned has no key {name!r} (its keys: {got})"),
    # ------------------------------------------------------------ numerical_grad
    "rf_numeric_autograd": ("numerical_grad 只用 f 的值，不需要 autograd：在關閉 autograd 時它拋出了 {type}: {message}",
                            "numerical_grad uses only the values of f, no autograd: with autograd switched off it "
                            "raised {type}: {message}"),
    "rf_numeric_same": ("{what} 回傳的是 theta 本身（或與它共用記憶體）：請回傳一個新的張量",
                        "{what} returned theta itself (or a tensor sharing its memory): return a new tensor"),
    "rf_numeric_not_restored": ("{what} 之後 theta 的值變了（最大差距 {error:.3g}）：每個元素擾動後都要恢復成原本的值，"
                                "而且要完全相同；請先存下原本的值再寫回去（(θ + ε) − ε 不一定剛好等於 θ）",
                                "after {what} theta's values changed (largest difference {error:.3g}): every entry "
                                "must be put back exactly as it was after its perturbation; save the original value "
                                "and write it back ((θ + ε) − ε is not always exactly θ)"),
    "rf_numeric_calls": ("{what} 應呼叫 f 恰好 2 × theta.numel() = {expected} 次（每個元素 θ + ε 與 θ − ε 各一次），"
                         "卻呼叫了 {got} 次",
                         "{what} should call f exactly 2 × theta.numel() = {expected} times (θ + ε and θ − ε for "
                         "every entry), but called it {got} times"),
    "rf_numeric_step": ("{what}：第 {call} 次呼叫 f 時，theta 與原本的值相比 {detail}；每次呼叫 f 時應只有一個元素改變，"
                        "改變量正好是 +ε 或 −ε（ε = {eps:g}）",
                        "{what}: at call number {call} of f, theta differed from its original values {detail}; at "
                        "every call of f exactly one entry should differ, by +ε or −ε (ε = {eps:g})"),
    "rf_numeric_step_entries": ("在 {count} 個元素", "in {count} entries"),
    "rf_numeric_step_size": ("差了 {size:.3g}", "by {size:.3g}"),
    "rf_numeric_missing": ("{what} 沒有把每個元素都往兩個方向擾動：例如元素 {where} 沒有 {sign}ε",
                           "{what} did not perturb every entry both ways: entry {where}, for one, never got {sign}ε"),
    "rf_hint_numeric_forward": ("提示：結果像是前向差分 (f(θ + ε) − f(θ)) / ε；請用中央差分 (f(θ + ε) − f(θ − ε)) / (2ε)",
                                "hint: this looks like the forward difference (f(θ + ε) − f(θ)) / ε; use the central "
                                "difference (f(θ + ε) − f(θ − ε)) / (2ε)"),
    "rf_hint_numeric_backward": ("提示：結果像是後向差分 (f(θ) − f(θ − ε)) / ε；請用中央差分 (f(θ + ε) − f(θ − ε)) / (2ε)",
                                 "hint: this looks like the backward difference (f(θ) − f(θ − ε)) / ε; use the "
                                 "central difference (f(θ + ε) − f(θ − ε)) / (2ε)"),
    "rf_hint_numeric_twice": ("提示：結果是正確答案的 2 倍：中央差分要除以 2ε，不是 ε",
                              "hint: this is twice the right answer: the central difference divides by 2ε, not ε"),
    "rf_hint_numeric_sign": ("提示：結果的正負號相反：應為 (f(θ + ε) − f(θ − ε)) / (2ε)",
                             "hint: this has the wrong sign: it is (f(θ + ε) − f(θ − ε)) / (2ε)"),
    "rf_hint_numeric_eps": ("提示：結果像是用了 ε = {used:g}，而不是傳進來的 eps = {eps:g}",
                            "hint: this looks computed with ε = {used:g} rather than the eps = {eps:g} passed in"),
    "rf_hint_numeric_float32": ("提示：結果只有 float32 的精度（誤差約為梯度的 1e-7）：θ、f 的值與差分都要用 float64 計算",
                                "hint: this has float32 precision only (errors ~1e-7 of the gradient): keep θ, the "
                                "values of f and the differences in float64"),
    # ------------------------------------------------------------ find_wrong_grads
    "rf_fw_type": ("{what} 應回傳 str 的串列 (list)，得到 {got}", "{what} should return a list of str, got {got}"),
    "rf_fw_wrong": ("{what} 應回傳 {expected}，得到 {got}", "{what} should return {expected}, got {got}"),
    "rf_fw_autograd": ("find_wrong_grads 用數值梯度檢查，不需要 autograd：在關閉 autograd 時它拋出了 {type}: {message}",
                       "find_wrong_grads checks with numerical gradients and needs no autograd: with autograd "
                       "switched off it raised {type}: {message}"),
    "rf_fw_inputs": ("find_wrong_grads 呼叫 grads_fn 時，傳入的不是 (x, h0, params, targets)（或它們的 float64 複本）："
                     "請依這個順序傳入，而且是呼叫 grads_fn 時的原值",
                     "find_wrong_grads did not call grads_fn with (x, h0, params, targets) (or their float64 copies): "
                     "pass them in this order, holding their original values"),
    "rf_fw_float32": ("{what} 應回傳 []：這個 grads_fn 算出的梯度是對的，但梯度很小，它要在 float64 下計算才準確；"
                      "得到 {got}。請用 float64 的複本呼叫 grads_fn（x、h0、params 的每一個張量與 targets 都是）",
                      "{what} should return []: this grads_fn computes right gradients, but they are small and "
                      "accurate only when computed in float64; got {got}. Call grads_fn with float64 copies (of x, "
                      "h0, every tensor in params, and targets)"),
    "rf_hint_fw_shape": ("提示：{keys} 的梯度數值與數值梯度相同，但形狀不同（{shapes}）：形狀不對的鍵也要回報",
                         "hint: the gradient of {keys} has the numerical gradient's values but another shape "
                         "({shapes}): a key of the wrong shape is wrong too"),
    "rf_train_type": ("{what} 應回傳 (trained, losses)：鍵恰好是 W_h、U_h、b_h、W_y、b_y 的字典，與長度 {steps} 的 float 串列；得到 {got}",
                      "{what} should return (trained, losses): a dict of exactly the keys W_h, U_h, b_h, W_y, b_y, "
                      "and a list of {steps} floats; got {got}"),
    "rf_train_losses": ("{what} 的 losses 與同一組起始參數、用 autograd 的梯度做 SGD 的結果不同：第 {k} 個應為 {expected:.6g}，得到 {got:.6g}",
                        "{what}: the losses differ from SGD's with autograd's gradients from the same start: "
                        "losses[{k}] should be {expected:.6g}, got {got:.6g}"),
    "rf_hint_train_after": ("提示：看起來記下的是更新之後的損失：losses[k] 是第 k 次更新之前的 L",
                            "hint: this looks like the loss after each update: losses[k] is L before update k"),
    "rf_hint_train_rises": ("提示：損失上升了：更新的方向是負梯度 θ − η ∂L/∂θ",
                            "hint: the loss rises: the update goes against the gradient, θ − η ∂L/∂θ"),
    "rf_hint_fw_sorted": ("提示：鍵是對的，但要用 sorted(...) 排序後回傳",
                          "hint: the keys are right, but return them sorted (sorted(...))"),
    "rf_hint_fw_flagged_right": ("提示：{keys} 的梯度是對的，卻被回報為錯：請檢查 float64 的複本、損失 L（有 ½，對時間與整批加總）、"
                                 "相對誤差的公式與 tol",
                                 "hint: the gradient of {keys} is right, yet it was reported wrong: check the float64 "
                                 "copies, the loss L (with the ½, summed over time and batch), the relative error and "
                                 "tol"),
    "rf_hint_fw_missed": ("提示：{keys} 的梯度是錯的（相對誤差 {errors}，tol = {tol:g}），卻沒有被找出來：請用題目定義的相對誤差並與 "
                          "tol 比較（不要用 torch.allclose 的預設容許誤差）；形狀與參數不同也算錯",
                          "hint: the gradient of {keys} is wrong (relative error {errors}, tol = {tol:g}) but was not "
                          "found: compare the relative error defined in the notebook with tol (not torch.allclose's "
                          "default tolerance); a gradient whose shape differs from its parameter's counts as wrong"),
    # ------------------------------------------------------------ counts
    "rf_count_type": ("{what} 應回傳一個整數 (int)，得到 {got}", "{what} should return an int, got {got}"),
    "rf_count": ("{what} 應為 {expected}，得到 {got}", "{what} should be {expected}, got {got}"),
    "rf_count_depends_on_t": ("n_params_shared 不應該依賴 T：D={D}, H={H}, O={O} 時，T = {t1} 得到 {n1}，T = {t2} 得到 {n2}",
                              "n_params_shared should not depend on T: with D={D}, H={H}, O={O}, T = {t1} gave "
                              "{n1} and T = {t2} gave {n2}"),
    "rf_hint_count_times_t": ("提示：權重共享時參數個數與 T 無關，不要乘上 T",
                              "hint: with weight sharing the count does not depend on T; do not multiply by T"),
    "rf_hint_count_no_bias": ("提示：結果像是漏算了偏差", "hint: this looks like the biases were not counted"),
    "rf_hint_count_torch": ("提示：這是 nn.RNN 的參數個數（兩個偏差）；本作業的 Elman 網路只有一個 b_h",
                            "hint: this is nn.RNN's count (two biases); this assignment's Elman network has one b_h"),
    "rf_hint_count_all_shared_t": ("提示：結果像是 W_y、b_y 也乘上了 T；輸出層只有一組",
                                   "hint: this looks like W_y and b_y were multiplied by T too; there is one "
                                   "output layer"),
    "rf_hint_count_shared": ("提示：這是權重共享時的個數；不共享時每一步都有自己的 W_h、U_h、b_h",
                             "hint: this is the count with weight sharing; unshared, every step has its own W_h, "
                             "U_h, b_h"),
})


# ------------------------------------------------------------------------------------------ inputs

def generator(seed: int) -> torch.Generator:
    """A generator of the grader's own: inputs do not depend on anything the student's code drew."""
    return torch.Generator().manual_seed(seed)


def randn(g: torch.Generator, *shape, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=g)


def random_params(g: torch.Generator, D: int, H: int, O: int, jordan: bool = False, scale: float = 0.5) -> dict:
    """Float32 parameters; Jordan's U_h is (H, O). Pre-activations are ~1: tanh is neither flat nor linear."""
    return {"W_h": randn(g, H, D, scale=scale), "U_h": randn(g, H, O if jordan else H, scale=scale),
            "b_h": randn(g, H, scale=scale), "W_y": randn(g, O, H, scale=scale), "b_y": randn(g, O, scale=scale)}


def _f64(p: dict) -> dict:
    return {k: v.double() for k, v in p.items()}


# ------------------------------------------------------------------------------------------ the reference

def elman_cell(x_t, h_prev, p, act=torch.tanh, bias=True, recurrent=True, inputs=True, transpose="WU"):
    """h_t = act(x_t W_hᵀ + h_prev U_hᵀ + b_h), in float64; the keyword arguments make the usual mistakes."""
    p = _f64(p)
    W = p["W_h"].T if "W" in transpose else p["W_h"]
    U = p["U_h"].T if "U" in transpose else p["U_h"]
    a = torch.zeros(x_t.shape[0], p["W_h"].shape[0], dtype=torch.float64)
    if inputs:
        a = a + x_t.double() @ W
    if recurrent:
        a = a + h_prev.double() @ U
    if bias:
        a = a + p["b_h"]
    return act(a)


def elman_cell_mistakes(x_t, h_prev, p) -> list:
    """(hint key, what that mistake computes) for elman_cell."""
    out = [("rf_hint_sigmoid_h", lambda: elman_cell(x_t, h_prev, p, act=torch.sigmoid)),
           ("rf_hint_no_tanh", lambda: elman_cell(x_t, h_prev, p, act=lambda a: a)),
           ("rf_hint_no_bias", lambda: elman_cell(x_t, h_prev, p, bias=False)),
           ("rf_hint_no_recurrent", lambda: elman_cell(x_t, h_prev, p, recurrent=False)),
           ("rf_hint_no_input", lambda: elman_cell(x_t, h_prev, p, inputs=False)),
           # x_t @ W_h (W_h not transposed) runs only when D == H: first_match skips what cannot be computed
           ("rf_hint_untransposed", lambda: elman_cell(x_t, h_prev, p, transpose="U")),
           ("rf_hint_untransposed", lambda: elman_cell(x_t, h_prev, p, transpose="W")),
           ("rf_hint_untransposed", lambda: elman_cell(x_t, h_prev, p, transpose=""))]
    return out


def elman_forward(x, h0, p, start_zero=False, carried=True, shifted=False, ys_from="h"):
    """(hs, ys) in float64; the keyword arguments make the usual mistakes."""
    p64 = _f64(p)
    h = torch.zeros_like(h0, dtype=torch.float64) if start_zero else h0.double()
    hs, pre = [], []
    for t in range(x.shape[0]):
        a = x[t].double() @ p64["W_h"].T + (h if carried or t == 0 else h0.double()) @ p64["U_h"].T + p64["b_h"]
        pre.append(a)
        hs.append(torch.tanh(a))
        h = hs[-1]
    hs_t = torch.stack(hs)
    ys = (torch.stack(pre) if ys_from == "a" else hs_t) @ p64["W_y"].T + p64["b_y"]
    if ys_from == "tanh":
        ys = torch.tanh(ys)
    if shifted:
        hs_t = torch.cat([h0.double().unsqueeze(0), hs_t[:-1]])
    return hs_t, ys


def elman_forward_mistakes(x, h0, p) -> list:
    return [("rf_hint_h0_ignored", lambda: elman_forward(x, h0, p, start_zero=True)),
            ("rf_hint_not_carried", lambda: elman_forward(x, h0, p, carried=False)),
            ("rf_hint_shifted", lambda: elman_forward(x, h0, p, shifted=True)),
            ("rf_hint_ys_preactivation", lambda: elman_forward(x, h0, p, ys_from="a")),
            ("rf_hint_ys_activation", lambda: elman_forward(x, h0, p, ys_from="tanh"))]


def jordan_cell(x_t, y_prev, p, out_act=torch.sigmoid, act=torch.tanh, bias=True):
    p = _f64(p)
    a = x_t.double() @ p["W_h"].T + y_prev.double() @ p["U_h"].T + (p["b_h"] if bias else 0)
    h = act(a)
    return h, out_act(h @ p["W_y"].T + p["b_y"])


def jordan_cell_mistakes(x_t, y_prev, p) -> list:
    return [("rf_hint_y_tanh", lambda: jordan_cell(x_t, y_prev, p, out_act=torch.tanh)),
            ("rf_hint_y_linear", lambda: jordan_cell(x_t, y_prev, p, out_act=lambda z: z)),
            ("rf_hint_sigmoid_h", lambda: jordan_cell(x_t, y_prev, p, act=torch.sigmoid)),
            ("rf_hint_no_bias", lambda: jordan_cell(x_t, y_prev, p, bias=False))]


def jordan_forward(x, y0, p, feed="y", start_zero=False):
    """(hs, ys) in float64; ``feed`` is what goes back: "y" (right), "h" (h_{t-1}, y0 first), "y0" (always y0)."""
    y = torch.zeros_like(y0, dtype=torch.float64) if start_zero else y0.double()
    back = y
    hs, ys = [], []
    for t in range(x.shape[0]):
        h, y = jordan_cell(x[t], back, p)
        hs.append(h)
        ys.append(y)
        back = {"y": y, "h": h, "y0": y0.double()}[feed]
    return torch.stack(hs), torch.stack(ys)


def jordan_forward_mistakes(x, y0, p) -> list:
    out = [("rf_hint_y0_ignored", lambda: jordan_forward(x, y0, p, start_zero=True)),
           ("rf_hint_y_not_carried", lambda: jordan_forward(x, y0, p, feed="y0"))]
    if p["U_h"].shape[0] == p["U_h"].shape[1]:           # H == O: feeding h back runs, with other values
        out.append(("rf_hint_through_h", lambda: jordan_forward(x, y0, p, feed="h")))
    return out


def grad_U_autograd(x, h0, p, targets) -> torch.Tensor:
    """∂L/∂U_h by autograd, in float64, L = ½ Σ_t Σ_batch ||y_t − target_t||²."""
    p64 = _f64(p)
    U = p64["U_h"].clone().requires_grad_(True)
    with torch.enable_grad():
        h, loss = h0.double(), 0.0
        for t in range(x.shape[0]):
            h = torch.tanh(x[t].double() @ p64["W_h"].T + h @ U.T + p64["b_h"])
            y = h @ p64["W_y"].T + p64["b_y"]
            loss = loss + 0.5 * ((y - targets[t].double()) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, U)
    return grad


def grad_U_by_hand(x, h0, p, targets, steps="all", tanh_grad="h_t", recurrent=True, h_for_U="prev",
                   batch="sum", forward=None):
    """The backward recursion of the notebook, in float64; the keyword arguments make the usual mistakes.

    ``forward``: the (hs, ys) to start from; by default the reference forward's.
    """
    p64 = _f64(p)
    hs, ys = forward if forward is not None else elman_forward(x, h0, p)
    hs, ys = hs.double(), ys.double()
    prevs = torch.cat([h0.double().unsqueeze(0), hs[:-1]])
    T = x.shape[0]
    grad = torch.zeros_like(p64["U_h"])
    delta_next = torch.zeros_like(h0, dtype=torch.float64)
    for t in (reversed(range(T)) if steps == "all" else [T - 1]):
        g = (ys[t] - targets[t].double()) @ p64["W_y"]
        if recurrent:
            g = g + delta_next @ p64["U_h"]
        if tanh_grad == "h_t":
            delta = g * (1 - hs[t] ** 2)
        elif tanh_grad == "h_prev":
            delta = g * (1 - prevs[t] ** 2)
        else:
            delta = g
        h_used = prevs[t] if h_for_U == "prev" else hs[t]
        if batch == "first":
            grad = grad + torch.outer(delta[0], h_used[0])
        else:
            grad = grad + delta.T @ h_used / (x.shape[1] if batch == "mean" else 1)
        delta_next = delta
    return grad


def grad_U_mistakes(x, h0, p, targets) -> list:
    right = lambda: grad_U_by_hand(x, h0, p, targets)  # noqa: E731
    return [("rf_hint_bptt_last", lambda: grad_U_by_hand(x, h0, p, targets, steps="last")),
            ("rf_hint_bptt_no_tanh", lambda: grad_U_by_hand(x, h0, p, targets, tanh_grad=None)),
            ("rf_hint_bptt_no_recurrent", lambda: grad_U_by_hand(x, h0, p, targets, recurrent=False)),
            ("rf_hint_bptt_h_t", lambda: grad_U_by_hand(x, h0, p, targets, h_for_U="current")),
            ("rf_hint_bptt_tanh_prev", lambda: grad_U_by_hand(x, h0, p, targets, tanh_grad="h_prev")),
            ("rf_hint_bptt_one_sample", lambda: grad_U_by_hand(x, h0, p, targets, batch="first")),
            ("rf_hint_bptt_mean", lambda: grad_U_by_hand(x, h0, p, targets, batch="mean")),
            ("rf_hint_bptt_no_half", lambda: 2 * right()),
            ("rf_hint_bptt_sign", lambda: -right()),
            ("rf_hint_bptt_transposed", lambda: right().T)]


def grads_autograd(x, h0, p, targets, dtype=torch.float64) -> dict:
    """∂L/∂(W_h, U_h, b_h, W_y, b_y, h0) by autograd, in ``dtype`` (float64 unless told), for the same L."""
    leaves = {k: v.to(dtype).clone().requires_grad_(True) for k, v in p.items()}
    start = h0.to(dtype).clone().requires_grad_(True)
    with torch.enable_grad():
        h, loss = start, 0.0
        for t in range(x.shape[0]):
            h = torch.tanh(x[t].to(dtype) @ leaves["W_h"].T + h @ leaves["U_h"].T + leaves["b_h"])
            y = h @ leaves["W_y"].T + leaves["b_y"]
            loss = loss + 0.5 * ((y - targets[t].to(dtype)) ** 2).sum()
        grads = torch.autograd.grad(loss, [leaves[k] for k in ELMAN_KEYS] + [start])
    return dict(zip(GRAD_KEYS, grads))


def grads_by_hand(x, h0, p, targets, steps="all", tanh_grad="h_t", recurrent=True, batch="sum", first=0,
                  h0_grad="U", h_for_U="prev", h0_in_U=True, bias_batch=True) -> dict:
    """Every gradient by the backward recursion, in float64; the keyword arguments make the usual mistakes
    (``first``: the first time step (index) the backward loop reaches; ``h0_grad``: "U" (right, δ_1 U_h in
    row vectors), "delta" (δ_1 alone), "UT" (δ_1 U_hᵀ), "g" (g_1 = ∂L/∂h_1); ``h0_in_U``: False leaves
    δ_1 h_0ᵀ out of ∂L/∂U_h; ``bias_batch``: False leaves the biases' gradients unsummed over the batch)."""
    p64 = _f64(p)
    hs, ys = elman_forward(x, h0, p)
    prevs = torch.cat([(h0.double() if h0_in_U else torch.zeros_like(h0, dtype=torch.float64)).unsqueeze(0),
                       hs[:-1]])
    T, N = x.shape[:2]
    grads = {k: torch.zeros_like(p64[k]) for k in ELMAN_KEYS}

    def outer(u, v):                 # Σ_batch u vᵀ, (N, a) and (N, b) → (a, b)
        if batch == "first":
            return torch.outer(u[0], v[0])
        return u.T @ v / (N if batch == "mean" else 1)

    def total(u):                    # Σ_batch u, (N, a) → (a,)
        if not bias_batch:
            return u
        return u[0] if batch == "first" else u.sum(0) / (N if batch == "mean" else 1)

    if not bias_batch:
        grads["b_h"], grads["b_y"] = (torch.zeros(N, *grads[k].shape, dtype=torch.float64) for k in ("b_h", "b_y"))
    delta_next = torch.zeros_like(h0, dtype=torch.float64)
    g_first = delta_next
    for t in ([T - 1] if steps == "last" else reversed(range(first, T))):
        e = ys[t] - targets[t].double()
        g = e @ p64["W_y"] + (delta_next @ p64["U_h"] if recurrent else 0)
        delta = g * (1 - (hs[t] if tanh_grad == "h_t" else prevs[t]) ** 2) if tanh_grad else g
        grads["W_h"] = grads["W_h"] + outer(delta, x[t].double())
        grads["U_h"] = grads["U_h"] + outer(delta, prevs[t] if h_for_U == "prev" else hs[t])
        grads["b_h"] = grads["b_h"] + total(delta)
        grads["W_y"] = grads["W_y"] + outer(e, hs[t])
        grads["b_y"] = grads["b_y"] + total(e)
        delta_next, g_first = delta, g
    grads["h0"] = {"U": delta_next @ p64["U_h"], "delta": delta_next, "UT": delta_next @ p64["U_h"].T,
                   "g": g_first}[h0_grad]
    return grads


def grads_mistakes(key: str, x, h0, p, targets) -> list:
    """(hint, what that mistake gives for ``key``) for bptt_grads."""
    def wrong(**kwargs):
        return lambda: grads_by_hand(x, h0, p, targets, **kwargs)[key]

    right = wrong()
    out = [("rf_hint_bptt_last", wrong(steps="last")),
           ("rf_hint_bptt_no_tanh", wrong(tanh_grad=None)),
           ("rf_hint_bptt_no_recurrent", wrong(recurrent=False)),
           ("rf_hint_bptt_tanh_prev", wrong(tanh_grad="h_prev")),
           ("rf_hint_grads_skip_first", wrong(first=1)),
           ("rf_hint_bptt_one_sample", wrong(batch="first")),
           ("rf_hint_bptt_mean", wrong(batch="mean")),
           ("rf_hint_bptt_no_half", lambda: 2 * right()),
           ("rf_hint_bptt_sign", lambda: -right())]
    if key == "U_h":
        out.insert(0, ("rf_hint_bptt_h_t", wrong(h_for_U="current")))
    if key == "h0":
        out = [("rf_hint_grads_h0_no_u", wrong(h0_grad="delta")), ("rf_hint_grads_h0_ut", wrong(h0_grad="UT")),
               ("rf_hint_grads_h0_g1", wrong(h0_grad="g"))] + out
    if key in ("W_h", "U_h", "W_y"):  # a square gradient transposed keeps its shape
        out.append((msg("rf_hint_grads_transposed", name=key), lambda: right().T))
    return out


def shape_hint(key: str, got: tuple, expected: tuple, N: int):
    """The hint for a gradient of the wrong shape: one not summed over the batch, one summed, or transposed."""
    if key in ("b_h", "b_y") and got == (N, *expected):
        return msg("rf_hint_grads_bias_batch", name=key)
    if key == "h0" and got == expected[1:]:
        return msg("rf_hint_grads_h0_batch")
    if len(got) == 2 and got == expected[::-1]:
        return msg("rf_hint_grads_transposed", name=key)
    return None


# ------------------------------------------------------------------------------------------ gradient check

def cubic_problem(g: torch.Generator, shape: tuple) -> dict:
    """The graders' test function of numerical_grad: f(θ) = Σ c θ³ + (Σ a θ)² + Σ b θ, θ of ``shape`` (float64).

    Its central difference is known in closed form (:func:`central_difference`): the cubic makes a forward
    difference, a wrong ε or a float32 step show; the square couples the entries."""
    def draw(scale):
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64)

    return {"theta": draw(1.0), "c": draw(1.0), "a": draw(0.5), "b": draw(1.0)}


def central_difference(problem: dict, eps: float, kind: str = "central") -> torch.Tensor:
    """(f(θ + ε e_i) − f(θ − ε e_i)) / (2ε) for every entry, exactly (``kind``: "forward", "backward" for the
    one-sided differences, the usual mistakes)."""
    theta, c, a, b = (problem[k] for k in ("theta", "c", "a", "b"))
    s = (a * theta).sum()
    shared = 3 * c * theta ** 2 + c * eps ** 2 + 2 * a * s + b        # (θ±ε)³ and (s ± aε)² agree on these
    odd = 3 * c * theta * eps + a ** 2 * eps                           # the one-sided differences add ± this
    return {"central": shared, "forward": shared + odd, "backward": shared - odd}[kind]


# Run in the worker: the student's numerical_grad on the test function, every call of f recorded.
NUMERIC_RUN = """
def rf_numeric_run(theta0, c, a, b, eps, returns):
    import torch
    theta, original = theta0.clone(), theta0.clone()
    log = []

    def f():
        change = theta - original
        moved = change.ne(0).nonzero().tolist()
        log.append([moved[:3], [float(change[tuple(i)]) for i in moved[:3]], len(moved)])
        value = (c * theta ** 3).sum() + (a * theta).sum() ** 2 + (b * theta).sum()
        return float(value) if returns == "float" else value

    grad = numerical_grad(f, theta) if eps is None else numerical_grad(f, theta, eps)
    shares = isinstance(grad, torch.Tensor) and (grad is theta or (grad.numel() > 0 and
                                                                   grad.data_ptr() == theta.data_ptr()))
    return {"grad": grad, "shares": bool(shares), "theta": theta.clone(), "log": log}
"""

def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a − b|| / max(||a|| + ||b||, 1e-12), Frobenius norms over the whole tensors (the notebook's definition)."""
    a, b = a.double(), b.double()
    return float((a - b).norm() / max(float(a.norm() + b.norm()), 1e-12))


INPUTS_CHANGED = "rf-grads-fn-inputs"     # what the graders' grads_fn raises when it is not given the problem's inputs


def grads_function(grads: dict, inputs):
    """A grads_fn(x, h0, params, targets) that returns these float64 gradients, run in the judge (a stand-in in
    the worker: gradients are answers). It checks that it is called with (float64 copies of) ``inputs`` = (x,
    h0, params, targets), in that order, and raises ValueError(INPUTS_CHANGED) otherwise: a grads_fn computes
    from what it is given."""
    want_x, want_h0, want_params, want_targets = inputs

    def same(value, expected) -> bool:
        return (isinstance(value, torch.Tensor) and value.shape == expected.shape
                and torch.equal(value.detach().double(), expected.detach().double()))

    def grads_fn(x, h0, params, targets):
        if not (same(x, want_x) and same(h0, want_h0) and same(targets, want_targets) and isinstance(params, dict)
                and all(k in params and same(params[k], v) for k, v in want_params.items())):
            raise ValueError(INPUTS_CHANGED)
        return {k: v.detach().double().clone() for k, v in grads.items()}

    return grads_fn


def computing_grads_function(inputs):
    """A right grads_fn(x, h0, params, targets), run in the judge like :func:`grads_function`, that computes the
    exact gradients in the precision it is given: in float32 when any of its tensors is not float64, as a
    grads_fn such as the notebook's bptt_grads does. Where the gradients are small, float32's round-off makes
    these right gradients disagree with the numerical ones: the notebook requires grads_fn to be called with
    float64 copies."""
    check = grads_function({}, inputs)

    def grads_fn(x, h0, params, targets):
        check(x, h0, params, targets)                        # raises ValueError(INPUTS_CHANGED) on other inputs
        tensors = [x, h0, targets, *params.values()]
        dtype = torch.float64 if all(t.dtype == torch.float64 for t in tensors) else torch.float32
        return {k: v.detach().double().clone() for k, v in grads_autograd(x, h0, params, targets, dtype).items()}

    return grads_fn


def n_params_shared(D, H, O, T) -> int:
    return H * D + H * H + H + O * H + O


def n_params_unshared(D, H, O, T) -> int:
    return T * (H * D + H * H + H) + O * H + O


# ------------------------------------------------------------------------------------------ the student

def references_for(blank: str, nb) -> dict:
    """The references put in the place of the blanks ``blank`` calls, where :mod:`autograder.references` does
    not list them (bptt_grads and find_wrong_grads may call elman_forward; find_wrong_grads numerical_grad)."""
    from autograder.references import FIND_WRONG_GRADS_CALLS, FORWARD_CALLS, TRAIN_CALLS, made

    return made({"bptt_grads": FORWARD_CALLS, "find_wrong_grads": FIND_WRONG_GRADS_CALLS,
                  "train_elman": TRAIN_CALLS}.get(blank, {}), nb)


def answered_once(ask):
    """``get(i)``: ``ask(i)`` asked once per i; what it raised (Fail, StudentError) raised again on every get."""
    cache = {}

    def get(index):
        if index not in cache:
            try:
                cache[index] = (True, ask(index))
            except (Fail, StudentError) as exc:
                cache[index] = (False, exc)
        ok, value = cache[index]
        if not ok:
            raise value
        return value

    return get


def call(nb, blank: str, *args):
    """``nb.<blank>(*args)``; a stub of another blank raised inside it becomes "depends on <that blank>"
    (the blanks it calls are the references of :mod:`autograder.references` while its graders run)."""
    with calling(blank, [other for other in BLANKS if other != blank]):
        return getattr(nb, blank)(*args)


def pair_of(result, what: str, first: tuple, second: tuple, names=("hs", "ys")):
    """Two tensors of the given shapes, as a function returning ``(a, b)`` must give."""
    a, b = unpack(result, what, names)
    return tensor(a, f"{what}[0] ({names[0]})", first), tensor(b, f"{what}[1] ({names[1]})", second)


def student_elman_forward(nb, x, h0, p, what):
    T, N = x.shape[:2]
    H, O = p["W_h"].shape[0], p["W_y"].shape[0]
    return pair_of(call(nb, "elman_forward", x, h0, p), what, (T, N, H), (T, N, O))


def student_jordan_forward(nb, x, y0, p, what):
    T, N = x.shape[:2]
    H, O = p["W_h"].shape[0], p["W_y"].shape[0]
    return pair_of(call(nb, "jordan_forward", x, y0, p), what, (T, N, H), (T, N, O))


def own_cell_run(nb, kind: str, x, start, p):
    """What looping the student's own cell gives ((hs, ys) in float64), or None if the cell fails.

    The contract has elman_forward call elman_cell (jordan_forward call jordan_cell): a forward that
    loops a wrong cell correctly is right, and its cell's own graders take the points.
    """
    T, N = x.shape[:2]
    H, O = p["W_h"].shape[0], p["W_y"].shape[0]
    try:
        state, hs, ys = start, [], []
        for t in range(T):
            if kind == "elman":
                h = tensor(call(nb, "elman_cell", x[t], state, p), "elman_cell", (N, H))
                y = h.double() @ p["W_y"].double().T + p["b_y"].double()
                state = h
            else:
                h, y = pair_of(call(nb, "jordan_cell", x[t], state, p), "jordan_cell", (N, H), (N, O),
                               names=("h_t", "y_t"))
                state = y
            hs.append(h.double())
            ys.append(y.double())
        return torch.stack(hs), torch.stack(ys)
    except (Fail, StudentError):
        return None


def grad_U_from_own_forward(nb, x, h0, p, targets):
    """The backward recursion run on what the student's own elman_forward gives, or None if it fails.

    bptt_grad_U may call elman_forward: a recursion that is right on a wrong forward is right, and the
    forward's own graders take the points.
    """
    try:
        forward = student_elman_forward(nb, x, h0, p, "elman_forward")
    except (Fail, StudentError):
        return None
    return grad_U_by_hand(x, h0, p, targets, forward=forward)


def cell_conforms(nb, kind: str) -> bool:
    """Whether the student's elman_cell / jordan_cell equals the reference on a fixed random case."""
    g = generator(101)
    N, D, H, O = 3, 4, 5, 2
    p = random_params(g, D, H, O, jordan=kind == "jordan")
    x_t = randn(g, N, D)
    try:
        if kind == "elman":
            h_prev = randn(g, N, H)
            got = tensor(call(nb, "elman_cell", x_t, h_prev, p), "elman_cell", (N, H))
            return close(got, elman_cell(x_t, h_prev, p))
        y_prev = torch.rand(N, O, generator=g)
        h, y = pair_of(call(nb, "jordan_cell", x_t, y_prev, p), "jordan_cell", (N, H), (N, O))
        eh, ey = jordan_cell(x_t, y_prev, p)
        return close(h, eh) and close(y, ey)
    except (Fail, StudentError):
        return False


def forward_conforms(nb) -> bool:
    g = generator(102)
    T, N, D, H, O = 4, 3, 2, 5, 3
    p = random_params(g, D, H, O)
    x, h0 = randn(g, T, N, D), randn(g, N, H)
    try:
        hs, ys = student_elman_forward(nb, x, h0, p, "elman_forward")
    except (Fail, StudentError):
        return False
    eh, ey = elman_forward(x, h0, p)
    return close(hs, eh) and close(ys, ey)


def judge_forward(nb, kind: str, x, start, p, what):
    """The student's forward, checked: shapes, then values against the reference.

    Values that differ from the reference but equal what the student's own cell gives in a loop pass:
    the forward is right and the mistake is the cell's. Otherwise Fail, with a hint when the answer
    is a known mistake, and a note when the student's cell is wrong too.
    """
    run = student_elman_forward if kind == "elman" else student_jordan_forward
    hs, ys = run(nb, x, start, p, what)
    if kind == "elman":
        expected, mistakes = elman_forward(x, start, p), elman_forward_mistakes(x, start, p)
    else:
        expected, mistakes = jordan_forward(x, start, p), jordan_forward_mistakes(x, start, p)
    m_hs, m_ys = mismatch(hs, expected[0]), mismatch(ys, expected[1])
    if m_hs is None and m_ys is None:
        return hs, ys
    own = own_cell_run(nb, kind, x, start, p)
    if own is not None and close(hs, own[0]) and close(ys, own[1]):
        return hs, ys
    cell = f"{kind}_cell"
    notes = [] if cell_conforms(nb, kind) else [msg("rf_note_cell_wrong", cell=cell)]
    # the hint looks at both outputs together: a mistake must explain hs and ys at once
    both = torch.cat([hs.double().flatten(), ys.double().flatten()])
    hint = first_match(both, mistakes, pick=lambda r: torch.cat([r[0].flatten(), r[1].flatten()]))
    if m_hs is not None:
        raise Fail(differs(f"{what}[0] (hs)", m_hs, hint=hint, notes=notes))
    raise Fail(differs(f"{what}[1] (ys)", m_ys, hint=hint, notes=notes))


def expect_state_flows(nb, kind: str, g: torch.Generator, x, start, other_start, p, what: str, start_name: str):
    """The forward is recurrent: changing x[0] changes hs[2], and starting from ``other_start`` instead of
    ``start`` changes hs[0] (unless the forward is the student's own cell in a loop, right as a forward).

    Returns the (hs, ys) of (x, start)."""
    run = student_elman_forward if kind == "elman" else student_jordan_forward
    hs, ys = run(nb, x, start, p, what)
    x2 = x.clone()
    x2[0] += 1.0 + randn(g, *x.shape[1:])
    hs2, ys2 = run(nb, x2, start, p, what)
    hs3, ys3 = run(nb, x, other_start, p, what)
    runs = [(x, start, p, hs, ys), (x2, start, p, hs2, ys2), (x, other_start, p, hs3, ys3)]
    if float((hs2[2] - hs[2]).abs().max()) <= 1e-6 and not agrees_with_own_cell(nb, kind, runs):
        fail("rf_not_recurrent", what=what, t=2)
    if float((hs3[0] - hs[0]).abs().max()) <= 1e-6 and not agrees_with_own_cell(nb, kind, runs):
        fail("rf_start_ignored", what=what, start=start_name)
    return hs, ys


def agrees_with_own_cell(nb, kind: str, runs) -> bool:
    """Whether every (x, start, p, hs, ys) of ``runs`` is what the student's own cell gives in a loop."""
    for x, start, p, hs, ys in runs:
        own = own_cell_run(nb, kind, x, start, p)
        if own is None or not (close(hs, own[0]) and close(ys, own[1])):
            return False
    return True


def integer(value, what: str) -> int:
    """A count that came back: an int (an integral float or a 0-d integer tensor/array is accepted)."""
    import numpy as np

    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, (np.ndarray, torch.Tensor)) and tuple(value.shape) == () and \
            float(value) == int(float(value)):
        return int(float(value))
    fail("rf_count_type", what=what, got=f"{kind_of(value)} {value!r}"[:120])
