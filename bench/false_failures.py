"""How often would the 02-char-rnn graders fail a *correct* solution for an unlucky seed?

Trains the reference (the contract's Model and train: nn.RNN(28, 12, batch_first=True) + nn.Linear,
100 epochs of full-batch Adam, lr 0.01, on the 短歌行 batch) under many seeds, on CPU or CUDA, and
checks what the sample graders demand after training: every first character completes to its phrase,
'對酒' → '對酒當歌', '慨當' → '慨當以慷', '譬' → '譬如' (out_len 2), '唯有杜康' stays itself.

    python bench/false_failures.py --seeds 1000 [--device cuda]

The graders pass a submission if any of the retry seeds in course.toml passes, so a solution whose
weights come out as an independent draw per seed fails with probability p ** len(retry_seeds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder import course as courses  # noqa: E402
from autograder.graders.char_rnn import CHARS, TEXT, Reference  # noqa: E402

CASES = [(4, p[0], p) for p in TEXT] + [(4, '對酒', '對酒當歌'), (4, '慨當', '慨當以慷'), (2, '譬', '譬如'),
                                        (4, '唯有杜康', '唯有杜康')]


def passes(seed: int, device: torch.device) -> bool:
    char2int = {c: i for i, c in enumerate(CHARS)}
    eye = np.eye(len(CHARS), dtype=np.float32)
    x = torch.from_numpy(eye[[[char2int[c] for c in p[:-1]] for p in TEXT]]).to(device)
    y = torch.tensor([[char2int[c] for c in p[1:]] for p in TEXT]).to(device)
    torch.manual_seed(seed)
    model = Reference(len(CHARS), len(CHARS), 12, 1).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    for _ in range(100):
        optimizer.zero_grad()
        h0 = torch.zeros(1, x.size(0), 12, device=device)
        out, _ = model.rnn(x, h0)
        loss = criterion(model.fc(out.reshape(-1, 12)), y.reshape(-1))
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        for out_len, start, expected in CASES:
            text = start
            while len(text) < out_len:
                codes = torch.from_numpy(eye[[[char2int[c] for c in text]]]).to(device)
                h0 = torch.zeros(1, 1, 12, device=device)
                out, _ = model.rnn(codes, h0)
                text += CHARS[int(model.fc(out[0, -1]).argmax())]
            if text != expected:
                return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--first", type=int, default=1000, help="first seed (the graders' own are 0, 1, 2)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    device = torch.device(args.device)
    retry = courses.load().retry_seeds
    started = time.monotonic()
    failed = [s for s in range(args.first, args.first + args.seeds) if not passes(s, device)]
    graders_own = [s for s in retry if not passes(s, device)]
    p = len(failed) / args.seeds
    print(f"device {device}, torch {torch.__version__}, {args.seeds} seeds from {args.first} "
          f"in {time.monotonic() - started:.1f} s")
    print(f"seeds failing a sample check: {len(failed)} / {args.seeds} (p = {p:.4f}) {failed[:20]}")
    print(f"the graders' retry seeds {list(retry)}: {'all pass' if not graders_own else f'failing {graders_own}'}")
    bound = (len(failed) + 3) / args.seeds if not failed else p     # rule of three when none failed
    print(f"false-failure rate with {len(retry)} retry seeds: ≈ {p ** len(retry):.2e} "
          f"(≤ {bound ** len(retry):.2e} taking p ≤ {bound:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
